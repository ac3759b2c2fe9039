"""What leaves the project (the shipping stage): every path model.yaml names stays inside the
project (CFG002), no well-known secret file ships (CFG003, whose passes say how many files and
bytes each code_paths and artifacts entry ships), and no cache or version control folder ships
(CFG004). Runs before anything is logged; reads the file tree only."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

from validator.paths import EMBEDDED_STORE, SKIPPED_DIRS
from validator.project.shipped import Entry, Escape, ShippedFile
from validator.project.sources import Project
from validator.report import Finding, failed, ran, warning

# (patterns, what such a file is): a pattern without "/" matches the file's name, one with "/"
# the end of its path, case-insensitively. docs/shipping.md lists them.
SECRET_FILES: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".env", ".env.*", "*.env", ".envrc"), "a dotenv file"),
    (("*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore"), "a private key or key store"),
    (("id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*"), "an SSH private key"),
    ((".netrc", "_netrc", ".pgpass", ".git-credentials", ".htpasswd"), "a credentials file"),
    ((".pypirc", ".npmrc"), "a package index credentials file"),
    ((".aws/credentials", ".aws/config", ".s3cfg", ".boto"), "an AWS credentials file"),
    (
        (
            "application_default_credentials.json",
            "credentials.json",
            "client_secret*.json",
            "service_account*.json",
            "service-account*.json",
            ".config/gcloud/*",
        ),
        "a Google Cloud credentials file",
    ),
    ((".azure/*",), "an Azure CLI credentials file"),
    ((".kube/config", "kubeconfig"), "a Kubernetes credentials file"),
    ((".docker/config.json",), "a Docker registry credentials file"),
)
# shared on purpose: templates of a dotenv file, public keys
NOT_SECRET = (".env.example", ".env.sample", ".env.template", ".env.dist", "*.pub")
CODES = ("CFG002", "CFG003", "CFG004")


def secret_kind(shown: str) -> str | None:
    """What secret file SHOWN (a posix path) is by its name, or None."""
    path = PurePosixPath(shown.lower())
    if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in NOT_SECRET):
        return None
    for patterns, kind in SECRET_FILES:
        for pattern in patterns:
            depth = pattern.count("/") + 1
            tail = "/".join(path.parts[-depth:])
            if len(path.parts) >= depth and fnmatch.fnmatchcase(tail, pattern):
                return kind
    return None


def size_text(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    shown, unit = size / 1000, "kB"
    for larger in ("MB", "GB"):
        if shown < 1000:
            break
        shown, unit = shown / 1000, larger
    return f"{shown:.1f} {unit}"


def count(files: list[ShippedFile]) -> str:
    return f"{len(files)} file{'s' if len(files) != 1 else ''}"


def ships(entry: Entry) -> str:
    return f"{count(entry.files)}, {size_text(entry.size)}"


def _escape(project: Project, escape: Escape) -> Finding:
    config = project.config
    top = escape.key.split(".")[0]
    if escape.folder:
        named = f"model.yaml {escape.key} '{escape.folder}' holds {escape.written}, a symlink"
        leads = f"{named} to {escape.resolved}"
    else:
        named = f"model.yaml {escape.key} names '{escape.written}'"
        leads = f"{named}, which resolves to {escape.resolved}"
    if escape.reason == "absolute":
        message = f"{named}, an absolute path: what the model ships must be inside the project"
        hint = f"copy the file into the project and write '{escape.key}' relative to model.yaml"
    elif escape.reason == "outside":
        message = f"{leads}, outside the project: it would ship with the model"
        hint = (
            "copy the file into the project folder (a symlink must point inside it), or leave "
            "it out of the model"
        )
    else:
        message = (
            f"{named} to '{escape.resolved}', a folder it is in: a loop MLflow would copy forever"
            if escape.folder
            else f"{named}, a symlink loop: MLflow cannot copy it"
        )
        hint = f"remove the symlink {escape.written}, or point it at a folder outside its own path"
    return failed("CFG002", message, config.where(top), hint)


def _secret_files(entry: Entry) -> list[Finding]:
    findings: list[Finding] = []
    for file in entry.files:
        # a symlink ships its target's content under its own name: either name gives it away
        kind = secret_kind(file.shown) or (secret_kind(file.target) if file.target else None)
        if kind is not None:
            link = f" (a symlink to {file.target})" if file.target else ""
            findings.append(
                failed(
                    "CFG003",
                    f"{entry.label} ({ships(entry)}) ships {file.shown}{link}, {kind}: anyone who "
                    "can read the model can read it",
                    file.shown,
                    f"move {file.shown} out of the folder {entry.written}, and pass secrets "
                    "through environment variables declared in model.yaml env (secret: true)",
                )
            )
    return findings


def _cache_dirs(entry: Entry) -> list[Finding]:
    found: dict[str, list[ShippedFile]] = {}
    for file in entry.files:
        parts = PurePosixPath(file.shown).parts
        for index, part in enumerate(parts[:-1]):
            if index == 0 and part == EMBEDDED_STORE and entry.key == "code_paths":
                break  # the validator's own store: left out of the copy (inprocess.log_model)
            if part in SKIPPED_DIRS:
                found.setdefault("/".join(parts[: index + 1]), []).append(file)
                break
    return [
        warning(
            "CFG004",
            f"{entry.label} ships {folder}/ ({count(files)}, "
            f"{size_text(sum(f.size for f in files))}), which is not part of the model",
            folder,
            f"delete {folder}, or move the model's files to a folder without it and name that "
            "in model.yaml",
        )
        for folder, files in found.items()
    ]


def run(project: Project) -> list[Finding]:
    config = project.config
    found = project.shipped
    findings = [_escape(project, escape) for escape in found.escapes]
    shipped: list[Finding] = []
    for entry in found.entries:
        secrets = _secret_files(entry)
        findings += secrets + _cache_dirs(entry)
        if not secrets and entry.files:
            shipped.append(
                Finding(
                    "CFG003",
                    "passed",
                    f"{entry.label} ships {ships(entry)}, no secret file",
                    config.where(entry.key.split(".")[0]),
                )
            )
    return ran(CODES, findings + shipped)
