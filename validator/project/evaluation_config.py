"""model.yaml's `evaluation` key, strictly: the data, the targets, thresholds and a baseline.

evaluation:
  data: evaluation.csv          # a .csv or .json file of the project (JSON: a list of records)
  targets: units_next_7d        # the column holding the true values
  model_type: regressor         # or classifier
  thresholds:
    r2_score: 0.9               # a bare number: a minimum, or a maximum for an error or loss
    log_loss: {max: 0.4}        # or say it: {min: x}, {max: x}, or both
  baseline:                     # optional: the metrics of the model this one replaces
    metrics: {r2_score: 0.93}
    max_regression: 0.05        # how far worse than the baseline, as a fraction of it [0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TypeGuard

from validator.project.yaml_values import fail, relative_path, type_name, unknown

EVALUATION_KEYS = ("data", "targets", "model_type", "thresholds", "baseline")
BASELINE_KEYS = ("metrics", "max_regression")
BOUND_KEYS = ("min", "max")
MODEL_TYPES = ("regressor", "classifier")
DATA_SUFFIXES = (".csv", ".json")
# errors, losses and the classifier's wrong counts: the lower, the better
_LOWER_IS_BETTER = re.compile(r"error|loss|false_positives|false_negatives")


def lower_is_better(metric: str) -> bool:
    return bool(_LOWER_IS_BETTER.search(metric))


@dataclass(frozen=True)
class Threshold:
    metric: str
    min: float | None = None
    max: float | None = None

    @property
    def lower_is_better(self) -> bool:
        """The direction the bounds say, else the one the metric's name says."""
        if (self.min is None) != (self.max is None):
            return self.max is not None
        return lower_is_better(self.metric)


@dataclass(frozen=True)
class Evaluation:
    data: str
    targets: str
    model_type: str
    thresholds: tuple[Threshold, ...] = ()
    baseline: dict[str, float] = field(default_factory=dict)
    max_regression: float = 0.0

    def lower_is_better(self, metric: str) -> bool:
        for threshold in self.thresholds:
            if threshold.metric == metric:
                return threshold.lower_is_better
        return lower_is_better(metric)


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _mapping(value: object, where: str, key: str, expected: str) -> dict[object, object]:
    if not isinstance(value, dict):
        raise fail(where, f"'{key}' must be {expected}, got {type_name(value)}")
    return value


def _threshold(metric: object, value: object, where: str) -> Threshold:
    key = f"evaluation.thresholds.{metric}"
    if not isinstance(metric, str) or not metric:
        raise fail(where, f"'evaluation.thresholds' must map metric names to bounds: {metric!r}")
    if _number(value):
        if lower_is_better(metric):
            return Threshold(metric, max=float(value))
        return Threshold(metric, min=float(value))
    bounds = _mapping(value, where, key, "a number or a mapping {min: number, max: number}")
    for name in bounds:
        if name not in BOUND_KEYS:
            raise fail(where, f"'{key}': {unknown(str(name), BOUND_KEYS)}")
    if not bounds:
        raise fail(where, f"'{key}' must give min, max or both")
    numbers: dict[object, float] = {}
    for name, bound in bounds.items():
        if not _number(bound):
            raise fail(where, f"'{key}.{name}' must be a number, got {type_name(bound)}")
        numbers[name] = float(bound)
    threshold = Threshold(metric, numbers.get("min"), numbers.get("max"))
    if threshold.min is not None and threshold.max is not None and threshold.min > threshold.max:
        raise fail(where, f"'{key}': min {threshold.min:g} is above max {threshold.max:g}")
    return threshold


def _baseline(value: object, where: str) -> tuple[dict[str, float], float]:
    baseline = _mapping(value, where, "evaluation.baseline", "a mapping {metrics, max_regression}")
    for key in baseline:
        if key not in BASELINE_KEYS:
            raise fail(where, f"'evaluation.baseline': {unknown(str(key), BASELINE_KEYS)}")
    if "metrics" not in baseline:
        raise fail(where, "'evaluation.baseline' needs 'metrics', a mapping {metric: value}")
    metrics = _mapping(
        baseline["metrics"], where, "evaluation.baseline.metrics", "a mapping {metric: value}"
    )
    values: dict[str, float] = {}
    for metric, number in metrics.items():
        if not isinstance(metric, str) or not _number(number):
            key = f"evaluation.baseline.metrics.{metric}"
            raise fail(where, f"'{key}' must be a number, got {type_name(number)}")
        values[metric] = float(number)
    allowed = baseline.get("max_regression", 0.0)
    if not _number(allowed) or allowed < 0:
        raise fail(
            where,
            "'evaluation.baseline.max_regression' must be a number of at least 0 (a fraction "
            f"of the baseline), got {allowed!r}",
        )
    return values, float(allowed)


def parse(value: object, where: str) -> Evaluation:
    """model.yaml's `evaluation` mapping, at WHERE; raise ValidatorError on any problem."""
    evaluation = _mapping(
        value, where, "evaluation", "a mapping {data, targets, model_type, thresholds, baseline}"
    )
    for key in evaluation:
        if key not in EVALUATION_KEYS:
            raise fail(where, f"'evaluation': {unknown(str(key), EVALUATION_KEYS)}")
    for key in ("data", "targets", "model_type"):
        if key not in evaluation:
            raise fail(where, f"'evaluation' needs '{key}'")
    data = relative_path(evaluation["data"], where, "evaluation.data")
    if PurePath(data).suffix.lower() not in DATA_SUFFIXES:
        raise fail(where, f"'evaluation.data' must be a .csv or .json file, got '{data}'")
    targets = evaluation["targets"]
    if not isinstance(targets, str) or not targets:
        raise fail(where, f"'evaluation.targets' must be a column name, got {type_name(targets)}")
    model_type = evaluation["model_type"]
    if model_type not in MODEL_TYPES:
        raise fail(
            where, f"'evaluation.model_type' must be regressor or classifier, got {model_type!r}"
        )
    thresholds = _mapping(
        evaluation.get("thresholds") or {},
        where,
        "evaluation.thresholds",
        "a mapping {metric: number or {min, max}}",
    )
    baseline, max_regression = (
        _baseline(evaluation["baseline"], where) if "baseline" in evaluation else ({}, 0.0)
    )
    return Evaluation(
        data=data,
        targets=targets,
        model_type=str(model_type),
        thresholds=tuple(_threshold(metric, bound, where) for metric, bound in thresholds.items()),
        baseline=baseline,
        max_regression=max_regression,
    )
