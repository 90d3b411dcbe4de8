"""What every scenario shares: the shape of a result, how it is printed, and a scratch
environment for the settings a scenario points elsewhere.

The scenario modules import this one and nothing of each other, so there is no circle
between ``bench.scenarios`` and the modules it runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


def result(
    scenario: str,
    metric: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    target: str | None = None,
    met: bool | None = None,
) -> dict[str, Any]:
    """One line of ``python -m bench --json``; the ratio is value over the same run's baseline."""
    ratio = round(value / baseline, 3) if baseline else None
    return {
        "scenario": scenario,
        "metric": metric,
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4) if baseline is not None else None,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def line(result: Mapping[str, object]) -> str:
    """A result as a person reads it."""
    parts = [f"{result['scenario']:<12} {result['metric']:<28} {result['value']} {result['unit']}"]
    if result.get("baseline") is not None:
        parts.append(f"baseline {result['baseline']} {result['unit']}, ratio {result['ratio']}")
    if result.get("target"):
        parts.append(f"target {result['target']} ({'met' if result.get('met') else 'MISSED'})")
    return "  ".join(parts)


def _put(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (a string) or unset (None) environment variables for a block, then put back what
    was there, and make operative read its settings afresh on both sides."""
    from operative.core.settings import get_settings

    saved = {name: os.environ.get(name) for name in values}
    try:
        _put(values)
        get_settings.cache_clear()
        yield
    finally:
        _put(saved)
        get_settings.cache_clear()
