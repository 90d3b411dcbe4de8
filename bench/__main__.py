"""``python -m bench [SCENARIO ...] [--json]``: run scenarios, print one result per line.

Each result is ``{"scenario", "metric", "value", "unit", "baseline", "ratio", "target"}``.
The baseline is measured in the same run, so the ratio holds up on a shared, noisy machine
where absolute times do not.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.results import line
from bench.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"any of: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        print(
            f"bench: unknown scenario {unknown[0]!r} (known: {', '.join(SCENARIOS)})",
            file=sys.stderr,
        )
        return 2
    results = []
    for name in args.scenarios or list(SCENARIOS):
        for result in SCENARIOS[name]():
            results.append(result)
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                print(line(result), flush=True)
    missed = [r for r in results if r.get("met") is False]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
