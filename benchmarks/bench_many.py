"""Whole-process timings of a batch: `mfc-validator validate --all` over 1, 5 and 10 projects,
against 10 sequential single-project `validate` processes.

Bakes 10 projects of the template's default kind, with different names and scripts and the same
requirements, into one folder; gives them one virtualenv with their requirements and the
validator (with bytecode, as `nox -s validate` keeps it), and warms the environment cache. Then
it times, as whole processes:

- 10 sequential `mfc-validator validate PROJECT` runs (the sum of their times),
- `mfc-validator validate --all` over the first 1, 5 and 10 projects (`-j` the number of cores),

and prints medians, the ratio of the batch to the sequential runs, the cost of each project past
the first, and the peak memory of all the batch's processes together (the sum of their PSS,
proportional set size, sampled every 50 ms: pages that forked processes share are counted once
in all). Run with `nox -s bench`, or `python benchmarks/bench_many.py --runs 3`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import bake, environment, timed

SIZES = (1, 5, 10)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_pss_kb(root: int) -> int:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kb(pid)
        stack.extend(tree.get(pid, []))
    return total


def timed_with_memory(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """(seconds, peak PSS in KiB of the process and all its descendants)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_kb(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{output}")
    return elapsed, peak


def make_projects(work: Path, count: int) -> list[Path]:
    """COUNT baked projects: different names and scripts, the same requirements."""
    projects = []
    for index in range(count):
        project = bake(work / "bake" / f"{index:02d}", "dataframe")
        named = work / "repo" / f"model_{index:02d}"
        named.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(project), named)
        (named / "model.yaml").write_text(
            (named / "model.yaml").read_text().replace(project.name, f"model-{index:02d}")
        )
        script = named / "model.py"
        script.write_text(script.read_text() + f"\nMODEL_NUMBER = {index}\n")
        projects.append(named)
    shutil.rmtree(work / "bake")
    return projects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement [3]")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mfc-bench-many-"))
    try:
        projects = make_projects(work, max(SIZES))
        env = {**os.environ, "MFC_VALIDATOR_CACHE": str(work / "cache")}
        env.pop("MLFLOW_TRACKING_URI", None)
        bin_dir = environment(work, projects[0], env)
        env["PATH"] = str(bin_dir) + os.pathsep + env["PATH"]
        validator = str(bin_dir / "mfc-validator")
        repo = projects[0].parent
        # warm: the environment cache, each project's store, uv's package cache; not timed
        timed([validator, "validate", "--all"], repo, env)
        sequential = []
        for _ in range(args.runs):
            single = [timed([validator, "validate", str(p)], repo, env) for p in projects]
            sequential.append(sum(single))
        batches: dict[int, list[tuple[float, int]]] = {size: [] for size in SIZES}
        for _ in range(args.runs):
            for size in SIZES:
                # --shard 1/1 makes even one project a batch: the same machinery at every size
                chosen = [str(project) for project in projects[:size]]
                batch = [validator, "validate", *chosen, "--shard", "1/1"]
                batches[size].append(timed_with_memory(batch, repo, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cores = os.cpu_count()
    print(f"whole-process seconds over {args.runs} runs (median), {cores} cores, warm caches")
    seq = statistics.median(sequential)
    print(f"  10 sequential `validate PROJECT` processes: {seq:6.2f}")
    medians = {size: statistics.median(t for t, _ in batches[size]) for size in SIZES}
    for size in SIZES:
        peak = max(memory for _, memory in batches[size]) / 1024
        print(
            f"  `validate` over {size:2d} projects: {medians[size]:6.2f}  peak PSS {peak:4.0f} MiB"
        )
    print(f"ratio, 10 together / 10 sequential: {medians[10] / seq:.2f}")
    print(f"each project past the first: {(medians[10] - medians[1]) / 9:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
