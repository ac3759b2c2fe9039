from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from validator import __version__
from validator.codes import CODES

Status = Literal["passed", "failed", "warning", "skipped"]
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Finding:
    code: str
    status: Status
    message: str
    location: str | None = None
    hint: str | None = None

    @property
    def family(self) -> str:
        return CODES[self.code].family

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "family": self.family,
            "status": self.status,
            "message": self.message,
            "location": self.location,
            "hint": self.hint,
        }


def failed(
    code: str, message: str, location: str | None = None, hint: str | None = None
) -> Finding:
    return Finding(code, "failed", message, location, hint)


def warning(
    code: str, message: str, location: str | None = None, hint: str | None = None
) -> Finding:
    return Finding(code, "warning", message, location, hint)


# how REG002 ends when register found this content already registered (the text report says so)
NO_NEW_VERSION = "no new version was made"


def skipped(code: str, message: str) -> Finding:
    return Finding(code, "skipped", message)


def passed(code: str) -> Finding:
    return Finding(code, "passed", CODES[code].title)


def ran(codes: Iterable[str], findings: Iterable[Finding]) -> list[Finding]:
    """The outcome of checks that RAN for CODES: their findings, and a pass for each code that
    found nothing. Call it only where those checks really ran: a code no check looked at must
    stay unreported, so that the pipeline refuses it (see `validator.pipeline`)."""
    wanted = tuple(codes)
    found = list(findings)
    stray = sorted({finding.code for finding in found} - set(wanted))
    if stray:
        raise ValueError(f"findings of {stray} reported as the outcome of {list(wanted)}")
    seen = {finding.code for finding in found}
    return found + [passed(code) for code in wanted if code not in seen]


@dataclass
class Report:
    command: str
    project: str
    checks: list[Finding] = field(default_factory=list)
    mlflow_version: str | None = None
    run_id: str | None = None
    model_uri: str | None = None
    duration_s: float = 0.0
    # set when the run could not be completed (exit 2), e.g. a file model.yaml names is missing
    unusable: bool = False
    # why a project of several could not be run at all (exit 2); a single project's run says
    # so on standard error instead and has no report
    error: str | None = None
    # for the text report's link to the run in the MLflow UI, not in the JSON report: the
    # tracking server's URI (http or https; None for any other store) and the run's experiment
    server: str | None = None
    experiment_id: str | None = None

    @property
    def status(self) -> Literal["passed", "failed"]:
        if self.unusable or any(check.status == "failed" for check in self.checks):
            return "failed"
        return "passed"

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return 2
        return 1 if self.status == "failed" else 0

    def has_failed(self, code: str) -> bool:
        return any(check.code == code and check.status == "failed" for check in self.checks)

    def mark_unusable(self) -> None:
        """Exit status 2 when a code the registry flags `unusable` failed (CFG001, REG004)."""
        self.unusable = self.unusable or any(
            check.status == "failed" and CODES[check.code].unusable for check in self.checks
        )

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status == status)

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "status": self.status,
            "project": self.project,
            "validator_version": __version__,
            "mlflow_version": self.mlflow_version,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "duration_s": round(self.duration_s, 3),
            "checks": [check.as_dict() for check in self.checks],
        }
        if self.error is not None:
            shown["error"] = self.error
        return shown


def report_from_dict(data: dict[str, Any]) -> Report:
    """A report read back from its JSON (`Report.as_dict`), e.g. from another process."""
    checks = [
        Finding(c["code"], c["status"], c["message"], c.get("location"), c.get("hint"))
        for c in data.get("checks") or []
    ]
    report = Report(
        str(data.get("command", "")),
        str(data.get("project", "")),
        checks,
        data.get("mlflow_version"),
        data.get("run_id"),
        data.get("model_uri"),
        float(data.get("duration_s") or 0.0),
    )
    # a run that could not be made says failed with no failed check of its own
    report.unusable = data.get("status") != "passed" and report.status == "passed"
    return report


def unrunnable(command: str, project: str, error: str) -> Report:
    """The report of a project of several that could not be run (exit status 2)."""
    return Report(command, project, unusable=True, error=error)


@dataclass
class Batch:
    """Several projects' reports from one run (several PROJECT arguments or --all)."""

    command: str
    reports: list[Report]
    duration_s: float = 0.0

    @property
    def status(self) -> Literal["passed", "failed"]:
        return "passed" if all(r.status == "passed" for r in self.reports) else "failed"

    @property
    def exit_code(self) -> int:
        # a project that could not be run outweighs one that failed: the run is not complete
        return max((report.exit_code for report in self.reports), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "reports": [report.as_dict() for report in self.reports],
        }
