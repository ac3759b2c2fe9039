"""model.yaml's evaluation key, and the threshold and baseline verdicts on plain numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.errors import ValidatorError
from validator.inprocess import evaluation
from validator.project import config
from validator.project.evaluation_config import Evaluation, Threshold, lower_is_better

GOOD = (
    "evaluation:\n"
    "  data: data.csv\n"
    "  targets: y\n"
    "  model_type: regressor\n"
    "  thresholds:\n"
    "    r2_score: 0.9\n"
    "    root_mean_squared_error: 2.5\n"
    "    precision: {min: 0.5, max: 0.99}\n"
    "    custom_cost: {max: 7}\n"
    "  baseline:\n"
    "    metrics: {r2_score: 0.95, mean_absolute_error: 1.0}\n"
    "    max_regression: 0.1\n"
)
PREFIX = "name: m\nevaluation:\n  data: d.csv\n  targets: y\n  model_type: regressor\n"
BAD = [
    ("name: m\nevaluation: data.csv\n", "'evaluation' must be a mapping", "a string"),
    ("name: m\nevaluation:\n  data: d.csv\n  targets: y\n", "'evaluation' needs", "'model_type'"),
    (PREFIX + "  treshold: {}\n", "unknown key 'treshold'", "did you mean 'thresholds'"),
    (PREFIX.replace("d.csv", "d.parquet"), "'evaluation.data' must be a .csv or .json", "parquet"),
    (
        PREFIX.replace("targets: y", "targets: [y]"),
        "'evaluation.targets' must be a column",
        "got a list",
    ),
    (PREFIX.replace("regressor", "ranker"), "must be regressor or classifier", "ranker"),
    (
        PREFIX + "  thresholds: [r2_score]\n",
        "'evaluation.thresholds' must be a mapping",
        "{metric: number or {min, max}}, got a list",
    ),
    (PREFIX + "  thresholds: {r2_score: high}\n", "'evaluation.thresholds.r2_score'", "a string"),
    (PREFIX + "  thresholds: {r2_score: true}\n", "'evaluation.thresholds.r2_score'", "true/false"),
    (PREFIX + "  thresholds: {r2_score: {least: 1}}\n", "unknown key 'least'", "min, max"),
    (
        PREFIX + "  thresholds: {r2_score: {}}\n",
        "must give min, max or both",
        "'evaluation.thresholds.r2_score'",
    ),
    (
        PREFIX + "  thresholds: {r2_score: {min: x}}\n",
        "'evaluation.thresholds.r2_score.min'",
        "must be a number, got a string",
    ),
    (
        PREFIX + "  thresholds: {r2_score: {min: 2, max: 1}}\n",
        "min 2 is above max 1",
        "'evaluation.thresholds.r2_score'",
    ),
    (PREFIX + "  baseline: {r2_score: 0.9}\n", "unknown key 'r2_score'", "metrics"),
    (PREFIX + "  baseline: {max_regression: 0.1}\n", "needs 'metrics'", "'evaluation.baseline'"),
    (
        PREFIX + "  baseline: {metrics: {r2_score: a}}\n",
        "baseline.metrics.r2_score",
        "must be a number, got a string",
    ),
    (PREFIX + "  baseline: {metrics: {}, max_regression: -1}\n", "max_regression", "at least 0"),
]


@pytest.mark.parametrize(("text", "message", "detail"), BAD)
def test_bad_evaluation_is_refused(tmp_path: Path, text: str, message: str, detail: str) -> None:
    (tmp_path / "model.yaml").write_text(text)

    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)

    assert detail and detail not in message, "a detail must add to the message"
    assert str(raised.value).startswith("model.yaml:2: ")
    assert message in str(raised.value)
    assert detail in str(raised.value)


def test_evaluation_is_read(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(GOOD)

    loaded = config.load(tmp_path).evaluation

    assert loaded == Evaluation(
        data="data.csv",
        targets="y",
        model_type="regressor",
        thresholds=(
            Threshold("r2_score", min=0.9),
            Threshold("root_mean_squared_error", max=2.5),
            Threshold("precision", min=0.5, max=0.99),
            Threshold("custom_cost", max=7.0),
        ),
        baseline={"r2_score": 0.95, "mean_absolute_error": 1.0},
        max_regression=0.1,
    )


@pytest.mark.parametrize(
    ("metric", "lower"),
    [
        ("r2_score", False),
        ("accuracy_score", False),
        ("roc_auc", False),
        ("mean_squared_error", True),
        ("root_mean_squared_error", True),
        ("max_error", True),
        ("log_loss", True),
        ("false_negatives", True),
        ("my_loss_v2", True),
    ],
)
def test_which_way_is_better(metric: str, lower: bool) -> None:
    assert lower_is_better(metric) is lower


def _gate(**baseline: float) -> Evaluation:
    return Evaluation(
        data="data.csv",
        targets="y",
        model_type="regressor",
        thresholds=(
            Threshold("r2_score", min=0.9),
            Threshold("root_mean_squared_error", max=2.0),
            Threshold("custom_cost", min=1.0, max=3.0),
        ),
        baseline=baseline,
        max_regression=0.1,
    )


def _verdicts(gate: Evaluation, metrics: dict[str, float]) -> dict[str, list[str]]:
    verdicts: dict[str, list[str]] = {}
    for finding in evaluation.judge(gate, metrics, "model.yaml:7"):
        verdicts.setdefault(finding.code, []).append(f"{finding.status}: {finding.message}")
    return verdicts


GOOD_METRICS = {"r2_score": 0.95, "root_mean_squared_error": 1.5, "custom_cost": 2.0}


def test_metrics_within_their_thresholds_pass() -> None:
    verdicts = _verdicts(_gate(), GOOD_METRICS)

    assert verdicts["EVL002"] == ["passed: every evaluation metric meets its threshold"]
    assert verdicts["EVL003"] == ["skipped: model.yaml evaluation sets no baseline"]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"r2_score": 0.8}, "r2_score = 0.8 on data.csv is below its minimum 0.9"),
        (
            {"root_mean_squared_error": 2.5},
            "root_mean_squared_error = 2.5 on data.csv is above its maximum 2",
        ),
        ({"custom_cost": 0.5}, "custom_cost = 0.5 on data.csv is below its minimum 1"),
        ({"custom_cost": 3.5}, "custom_cost = 3.5 on data.csv is above its maximum 3"),
        ({"r2_score": float("nan")}, "r2_score = nan on data.csv is not a number"),
    ],
)
def test_a_metric_outside_its_threshold_fails(changed: dict[str, float], expected: str) -> None:
    [verdict] = _verdicts(_gate(), {**GOOD_METRICS, **changed})["EVL002"]

    assert verdict == f"failed: {expected}"


def test_thresholds_are_inclusive() -> None:
    edges = {"r2_score": 0.9, "root_mean_squared_error": 2.0, "custom_cost": 3.0}

    assert _verdicts(_gate(), edges)["EVL002"][0].startswith("passed")


def test_a_metric_the_evaluation_did_not_produce_fails() -> None:
    [verdict] = _verdicts(_gate(), {"r2_score": 0.95, "custom_cost": 2.0})["EVL002"]

    assert verdict.startswith("failed: the evaluation produced no metric 'root_mean_squared_error'")
    assert "custom_cost, r2_score" in verdict


@pytest.mark.parametrize(
    ("metrics", "status"),
    [
        # higher is better: 10% of 0.95 below the baseline is allowed
        ({"r2_score": 0.95}, "passed"),
        ({"r2_score": 0.86}, "passed"),
        ({"r2_score": 0.85}, "failed"),
        ({"r2_score": 0.99}, "passed"),
        # lower is better (the threshold says max): 10% above is allowed
        ({"root_mean_squared_error": 1.65}, "passed"),
        ({"root_mean_squared_error": 1.7}, "failed"),
        ({"root_mean_squared_error": 0.1}, "passed"),
    ],
)
def test_the_baseline_allows_max_regression(metrics: dict[str, float], status: str) -> None:
    gate = _gate(**{name: 0.95 if name == "r2_score" else 1.5 for name in metrics})

    [verdict] = _verdicts(gate, {**GOOD_METRICS, **metrics})["EVL003"]

    assert verdict.startswith(status)


def test_a_regression_names_the_metric_and_how_much() -> None:
    [verdict] = _verdicts(_gate(r2_score=0.95), {**GOOD_METRICS, "r2_score": 0.76})["EVL003"]

    assert verdict == (
        "failed: r2_score = 0.76 on data.csv is 20.0% worse than the baseline 0.95 "
        "(higher is better; max_regression 10.0%)"
    )


def test_the_threshold_says_which_way_a_custom_metric_goes() -> None:
    gate = Evaluation(
        data="d.csv",
        targets="y",
        model_type="regressor",
        thresholds=(Threshold("cost", max=10.0),),
        baseline={"cost": 5.0, "gain": 5.0},
    )

    verdicts = _verdicts(gate, {"cost": 5.5, "gain": 4.5})["EVL003"]

    # max_regression is 0 by default: any step the wrong way fails; cost goes the threshold's
    # way (lower is better), gain the name's (higher is better)
    assert [v.split(" =")[0] for v in verdicts] == ["failed: cost", "failed: gain"]


def test_evaluation_data_is_read_from_csv_and_json(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,y\n1,2\n3,4\n")
    (tmp_path / "r.json").write_text('[{"a": 1, "y": 2}, {"a": 3, "y": 4}]')
    (tmp_path / "s.json").write_text('{"columns": ["a", "y"], "data": [[1, 2], [3, 4]]}')

    for name in ("d.csv", "r.json", "s.json"):
        frame = evaluation.load_data(tmp_path, Evaluation(name, "y", "regressor"))
        assert frame.to_dict("list") == {"a": [1, 3], "y": [2, 4]}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("d.csv", "a,b\n1,2\n", "has no column 'y' (evaluation.targets); its columns: a, b"),
        ("d.csv", "a,y\n", "has no rows"),
        ("d.json", "[1, 2]", "must hold a list of records"),
        ("d.json", "{", "cannot be read"),
    ],
)
def test_unusable_evaluation_data_is_named(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)

    with pytest.raises(evaluation.DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluation.load_data(tmp_path, Evaluation(name, "y", "regressor"))
