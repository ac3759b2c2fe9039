"""Imported once by the fork server of a run of several projects (see `commands.many`): what
every validation imports before it runs the model's script, so that a worker forked from the
server starts warm. Nothing of a project is imported here: the script, its helper modules and
its own packages are imported in the worker, which no other project shares."""

from __future__ import annotations

import contextlib

with contextlib.suppress(Exception):  # a worker then says what is missing, in its own report
    from validator.inprocess.store import import_mlflow

    import_mlflow()

    import mlflow.artifacts
    import mlflow.models
    import mlflow.pyfunc
    import mlflow.pyfunc.scoring_server
    import mlflow.store.tracking.sqlalchemy_store
    import mlflow.tracking  # noqa: F401
    import pandas  # noqa: F401

    import validator.commands.register
    import validator.commands.validate  # noqa: F401
