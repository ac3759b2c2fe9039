"""The report as one JSON object (the contract's report format)."""

from __future__ import annotations

import json

from validator.report import Report


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"
