"""Run every benchmark in turn: `./go bench` (add --quick for a short smoke run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "bench_matcher.py",
    "bench_ingest.py",
    "bench_analysis.py",
    "bench_sentiment.py",
    "bench_alerts.py",
    "bench_web.py",
    "bench_inbox.py",
    "bench_people.py",
]


def main() -> int:
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    failed = 0
    for name in BENCHMARKS:
        print(f"\n=== {name} {' '.join(quick)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / name), *quick]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
