"""Whole-process timings of `mfc-validator validate` against MLflow's own sandbox.

Bakes the template's projects (the default dataframe kind, the agent and the langchain kind),
gives each a virtualenv with its requirements and the validator (as `nox -s validate` does: the
validator logs the model with the project's own packages), then times, as whole processes:

- `mfc-validator validate` with a cold environment cache (a new, empty MFC_VALIDATOR_CACHE each
  run; uv's package cache stays warm, as on any developer machine after the first day),
- `mfc-validator validate` with a warm environment cache,
- `mlflow models predict --env-manager uv` on the model the validator logged, with the same
  input example: MLflow's own way to predict in an environment built from the logged
  requirements,

and prints medians and the ratios of MLflow's median to ours (the cold cache only for the first
kind). Run with `nox -s bench`, or `python benchmarks/bench_validate.py --runs 5 --kind agent`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return elapsed


def bake(into: Path, kind: str) -> Path:
    from cookiecutter.main import cookiecutter

    project = cookiecutter(
        str(ROOT), no_input=True, output_dir=str(into), extra_context={"model_kind": kind}
    )
    return Path(project)


def environment(work: Path, project: Path, env: dict[str, str], root: Path = ROOT) -> Path:
    """A virtualenv with the project's requirements and the validator (of ROOT), as
    `nox -s validate` makes it: the validator logs the model with the project's own packages."""
    venv = work / f"venv-{project.parent.name}-{root.name}"
    uv = [sys.executable, "-m", "uv"]
    timed([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], work, env)
    python = str(venv / "bin" / "python")
    # with bytecode, as an environment is after its first runs where .pyc files may be written;
    # where PYTHONDONTWRITEBYTECODE keeps them from being written, importing mlflow from source
    # costs seconds more on every run (measured without it: see docs/speed.md)
    install = [*uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    timed([*install, "-r", str(project / "requirements.txt"), str(root)], work, env)
    return venv / "bin"


def logged_model_dir(project: Path, report: dict[str, object]) -> Path:
    model_id = str(report["model_uri"]).removeprefix("models:/")
    (mlmodel,) = (project / ".mlflow").rglob(f"{model_id}/artifacts/MLmodel")
    return mlmodel.parent


def measure(kind: str, runs: int, work: Path, env: dict[str, str], cold: bool) -> list[Row]:
    project = bake(work / kind, kind)
    bin_dir = environment(work, project, env)
    kind_env = {**env, "PATH": str(bin_dir) + os.pathsep + env["PATH"]}
    validate = [str(bin_dir / "mfc-validator"), "validate", str(project)]
    warm_env = {**kind_env, "MFC_VALIDATOR_CACHE": str(work / "warm-cache")}
    report_path = work / f"report-{kind}.json"
    # fills uv's package cache and the warm environment cache; not timed
    timed([*validate, "--format", "json", "--output", str(report_path)], project, warm_env)
    report = json.loads(report_path.read_text())
    model_dir = logged_model_dir(project, report)
    rows: list[Row] = []
    if cold:
        times = []
        for run in range(runs):
            cache = work / f"cold-cache-{kind}-{run}"
            times.append(timed(validate, project, {**kind_env, "MFC_VALIDATOR_CACHE": str(cache)}))
            shutil.rmtree(cache, ignore_errors=True)
        rows.append((kind, "mfc-validator validate, cold environment cache", times))
    warm = [timed(validate, project, warm_env) for _ in range(runs)]
    rows.append((kind, "mfc-validator validate, warm environment cache", warm))
    predict = [
        str(bin_dir / "mlflow"),
        "models",
        "predict",
        "-m",
        str(model_dir),
        "-i",
        str(project / "input_example.json"),
        "-t",
        "json",
        "--env-manager",
        "uv",
    ]
    rows.append(
        (
            kind,
            "mlflow models predict --env-manager uv",
            [timed(predict, project, kind_env) for _ in range(runs)],
        )
    )
    return rows


Row = tuple[str, str, list[float]]


def side_by_side(kind: str, runs: int, work: Path, env: dict[str, str], baseline: Path) -> None:
    """Warm `validate` of this tree and of BASELINE (another checkout of the repository), and
    MLflow's own `mlflow models predict --env-manager uv` on the model, run in turn on the same
    project and caches, so that the machine's load weighs on all three alike."""
    project = bake(work / kind, kind)
    cache = {"MFC_VALIDATOR_CACHE": str(work / "warm-cache")}
    commands = {}
    report_path = work / f"report-{kind}.json"
    for label, root in (("this tree", ROOT), ("baseline", baseline)):
        bin_dir = environment(work, project, env, root)
        run_env = {**env, **cache, "PATH": str(bin_dir) + os.pathsep + env["PATH"]}
        command = [str(bin_dir / "mfc-validator"), "validate", str(project)]
        # warms the environment cache and the store; not timed
        timed([*command, "--format", "json", "--output", str(report_path)], project, run_env)
        commands[label] = (command, run_env)
    model_dir = logged_model_dir(project, json.loads(report_path.read_text()))
    predict = [
        str(bin_dir / "mlflow"),
        *("models", "predict", "-m", str(model_dir)),
        *("-i", str(project / "input_example.json"), "-t", "json", "--env-manager", "uv"),
    ]
    commands["mlflow models predict --env-manager uv"] = (predict, run_env)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, (command, run_env) in commands.items():
            times[label].append(timed(command, project, run_env))
    print(f"{kind}: {runs} runs in turn, warm caches (min / median / max)")
    for label, values in times.items():
        print(
            f"  {label:<40} {min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"
        )
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"{kind}: this tree / baseline: {medians['this tree'] / medians['baseline']:.3f}")
    for label in ("this tree", "baseline"):
        ratio = medians["mlflow models predict --env-manager uv"] / medians[label]
        print(f"{kind}: mlflow / {label}: {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement [5]")
    parser.add_argument(
        "--kind",
        action="append",
        help="template model_kind to measure, repeatable [dataframe, agent, langchain]",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="TREE",
        help="another checkout of this repository (e.g. `git worktree add ../base main`): time "
        "its warm validate against this tree's, alternately, instead of the usual table",
    )
    args = parser.parse_args(argv)
    kinds = args.kind or ["dataframe", "agent", "langchain"]
    env = {**os.environ, "PATH": os.environ.get("PATH", "")}
    work = Path(tempfile.mkdtemp(prefix="mfc-bench-"))
    if args.baseline:
        try:
            for kind in kinds:
                side_by_side(kind, args.runs, work, env, args.baseline.resolve())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    try:
        rows = [
            row
            for index, kind in enumerate(kinds)
            for row in measure(kind, args.runs, work, env, cold=index == 0)
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"whole-process seconds over {args.runs} runs (min / median / max)")
    for kind, label, times in rows:
        print(
            f"  {kind:<10} {label:<48} "
            f"{min(times):6.2f} {statistics.median(times):6.2f} {max(times):6.2f}"
        )
    for kind in kinds:
        medians = {label: statistics.median(times) for k, label, times in rows if k == kind}
        reference = medians["mlflow models predict --env-manager uv"]
        warm = medians["mfc-validator validate, warm environment cache"]
        print(f"{kind}: ratio mlflow/validate, warm: {reference / warm:.2f}x")
        cold = medians.get("mfc-validator validate, cold environment cache")
        if cold:
            print(f"{kind}: ratio mlflow/validate, cold: {reference / cold:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
