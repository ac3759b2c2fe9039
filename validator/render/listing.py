"""`mfc-validator list`'s output: a line per project (project, name, environment key or the
error), or the listing as JSON for a CI system's job matrix."""

from __future__ import annotations

import json
from typing import Any


def to_text(listed: dict[str, Any]) -> str:
    lines = []
    for item in listed["projects"]:
        shown = item["environment"] or f"error: {item['error']}"
        lines.append(f"{item['project']}\t{item['name'] or '-'}\t{shown}")
    return "\n".join(lines) + "\n"


def to_json(listed: dict[str, Any]) -> str:
    return json.dumps(listed, indent=2) + "\n"
