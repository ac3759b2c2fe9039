"""Whole-process timings of a repeated `nox -s validate` against a bare `mfc-validator validate`.

Bakes the template's default (dataframe) project, runs its `nox -s validate` twice untimed (the
first builds the session's environment and fills the sandbox's environment cache and uv's package
cache; the second writes the bytecode of what a run imports), then times, alternately, as whole
processes and with every cache warm:

- `nox -s validate` again: the session reuses its environment and installs nothing,
- `mfc-validator validate` of that same environment, bare (the floor nox adds to),

once with PYTHONDONTWRITEBYTECODE unset and once with it set to 1 (common in CI containers), and
prints the medians and what nox adds. The goal: nox adds at most 1.5 s. Then, less noisy, nox's
fixed cost: `nox -s validate -- --help` against a bare `mfc-validator validate . --help`. It
also counts the `.pyc` files of mlflow in the session's environment and in the sandbox's, which
must both have them. Run with `nox -s bench`, or `python benchmarks/bench_nox.py --runs 5`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 1.5


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return elapsed


def bake(into: Path) -> Path:
    from cookiecutter.main import cookiecutter

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Path(
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(into), extra_context={"python_version": python}
        )
    )


def mlflow_pyc_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("mlflow/**/__pycache__/*.pyc"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement [5]")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mfc-bench-nox-"))
    try:
        project = bake(work)
        cache = work / "env-cache"
        # the session's own installed validator, not one PYTHONPATH would put first
        env = {
            **{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
            "MFC_VALIDATOR_SPEC": str(ROOT),
            "MFC_VALIDATOR_CACHE": str(cache),
            "COOKIECUTTER_CONFIG": str(work / "cookiecutter.yaml"),
        }
        nox = [sys.executable, "-m", "nox", "-s", "validate"]
        bare = [str(project / ".nox" / "env" / "bin" / "mfc-validator"), "validate", "."]
        for _ in range(2):
            timed(nox, project, {**env, "PYTHONDONTWRITEBYTECODE": "1"})
        rows: list[tuple[str, list[float], list[float]]] = []
        for label, variable in (("unset", None), ("=1", "1")):
            variant = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
            if variable:
                variant["PYTHONDONTWRITEBYTECODE"] = variable
            nox_times, bare_times = [], []
            for _ in range(args.runs):
                nox_times.append(timed(nox, project, variant))
                bare_times.append(timed(bare, project, variant))
            rows.append((label, nox_times, bare_times))
        # nox's own share, without the validation's noise: the session up to the validator's
        # start, with `--help` (which imports nothing heavy) against that `--help` bare
        fixed = (
            [timed([*nox, "--", "--help"], project, env) for _ in range(args.runs)],
            [timed([*bare, "--help"], project, env) for _ in range(args.runs)],
        )
        session_pyc = mlflow_pyc_files(project / ".nox" / "env")
        sandbox_pyc = mlflow_pyc_files(cache)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"whole-process seconds over {args.runs} runs, warm caches (min / median / max)")
    worst = 0.0
    for label, nox_times, bare_times in rows:
        for name, times in (("nox -s validate (2nd+)", nox_times), ("mfc-validator", bare_times)):
            print(
                f"  PYTHONDONTWRITEBYTECODE {label:<6} {name:<24} "
                f"{min(times):6.2f} {statistics.median(times):6.2f} {max(times):6.2f}"
            )
        added = statistics.median(nox_times) - statistics.median(bare_times)
        worst = max(worst, added)
        print(f"  PYTHONDONTWRITEBYTECODE {label:<6} nox adds {added:.2f} s (goal <= {GOAL_S} s)")
    overhead = statistics.median(fixed[0]) - statistics.median(fixed[1])
    print(
        f"  `--help` through nox {statistics.median(fixed[0]):.2f} s, bare "
        f"{statistics.median(fixed[1]):.2f} s: nox's fixed cost {overhead:.2f} s"
    )
    print(f"mlflow .pyc files: session environment {session_pyc}, sandbox {sandbox_pyc}")
    if worst > GOAL_S:
        print(f"goal missed: nox adds up to {worst:.2f} s")
    return 0 if session_pyc and sandbox_pyc else 1


if __name__ == "__main__":
    sys.exit(main())
