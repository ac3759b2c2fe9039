from __future__ import annotations

from validator.project.sources import Project
from validator.report import Finding, failed, ran


def run(project: Project) -> list[Finding]:
    config = project.config
    findings: list[Finding] = []
    # a path that leaves the project, or loops, fails CFG002 whether it exists or not
    escaped = {(e.key, e.written) for e in project.shipped.escapes if not e.folder}
    for key, relative in config.named_files():
        if (key, relative) in escaped:
            continue
        path = config.path(relative)
        if not path.exists():
            top = key.split(".")[0]
            findings.append(
                failed(
                    "CFG001",
                    f"{key} names '{relative}', which does not exist",
                    config.where(top),
                    f"create {relative}, or correct '{key}' in model.yaml",
                )
            )
        elif key in ("script", "requirements", "input_example") and not path.is_file():
            findings.append(
                failed(
                    "CFG001",
                    f"{key} names '{relative}', which is not a file",
                    config.where(key),
                    f"point '{key}' in model.yaml at a file",
                )
            )
    return ran(("CFG001",), findings)
