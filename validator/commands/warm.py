"""Imported once by the fork server of a run of several projects (see `commands.many`): what
every validation imports before it runs the model's script, so that a worker forked from the
server starts warm. Nothing of a project is imported here: the script, its helper modules and
its own packages are imported in the worker, which no other project shares."""

from __future__ import annotations

import contextlib
import importlib

# what a validation of the default project imports after mlflow itself (measured by comparing
# sys.modules before and after one); a module missing here is imported by the worker instead
WARM = (
    "validator.commands.validate",
    "validator.commands.register",
    "mlflow.artifacts",
    "mlflow.models",
    "mlflow.models.display_utils",
    "mlflow.pyfunc",
    "mlflow.pyfunc.scoring_server",
    "mlflow.pyfunc.utils.environment",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.tracking.sqlalchemy_workspace_store",
    "mlflow.tracing.export.utils",
    "mlflow.tracing.processor.otel",
    "mlflow.tracking",
    "sqlalchemy.dialects.sqlite",
    "alembic.command",
    "alembic.config",
    "pandas",
    "pandas.core.methods.to_dict",
    "pyarrow.pandas_compat",
    "email.policy",
    "filelock",
    "git",
    "uv",
)

with contextlib.suppress(Exception):  # a worker then says what is missing, in its own report
    from validator.tracking.store import import_mlflow

    import_mlflow()
    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
