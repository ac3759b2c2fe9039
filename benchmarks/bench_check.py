"""Time `mfc-validator check` as a whole process on the default baked project.

    python benchmarks/bench_check.py [--runs 15] [--fixture]

Bakes the template with cookiecutter's defaults into a temporary folder (or, with --fixture,
materializes the scenario tests/fixtures/good there), runs the command --runs times and prints
min, median and max.
As an installed validator has .pyc files, the runs may write theirs (into the temporary folder,
through PYTHONPYCACHEPREFIX) even where PYTHONDONTWRITEBYTECODE is set; --no-bytecode times
compiling the sources on every run instead.
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
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = "good"  # the scenario of tests/fixtures that --fixture times


def materialize(output: Path) -> Path:
    """The test suite's scenario FIXTURE, put together by its own helper."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import materialize_scenario

    return materialize_scenario(FIXTURE, output)


def bake(output: Path) -> Path:
    from cookiecutter.main import cookiecutter

    # keep cookiecutter's replay file in the temporary folder, not in ~/.cookiecutter_replay
    settings = output / "cookiecutter.yaml"
    output.mkdir(parents=True)
    settings.write_text(json.dumps({"replay_dir": str(output / "replay")}))
    return Path(
        cookiecutter(str(REPO), no_input=True, output_dir=str(output), config_file=str(settings))
    )


def command() -> list[str]:
    script = Path(sys.executable).with_name("mfc-validator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "validator"]


def timings(project: Path, runs: int, env: dict[str, str]) -> list[float]:
    argv = [*command(), "check", str(project)]
    # warm the file cache and write the .pyc files
    subprocess.run(argv, check=True, capture_output=True, env=env)
    result: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        result.append(time.perf_counter() - started)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="how many timed runs [15]")
    parser.add_argument(
        "--fixture", action="store_true", help=f"time the scenario tests/fixtures/{FIXTURE} instead"
    )
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile the sources on every run"
    )
    args = parser.parse_args(argv)
    temporary = Path(tempfile.mkdtemp(prefix="bench-check-"))
    env = dict(os.environ)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(temporary / "pycache")
    try:
        project = materialize(temporary / FIXTURE) if args.fixture else bake(temporary / "baked")
        seconds = timings(project, max(args.runs, 1), env)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    print(f"mfc-validator check {project.name}: {len(seconds)} runs")
    print(f"  min    {min(seconds):.3f} s")
    print(f"  max    {max(seconds):.3f} s")
    print(f"MEDIAN   {statistics.median(seconds):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
