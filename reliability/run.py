"""`python -m reliability.run [--quick] [--only soak,storm,...]`: the reliability suite (docs/reliability.md).

Starts one local stack (moto, vendor sandbox, API) on free loopback ports, runs each scenario on a
clean stack (`RunningStack.reset()`), prints one table, writes it to `.reliability/report.md`, and
exits 1 if any scenario broke an invariant. The product's own log lines (thousands, JSON) go to
`.reliability/stack.log`, not to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from reliability import writes
from reliability.accounting import format_table
from reliability.common import Row

SCENARIOS = (
    "soak",
    "storm",
    "burst",
    "hostile",
    "auth",
    "privacy",
    "lost_answers",
    "killed_api",
    "store_fault",
    "no_credentials",
    "oversized",
)
TITLES = {
    "soak": "fault soak",
    "storm": "redelivery storm",
    "burst": "burst (pacing)",
    "hostile": "hostile input",
    "auth": "authentication",
    "privacy": "privacy",
    "lost_answers": "lost answers",
    "killed_api": "killed API process",
    "store_fault": "store fault after vendor",
    "no_credentials": "no credentials (signed)",
    "oversized": "oversized signed bodies",
}
# In-request retries quick and bounded, replays immediate: faults cost seconds, not minutes.
SUITE_ENV = {
    "HTTP_BACKOFF_BASE_S": "0.01",
    "HTTP_READ_TIMEOUT_S": "1",
    "HTTP_BUDGET_S": "4",
    "RETRY_AFTER_CAP_S": "0.2",
    "REPLAY_BACKOFF_S": "0,0,0,0,0",
    # The fault scenarios test faults, not pacing: a generous default budget per customer (the burst
    # scenario sets its customers' limits in the secret, as an operator would).
    "PACING_DEFAULT_RPS": "100",
}
OUT_DIR = Path(".reliability")
# The whole run's wall-clock cap (full, quick); each scenario also caps its own loops.
SUITE_CAP_S = {False: 25 * 60.0, True: 5 * 60.0}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (the setting `make test` uses)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all of {','.join(SCENARIOS)})",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where report.md and stack.log go")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop the whole run (exit 1) after this long (default 25, quick 5)",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in str(args.only).split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown or not chosen:
        parser.error(f"--only takes names from {','.join(SCENARIOS)}; got {args.only!r}")
    args.scenarios = [name for name in SCENARIOS if name in chosen]
    return args


@contextlib.contextmanager
def product_output_to(log_path: Path) -> Iterator[IO[str]]:
    """Send file descriptors 1 and 2 (the product's log handlers write there) to `log_path`.

    Yields a stream on the original stdout for the suite's own output. fd-level, so anything a
    scenario captures itself (e.g. by dup2 over fd 1) still works inside.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8")
    with log_path.open("w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            console.close()


def run_scenario(name: str, stack: object, quick: bool, log: IO[str]) -> list[Row]:
    """Import `reliability.<name>` and run it; a missing module is a skipped row, a crash a failed one."""
    module_name = f"reliability.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return [Row(scenario=TITLES[name], notes=f"skipped: {module_name} does not exist yet")]
    started = time.monotonic()
    try:
        rows = list(module.run(stack, quick))
    except Exception as exc:
        log.write(traceback.format_exc())
        row = Row(scenario=TITLES[name], seconds=time.monotonic() - started)
        row.failures.append(f"crashed: {type(exc).__name__}: {str(exc)[:300]} (traceback in stack.log)")
        return [row]
    rows = rows or [Row(scenario=TITLES[name], notes="no rows returned")]
    bound_rows = [row for row in rows if row.max_writes is None]
    if bound_rows and hasattr(stack, "records"):  # the scenario did not count writes itself
        records = stack.records()
        for row in bound_rows:
            writes.check(row, records)
    return rows


def render(rows: Sequence[Row], command: str, summary: str) -> str:
    """The report: the command, the table, then every broken invariant (or that none broke)."""
    failures = [(row.scenario, failure) for row in rows for failure in row.failures]
    lines = [f"$ {command}", "", format_table(rows), ""]
    if failures:
        lines.append(f"FAILED: {len(failures)} broken invariant(s)")
        lines.extend(f"- {scenario}: {failure}" for scenario, failure in failures)
    else:
        lines.append(f"all invariants held ({summary})")
    return "\n".join(lines) + "\n"


class Watchdog:
    """The suite's own wall-clock cap: past it, write what is known, say which scenario hung, exit 1.

    Every scenario has its own caps; this catches one that does not keep them (a hung socket, a
    deadlock), so `make test` in CI always ends.
    """

    def __init__(self, cap_s: float, rows: list[Row], command: str, out: Path, console: IO[str]) -> None:
        self.rows, self.command, self.out, self.console = rows, command, out, console
        self.current = "startup"
        self.cap_s = cap_s
        self._timer = threading.Timer(cap_s, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        hung = Row(scenario=TITLES.get(self.current, self.current), seconds=self.cap_s)
        hung.failures.append(f"the suite's wall-clock cap ({self.cap_s:.0f} s) was reached here; run stopped")
        report = render([*self.rows, hung], self.command, "")
        with contextlib.suppress(OSError):
            (self.out / "report.md").write_text(report, encoding="utf-8")
            self.console.write(report)
            self.console.flush()
        os._exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    mode = "quick" if args.quick else "full"
    command = " ".join(["python -m reliability.run", *(argv if argv is not None else sys.argv[1:])])
    cap_s = float(args.max_minutes) * 60 if args.max_minutes else SUITE_CAP_S[bool(args.quick)]
    rows: list[Row] = []
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    with (
        product_output_to(out / "stack.log") as console,
        Watchdog(cap_s, rows, command, out, console) as watchdog,
    ):
        from local.stack import running_stack

        print(f"reliability ({mode}): starting the local stack on loopback", file=console)
        with running_stack(SUITE_ENV) as stack:
            for name in args.scenarios:
                watchdog.current = name
                print(f"reliability: {name} ...", file=console)
                stack.reset()
                try:
                    scenario_rows = run_scenario(name, stack, args.quick, sys.stderr)
                except Exception as exc:  # an import error inside a scenario module
                    traceback.print_exc()
                    row = Row(scenario=TITLES[name])
                    row.failures.append(f"could not load reliability.{name}: {type(exc).__name__}: {exc}")
                    scenario_rows = [row]
                for row in scenario_rows:
                    verdict = "FAILED" if row.failures else "ok"
                    print(f"reliability: {row.scenario}: {row.seconds:.1f} s, {verdict}", file=console)
                rows.extend(scenario_rows)
            watchdog.current = "shutdown"
    report = render(rows, command, f"{mode}, {time.monotonic() - started:.0f} s")
    (out / "report.md").write_text(report, encoding="utf-8")
    sys.stdout.write(report)
    sys.stdout.write(f"(written to {out / 'report.md'}; product log in {out / 'stack.log'})\n")
    return 1 if any(row.failures for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
