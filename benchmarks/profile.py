"""Where a cold start or a warm request spends its time: cProfile in a fresh bench-venv process.

    .venv/bin/python -m benchmarks.profile vitec_person_lead [--warm] [--baseline] [--top 30]

Cold (default): profiles the handler import plus the first request, as `make bench` times them.
--warm: profiles 200 warm requests after one warm-up. Starts and stops its own local stack.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.cold import child_env
from benchmarks.events import BY_NAME, REPO, fresh, sample_event
from benchmarks.stack import local_stack

PROFILE_SCRIPT = """
import cProfile, json, os, pstats, sys
sys.path.insert(0, os.environ["BENCH_REPO"])
from benchmarks.events import LambdaContext, fresh
events = json.loads(os.environ["BENCH_EVENT"])
module_name, _, attr = os.environ["BENCH_HANDLER"].partition(":")
warm = os.environ["BENCH_WARM"] == "1"
profiler = cProfile.Profile()
if warm:
    handler = getattr(__import__(module_name, fromlist=[attr]), attr)
    handler(fresh(events), LambdaContext())
    batch = [fresh(events) for _ in range(200)]
    profiler.enable()
    for event in batch:
        handler(event, LambdaContext())
    profiler.disable()
else:
    profiler.enable()
    handler = getattr(__import__(module_name, fromlist=[attr]), attr)
    handler(events, LambdaContext())
    profiler.disable()
out = open(os.environ["BENCH_RESULT"], "w")
stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(os.environ["BENCH_SORT"])
stats.print_stats(int(os.environ["BENCH_TOP"]))
out.close()
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("function", choices=sorted(BY_NAME))
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="profile the naive baseline handler instead")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime, ...)")
    parser.add_argument("--bench-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    args = parser.parse_args(argv)
    spec = BY_NAME[args.function]
    handler = spec.baseline_handler if args.baseline else spec.handler
    python = os.path.abspath(args.bench_python)  # noqa: PTH100 - not resolve(): the venv python is a symlink
    with local_stack() as stack, tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        result = Path(tmp) / "profile.txt"
        env = child_env(
            stack.product_env(),
            {
                "BENCH_REPO": str(REPO),
                "BENCH_EVENT": json.dumps(fresh(sample_event(spec)[0])),
                "BENCH_HANDLER": handler,
                "BENCH_WARM": "1" if args.warm else "0",
                "BENCH_RESULT": str(result),
                "BENCH_TOP": str(args.top),
                "BENCH_SORT": args.sort,
            },
        )
        proc = subprocess.run(
            [python, "-c", PROFILE_SCRIPT],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        print(result.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
