"""The tracking store: which one, the embedded default, MLflow kept quiet, and the validation's
run from start to end. Imports mlflow: never used by `check`."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError
from validator.mlflow_private import MAKE_STORE_SCRIPT
from validator.paths import EMBEDDED_STORE, cache_root
from validator.project.config import ProjectConfig
from validator.tracking.server_check import shown_uri

STORE_DIR = EMBEDDED_STORE
REPORT_DIR = "validation"  # the run's artifact folder for the report


def import_mlflow() -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # the validation's own predictions are checks, not traffic: no traces of them in the store
    # (mlflow.tracing.disable() would deadlock MLflow 3.17's nested trace_disabled wrappers)
    os.environ.setdefault("MLFLOW_TRACE_SAMPLING_RATIO", "0")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    try:
        import mlflow
    except ImportError:
        raise ValidatorError(
            "mlflow is not installed in this environment, and `validate` logs the model with "
            "it: install the project's requirements (pip install -r requirements.txt) or run "
            "`nox -s validate`"
        ) from None
    return mlflow


def default_tracking_uri(root: Path) -> str:
    return f"sqlite:///{(root / STORE_DIR / 'mlflow.db').resolve().as_posix()}"


# host:port with no scheme, which MLflow takes for a folder of a file store
_SCHEMELESS_SERVER = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|[\w.-]+\.\w+):\d{1,5}(/.*)?$")


def resolve_tracking_uri(root: Path, given: str | None) -> tuple[str, bool]:
    """(uri, whether it is the embedded default store): also when the URI given or set names
    it, as MLFLOW_TRACKING_URI does once `register` opened the store (mlflow.set_tracking_uri
    sets it), so that the validation register makes keeps its artifacts in the store too."""
    uri = given or os.environ.get("MLFLOW_TRACKING_URI")
    if uri and _SCHEMELESS_SERVER.match(uri):
        source = "--tracking-uri" if given else "MLFLOW_TRACKING_URI"
        raise ValidatorError(
            f"{source} {uri} has no scheme, so MLflow would take it for a folder: did you mean "
            f"http://{uri}?"
        )
    default = default_tracking_uri(root)
    return (uri, uri == default) if uri else (default, True)


def prepare_default_store(root: Path) -> Path:
    store = root / STORE_DIR
    try:
        store.mkdir(exist_ok=True)
        ignore = store / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# the embedded MLflow store of mfc-validator\n*\n", encoding="utf-8")
    except OSError as exc:
        raise ValidatorError(
            f"{root}: cannot create the embedded MLflow store {STORE_DIR}/ there "
            f"({exc.strerror}): make the project folder writable, or give a tracking store "
            "with --tracking-uri or MLFLOW_TRACKING_URI"
        ) from None
    seed_store(store / "mlflow.db")
    return store


# Creating a SQLite store runs MLflow's every migration: seconds, on each new project. An empty
# store made once per MLflow version, in the cache, is copied instead; it holds nothing but the
# schema, the default workspace and the Default experiment, whose folder and times are set anew.
STORE_TEMPLATES = "stores"
_MAKE_TEMPLATE = MAKE_STORE_SCRIPT
_TEMPLATE_TIMEOUT_S = 300


def _mlflow_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:
        return None


def store_template() -> Path | None:
    """The empty store of this MLflow version, made once (in a process of its own: the caller
    may not import mlflow yet); None when it cannot be made (MLflow then creates the store)."""
    import subprocess
    import sys

    from filelock import FileLock

    release = _mlflow_version()
    if release is None:
        return None
    template = cache_root() / STORE_TEMPLATES / f"mlflow-{release}.db"
    if template.is_file():
        return template
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(template) + ".lock"):
            if template.is_file():
                return template
            with tempfile.TemporaryDirectory(dir=template.parent) as scratch:
                made = Path(scratch) / "store.db"
                env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
                subprocess.run(
                    [sys.executable, "-c", _MAKE_TEMPLATE, made.as_posix(), scratch],
                    env=env,
                    capture_output=True,
                    timeout=_TEMPLATE_TIMEOUT_S,
                    check=True,
                )
                os.replace(made, template)
    except (OSError, subprocess.SubprocessError):
        return None
    return template


def seed_store(database: Path) -> None:
    """Copy the empty store into DATABASE if there is none yet (under the lock `first_use`
    takes, so that a validation that starts at the same time waits for it)."""
    if database.exists():
        return
    from filelock import FileLock

    with FileLock(str(database) + ".lock"):
        if database.exists():
            return
        template = store_template()
        if template is None:
            return
        partial = database.with_name(database.name + ".seeding")
        try:
            shutil.copyfile(template, partial)
            with contextlib.closing(sqlite3.connect(partial)) as db, db:
                now = int(time.time() * 1000)
                db.execute(
                    "UPDATE experiments SET artifact_location = ?, creation_time = ?, "
                    "last_update_time = ? WHERE experiment_id = 0",
                    ((database.parent / "artifacts" / "0").resolve().as_uri(), now, now),
                )
            os.replace(partial, database)
        except (OSError, sqlite3.Error):
            partial.unlink(missing_ok=True)  # MLflow creates the store as it would have


@contextlib.contextmanager
def first_use(tracking_uri: str) -> Iterator[None]:
    """Hold a file lock beside a SQLite store while it is opened: two validations that start at
    once on a new store create its tables once (MLflow's migrations are not safe side by side)."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    from filelock import FileLock

    database = Path(tracking_uri.removeprefix("sqlite:///"))  # relative: to this folder
    with FileLock(str(database) + ".lock"):
        yield


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Keep MLflow's INFO logs, warnings and the script's prints out of our report."""
    buffer = io.StringIO()
    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        mlflow_logger.setLevel(level)


def _experiment_id(mlflow: Any, config: ProjectConfig, default_store: bool) -> str:
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(config.name)
    if experiment is not None:
        return str(experiment.experiment_id)
    artifact_location = None
    if default_store:
        artifacts = (config.root / STORE_DIR / "artifacts").resolve()
        artifact_location = artifacts.as_uri()
    return str(client.create_experiment(config.name, artifact_location=artifact_location))


@contextlib.contextmanager
def one_try() -> Iterator[None]:
    """MLflow's HTTP calls without retries and with a short timeout, for a server that failed."""
    names = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({names[0]: "0", names[1]: "5"})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ValidationRun:
    """The MLflow run of one validation, open until the whole report exists."""

    def __init__(
        self, mlflow: Any, run_id: str, tracking_uri: str, experiment_id: str = ""
    ) -> None:
        self.mlflow = mlflow
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.ended = False

    def finish(
        self,
        passed: bool,
        files: dict[str, str],
        tags: dict[str, str],
        metrics: dict[str, float] | None = None,
    ) -> None:
        """Log FILES ({name: text}, the rendered report) under validation/, the verdict's tags
        and METRICS, and end the run: FINISHED when the validation PASSED, FAILED when not."""
        from mlflow.entities import Metric, RunTag

        client = self.mlflow.MlflowClient()
        try:
            with quiet():
                for name, text in files.items():
                    client.log_text(self.run_id, text, f"{REPORT_DIR}/{name}")
                run_tags = [RunTag(key, value) for key, value in tags.items()]
                now = int(time.time() * 1000)
                run_metrics = [Metric(key, v, now, 0) for key, v in (metrics or {}).items()]
                client.log_batch(self.run_id, metrics=run_metrics, tags=run_tags)
                self.mlflow.end_run("FINISHED" if passed else "FAILED")
        except Exception as exc:
            raise ValidatorError(
                "cannot record the report in the tracking store "
                f"{shown_uri(self.tracking_uri)}: {exc}"
            ) from None
        self.ended = True

    def abandon(self) -> bool:
        """End the run FAILED with one try, for a server that failed; whether it took it. The
        run counts as ended either way, so that nothing tries again."""
        try:
            with one_try(), quiet():
                self.mlflow.end_run("FAILED")
            return True
        except Exception:
            return False
        finally:
            self.ended = True

    def end(self, status: str) -> None:
        """End the run as STATUS (FAILED, KILLED) unless it ended already."""
        if not self.ended:
            with quiet(), contextlib.suppress(Exception):
                self.mlflow.end_run(status)
            self.ended = True


def start_run(
    config: ProjectConfig, tracking_uri: str, default_store: bool, tags: dict[str, str]
) -> ValidationRun:
    """Start the validation's run (in the store's worker, see `validator.inprocess.runs`)."""
    mlflow = import_mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with quiet(), first_use(tracking_uri):
            experiment_id = _experiment_id(mlflow, config, default_store)
            run = mlflow.start_run(
                experiment_id=experiment_id, run_name=f"validate-{config.name}", tags=tags
            )
    except Exception as exc:  # the store itself is unusable: a run cannot be made
        shown = shown_uri(tracking_uri)
        raise ValidatorError(f"cannot use the tracking store {shown}: {exc}") from None
    return ValidationRun(mlflow, run.info.run_id, tracking_uri, experiment_id)


@contextlib.contextmanager
def scratch_folder(prefix: str = "mfc-model-") -> Iterator[Path]:
    """A temporary folder for downloads from the store, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
