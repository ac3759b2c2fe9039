"""No shipped text file holds a secret (ENV010): detect-secrets' pattern plugins over every text
file the model ships (the script, requirements, input example, a model_config file, the files
of code_paths and artifacts), before anything is logged.

Only plugins that recognise a secret by its own shape run (a key's prefix and length, a private
key's header): the entropy and keyword plugins flag hashes, ids and `password=` in ordinary code
and data, so a model project would be full of false positives. A known false positive is
accepted through the project's `.secrets.baseline`, as
`detect-secrets scan --all-files > .secrets.baseline` writes it in the project folder
(`detect-secrets audit` marks its entries; one marked a true secret still fails), or through a
`# pragma: allowlist secret` comment on the line. The value is never shown: the report names
the file, the line and the kind of secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from validator.project.config import ProjectConfig
from validator.project.shipped import Survey, leaves_lexically
from validator.project.sources import Project
from validator.report import Finding, failed, ran

BASELINE = ".secrets.baseline"
MAX_BYTES = 2_000_000  # a larger file is data, not text a secret is pasted into; not scanned
_SNIFFED = 8192  # a NUL byte in the first bytes: a binary file, not scanned
# detect-secrets' plugins that match a secret by its own format
PLUGINS = (
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",  # scheme://user:password@host
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)


@dataclass(frozen=True)
class Hit:
    shown: str  # relative to the project folder
    line: int
    kind: str  # detect-secrets' type: "AWS Access Key", "Private Key", ...
    hashed: str  # detect-secrets' sha1 of the value, as a baseline lists it


def shipped_files(config: ProjectConfig, found: Survey) -> dict[str, Path]:
    """{shown: path} of every file the model ships that stays inside the project."""
    files: dict[str, Path] = {}
    named = [("script", config.script), ("requirements", config.requirements)]
    named.append(("input_example", config.input_example))
    if isinstance(config.model_config, str):
        named.append(("model_config", config.model_config))
    escaped = {escape.key for escape in found.escapes if not escape.folder}
    for key, written in named:
        path = config.path(written)
        if key not in escaped and not leaves_lexically(written) and path.is_file():
            files[Path(written).as_posix()] = path
    for entry in found.entries:
        files.update((file.shown, file.path) for file in entry.files)
    return files


def _is_text(path: Path) -> bool:
    try:
        if path.stat().st_size > MAX_BYTES:
            return False
        with path.open("rb") as handle:
            return b"\0" not in handle.read(_SNIFFED)
    except OSError:
        return False


def scan(files: dict[str, Path]) -> list[Hit]:
    """The secrets detect-secrets' PLUGINS find in the text files among FILES."""
    # imported here: it costs a tenth of a second, paid only where there is something to scan
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    hits: list[Hit] = []
    text_files = {shown: path for shown, path in files.items() if _is_text(path)}
    if not text_files:
        return hits
    with transient_settings({"plugins_used": [{"name": name} for name in PLUGINS]}):
        for shown, path in text_files.items():
            for secret in scan_file(str(path)):
                line = secret.line_number or 0
                hits.append(Hit(shown, line, str(secret.type), str(secret.secret_hash)))
    return sorted(set(hits), key=lambda hit: (hit.shown, hit.line, hit.kind))


def baseline(root: Path) -> tuple[set[tuple[str, str]], Finding | None]:
    """{(file, hashed secret)} the project's BASELINE accepts, or a finding when it is unusable."""
    path = root / BASELINE
    if not path.is_file():
        return set(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data["results"]
        accepted = {
            (str(filename).removeprefix("./"), str(item["hashed_secret"]))
            for filename, items in results.items()
            for item in items
            if item.get("is_secret") is not True
        }
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else f"no {exc}"
        return set(), failed(
            "ENV010",
            f"{BASELINE} is not a detect-secrets baseline ({problem})",
            BASELINE,
            f"write it again in the project folder: detect-secrets scan --all-files > {BASELINE}",
        )
    return accepted, None


def run(project: Project) -> list[Finding]:
    config = project.config
    accepted, unusable = baseline(config.root)
    findings = [unusable] if unusable else []
    for hit in scan(shipped_files(config, project.shipped)):
        if (hit.shown, hit.hashed) in accepted:
            continue
        findings.append(
            failed(
                "ENV010",
                f"{hit.shown}:{hit.line} holds what looks like a secret ({hit.kind}), and the "
                "file ships with the model (the value is not shown)",
                f"{hit.shown}:{hit.line}",
                "remove it and read it from an environment variable declared in model.yaml env "
                f"(secret: true); a false positive: accept it in {BASELINE} "
                f"(detect-secrets scan --all-files > {BASELINE}) or end the line with "
                "`# pragma: allowlist secret`",
            )
        )
    return ran(("ENV010",), findings)
