"""The static stages, in the order they run; each is named after the module that runs it."""

from __future__ import annotations

from validator.checks import (
    artifacts,
    config_files,
    dependencies,
    environment,
    input_example,
    script,
    shipping,
)
from validator.pipeline import Stage
from validator.project.sources import Project

STATIC: tuple[Stage[Project], ...] = (
    Stage("config", config_files.run, always=True),
    Stage("shipping", shipping.run, always=True),
    Stage("script", script.run, always=True),
    Stage("input_example", input_example.run, always=True),
    Stage("dependencies", dependencies.run, always=True),
    Stage("artifacts", artifacts.run, always=True),
    Stage("environment", environment.run, always=True),
)
