"""`python -m local.sandbox`: the vendor sandbox in the foreground, stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
from types import FrameType

from local.sandbox.faults import FaultConfigError
from local.sandbox.server import DEFAULT_DB, DEFAULT_HOST, DEFAULT_PORT, build_server


def _default_port() -> int:
    raw = os.environ.get("LEADHOOKS_SANDBOX_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"sandbox: LEADHOOKS_SANDBOX_PORT must be a port number, got {raw!r}") from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.sandbox",
        description="Vitec (at /) and Omnicasa (at /omnicasa) vendor sandbox for the local stack.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=None,
        help=f"port (default $LEADHOOKS_SANDBOX_PORT, else {DEFAULT_PORT})",
    )  # fmt: skip
    parser.add_argument(
        "--db", default=DEFAULT_DB,
        help=f"SQLite file, wiped on start; ':memory:' keeps it in memory (default {DEFAULT_DB})",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no line per request (make run's default)")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    port = args.port if args.port is not None else _default_port()
    try:
        faults = json.loads(os.environ.get("SANDBOX_FAULTS") or "{}")
        server = build_server(args.host, port, args.db, faults, log=not args.quiet)
    except json.JSONDecodeError as exc:
        print(f"sandbox: SANDBOX_FAULTS is not valid JSON ({exc.msg})", file=sys.stderr)
        return 1
    except FaultConfigError as exc:
        print(f"sandbox: SANDBOX_FAULTS is invalid ({exc})", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"sandbox: port {port} on {args.host} is already in use"
                " (stop the other process, or pick another with --port / LEADHOOKS_SANDBOX_PORT)",
                file=sys.stderr,
            )
        else:
            print(
                f"sandbox: cannot listen on {args.host}:{port} or open {args.db} ({exc.strerror})",
                file=sys.stderr,
            )
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    bound = server.server_address[1]
    if not args.quiet:
        print(
            f"sandbox: Vitec at http://{args.host}:{bound}, Omnicasa at http://{args.host}:{bound}/omnicasa,"
            f" inspection at /_sandbox (db {args.db}); Ctrl-C stops",
            flush=True,
        )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.app.close()
    if not args.quiet:
        print("sandbox: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
