"""The evaluation gate (EVL001-EVL003): the logged model evaluated in this process with
mlflow.models.evaluate on model.yaml's evaluation data, its metrics logged to the validation run
and held to their thresholds and to the baseline.

Only `judge` and its helpers run without mlflow; `run` imports it, with pandas.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validator.codes import owned_by
from validator.report import Finding, failed, ran, skipped

if TYPE_CHECKING:
    from validator.inprocess.log_model import Logged
    from validator.project.config import ProjectConfig
    from validator.project.evaluation_config import Evaluation

CODES = owned_by("evaluation")
JUDGED = ("EVL002", "EVL003")
# in-process failures after which evaluating cannot work
_PREDICTS = ("SCR007", "SIG005", "SCR008")
# shown in EVL001's message when the evaluation produced them
_HEADLINE = (
    "r2_score",
    "root_mean_squared_error",
    "mean_absolute_error",
    "accuracy_score",
    "f1_score",
    "roc_auc",
    "log_loss",
)


class DataError(Exception):
    """The evaluation data cannot be read or has no target column."""


def _show(value: float) -> str:
    return f"{value:.4g}"


def _not_produced(
    code: str, evaluation: Evaluation, metric: str, metrics: dict[str, float], location: str
) -> Finding:
    return failed(
        code,
        f"the evaluation produced no metric '{metric}' (it produced: {', '.join(sorted(metrics))})",
        location,
        f"name metrics as mlflow.models.evaluate does for a {evaluation.model_type}",
    )


def judge_thresholds(
    evaluation: Evaluation, metrics: dict[str, float], location: str
) -> list[Finding]:
    """EVL002: a failure for every metric outside its bounds or missing."""
    findings: list[Finding] = []
    data = evaluation.data
    for threshold in evaluation.thresholds:
        metric = threshold.metric
        value = metrics.get(metric)
        if value is None:
            findings.append(_not_produced("EVL002", evaluation, metric, metrics, location))
            continue
        problem = None
        if math.isnan(value):
            problem = "is not a number"
        elif threshold.min is not None and value < threshold.min:
            problem = f"is below its minimum {_show(threshold.min)}"
        elif threshold.max is not None and value > threshold.max:
            problem = f"is above its maximum {_show(threshold.max)}"
        if problem:
            findings.append(
                failed(
                    "EVL002",
                    f"{metric} = {_show(value)} on {data} {problem}",
                    location,
                    "improve the model, or change the threshold in model.yaml if the "
                    "requirement changed",
                )
            )
    return findings


def judge_baseline(
    evaluation: Evaluation, metrics: dict[str, float], location: str
) -> list[Finding]:
    """EVL003: a failure for every metric worse than its baseline by more than max_regression."""
    findings: list[Finding] = []
    allowed = evaluation.max_regression
    for metric, base in evaluation.baseline.items():
        value = metrics.get(metric)
        if value is None:
            findings.append(_not_produced("EVL003", evaluation, metric, metrics, location))
            continue
        margin = allowed * abs(base)
        lower = evaluation.lower_is_better(metric)
        worse = value > base + margin if lower else value < base - margin
        if math.isnan(value) or worse:
            change = abs(value - base) / abs(base) if base else math.inf
            findings.append(
                failed(
                    "EVL003",
                    f"{metric} = {_show(value)} on {evaluation.data} is {change:.1%} worse than "
                    f"the baseline {_show(base)} ({'lower' if lower else 'higher'} is better; "
                    f"max_regression {allowed:.1%})",
                    location,
                    "find what made the model worse; if the change is meant, update "
                    "evaluation.baseline in model.yaml to the new metrics",
                )
            )
    return findings


def judge(evaluation: Evaluation, metrics: dict[str, float], location: str) -> list[Finding]:
    """EVL002 and EVL003 for METRICS, completed with a passed entry where nothing failed."""
    if evaluation.thresholds:
        findings = ran(("EVL002",), judge_thresholds(evaluation, metrics, location))
    else:
        findings = [skipped("EVL002", "model.yaml evaluation sets no thresholds")]
    if evaluation.baseline:
        findings += ran(("EVL003",), judge_baseline(evaluation, metrics, location))
    else:
        findings.append(skipped("EVL003", "model.yaml evaluation sets no baseline"))
    return findings


def load_data(root: Path, evaluation: Evaluation) -> Any:
    """The evaluation data as a DataFrame: a CSV file, or JSON records (or split orient)."""
    import pandas as pd

    path = root / evaluation.data
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and "data" in loaded:
                frame = pd.DataFrame(loaded["data"], columns=loaded.get("columns"))
            elif isinstance(loaded, list) and all(isinstance(row, dict) for row in loaded):
                frame = pd.DataFrame.from_records(loaded)
            else:
                raise DataError(
                    f"{evaluation.data} must hold a list of records, or "
                    '{"columns": [...], "data": [[...], ...]}'
                )
        else:
            frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:  # JSON and CSV parse errors are ValueErrors
        raise DataError(f"{evaluation.data} cannot be read: {exc}") from None
    if evaluation.targets not in frame.columns:
        raise DataError(
            f"{evaluation.data} has no column '{evaluation.targets}' (evaluation.targets); "
            f"its columns: {', '.join(map(str, frame.columns))}"
        )
    if frame.empty:
        raise DataError(f"{evaluation.data} has no rows")
    return frame


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def run(
    config: ProjectConfig, logged: Logged, metrics_out: dict[str, float] | None = None
) -> list[Finding]:
    """Evaluate the LOGGED model; its numeric metrics go to METRICS_OUT, for the run."""
    evaluation = config.evaluation
    if evaluation is None:
        return [skipped(code, "model.yaml has no evaluation") for code in CODES]
    broken = [f.code for f in logged.findings if f.status == "failed" and f.code in _PREDICTS]
    if broken or logged.model is None:
        reason = (
            f"{broken[0] if broken else 'SCR007'} failed: the model does not predict in-process"
        )
        return [skipped(code, reason) for code in CODES]
    location = config.where("evaluation")
    try:
        data = load_data(config.root, evaluation)
    except DataError as exc:
        return [
            failed("EVL001", str(exc), evaluation.data, "fix the evaluation data in model.yaml"),
            *[skipped(code, "the model could not be evaluated") for code in JUDGED],
        ]
    from validator.tracking.store import import_mlflow, quiet

    mlflow = import_mlflow()
    try:
        with quiet():
            result = mlflow.models.evaluate(
                logged.model,
                data,
                targets=evaluation.targets,
                model_type=evaluation.model_type,
                evaluators="default",
                # SHAP explanations are slow, and need a package mlflow does not bring
                evaluator_config={"log_model_explainability": False},
            )
    except Exception as exc:
        hint = "make predict work on every row of the evaluation data"
        if isinstance(exc, ImportError):
            hint = (
                f"install what the evaluation needs ({exc.name or exc}) where the validator runs: "
                "the evaluation runs in its process, with the project's requirements"
            )
        return [
            failed(
                "EVL001",
                f"mlflow.models.evaluate failed on {evaluation.data}: {type(exc).__name__}: {exc}",
                location,
                hint,
            ),
            *[skipped(code, "the model could not be evaluated") for code in JUDGED],
        ]
    metrics = _numbers(result.metrics)
    if metrics_out is not None:
        metrics_out.update(metrics)
    shown = ", ".join(f"{name} {_show(metrics[name])}" for name in _HEADLINE if name in metrics)
    summary = Finding(
        "EVL001",
        "passed",
        f"evaluated as a {evaluation.model_type} on {evaluation.data} ({len(data)} rows)"
        + (f": {shown}" if shown else ""),
    )
    return [summary, *judge(evaluation, metrics, location)]
