"""The scenarios. Each returns result dicts; ``met`` says whether the target holds."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import result as _result

REPO = Path(__file__).resolve().parents[1]
CORPUS = [
    REPO / "config" / "resolutions" / "resolution-1244.txt",
    *sorted((REPO / "tests" / "fixtures" / "resolutions").glob("*.md")),
    *sorted((REPO / "tests" / "fixtures" / "resolutions").glob("*.txt")),
]


def _time_for(seconds: float, work: Callable[[], int]) -> float:
    """Items per second of ``work`` (which returns how many items it did), over ``seconds``."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += work()
    return done / elapsed


def parse() -> list[dict[str, Any]]:
    """Paragraphs parsed per second over the shipped resolution and the test fixtures.

    Baseline: the floor any parser pays, decoding the same bytes and splitting them into
    blank-line-separated blocks.
    """
    from operative.resolution import parse_bytes

    texts = [(str(path), path.read_bytes()) for path in CORPUS if path.is_file()]
    per_pass = sum(
        len(r.preambular) + len(r.operative) for r in (parse_bytes(d, source=s) for s, d in texts)
    )

    def parse_all() -> int:
        for source, data in texts:
            parse_bytes(data, source=source)
        return per_pass

    def split_all() -> int:
        for _source, data in texts:
            [block for block in data.decode("utf-8").split("\n\n") if block.strip()]
        return per_pass

    value = _time_for(2.0, parse_all)
    baseline = _time_for(1.0, split_all)
    return [
        _result(
            "parse",
            "paragraphs_per_second",
            value,
            "paragraphs/s",
            baseline=baseline,
            target=">= 2000 paragraphs/s",
            met=value >= 2000,
        )
    ]


def _wall(argv: list[str], runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_startup() -> list[dict[str, Any]]:
    """Median wall time of ``operative --help``; baseline: a bare Python interpreter start."""
    runs = 7
    value = _wall([sys.executable, "-m", "operative", "--help"], runs)
    baseline = _wall([sys.executable, "-c", "pass"], runs)
    return [
        _result(
            "cli-startup",
            "help_wall_time_median",
            value,
            "s",
            baseline=baseline,
            target="< 0.5 s",
            met=value < 0.5,
        )
    ]


def dispatch() -> list[dict[str, Any]]:
    """175 Member States × 2 channels through the outbox, against bare Apprise calls."""
    from bench.dispatch import run

    return run()


def demo() -> list[dict[str, Any]]:
    """Wall time of ``operative demo`` on a fresh data dir, Prefect start included.

    Baseline: starting and stopping the local Prefect server on a fresh data dir alone, the
    floor every demo run pays.
    """
    import tempfile

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PREFECT_API_URL", None)
    with tempfile.TemporaryDirectory(prefix="operative-bench-") as scratch:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "operative", "demo", "--data-dir", f"{scratch}/demo"],
            check=True,
            capture_output=True,
            env=env,
        )
        value = time.perf_counter() - start
        probe = (
            "import sys; from pathlib import Path; from flows._prefect.runtime import prefect_api\n"
            "with prefect_api(Path(sys.argv[1])):\n    pass\n"
        )
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", probe, f"{scratch}/server-only"],
            check=True,
            capture_output=True,
            env=env,
        )
        baseline = time.perf_counter() - start
    return [
        _result(
            "demo",
            "wall_time",
            value,
            "s",
            baseline=baseline,
            target="<= 60 s",
            met=value <= 60,
        )
    ]


def sweep() -> list[dict[str, Any]]:
    """100,000 obligations and submissions, 1,000 due: find and enqueue the due reminders."""
    from bench.sweep import run

    return run()


def web() -> list[dict[str, Any]]:
    """Dashboard pages under 20 concurrent signed-in clients on a register of 1,000,000
    audit events; baseline: the same clients on ``/healthz``."""
    from bench.web import run

    return run()


SCENARIOS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "parse": parse,
    "cli-startup": cli_startup,
    "dispatch": dispatch,
    "demo": demo,
    "sweep": sweep,
    "web": web,
}
