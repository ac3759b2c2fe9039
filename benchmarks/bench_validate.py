"""Whole-process timings of `mfc-validator validate` against MLflow's own sandbox.

Bakes the template's default project, then times, as whole processes:

- `mfc-validator validate` with a cold environment cache (a new, empty MFC_VALIDATOR_CACHE each
  run; uv's package cache stays warm, as on any developer machine after the first day),
- `mfc-validator validate` with a warm environment cache,
- `mlflow models predict --env-manager uv` on the model the validator logged, with the same
  input example: MLflow's own way to predict in an environment built from the logged
  requirements,

and prints medians and the ratios of MLflow's median to ours. Run with `nox -s bench`, or
`python benchmarks/bench_validate.py --runs 5`.
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


def bake(into: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(ROOT), no_input=True, output_dir=str(into)))


def logged_model_dir(project: Path, report: dict[str, object]) -> Path:
    model_id = str(report["model_uri"]).removeprefix("models:/")
    (mlmodel,) = (project / ".mlflow").rglob(f"{model_id}/artifacts/MLmodel")
    return mlmodel.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement [5]")
    args = parser.parse_args(argv)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    work = Path(tempfile.mkdtemp(prefix="mfc-bench-"))
    try:
        project = bake(work)
        validate = [sys.executable, "-m", "validator", "validate", str(project)]
        warm_env = {**env, "MFC_VALIDATOR_CACHE": str(work / "warm-cache")}
        report_path = work / "report.json"
        # fills uv's package cache and the warm environment cache; not timed
        timed([*validate, "--format", "json", "--output", str(report_path)], project, warm_env)
        report = json.loads(report_path.read_text())
        model_dir = logged_model_dir(project, report)

        cold = []
        for run in range(args.runs):
            cache = work / f"cold-cache-{run}"
            cold.append(timed(validate, project, {**env, "MFC_VALIDATOR_CACHE": str(cache)}))
            shutil.rmtree(cache, ignore_errors=True)
        warm = [timed(validate, project, warm_env) for _ in range(args.runs)]
        predict = [
            sys.executable,
            "-m",
            "mlflow",
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
        mlflow = [timed(predict, project, env) for _ in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("mfc-validator validate, cold environment cache", cold),
        ("mfc-validator validate, warm environment cache", warm),
        ("mlflow models predict --env-manager uv", mlflow),
    ]
    print(f"whole-process seconds over {args.runs} runs (min / median / max)")
    for label, times in rows:
        print(f"  {label:<48} {min(times):6.2f} {statistics.median(times):6.2f} {max(times):6.2f}")
    reference = statistics.median(mlflow)
    print(f"ratio mlflow/validate, warm: {reference / statistics.median(warm):.2f}x (target >= 3)")
    print(f"ratio mlflow/validate, cold: {reference / statistics.median(cold):.2f}x (target >= 1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
