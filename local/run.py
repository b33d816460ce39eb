"""`make run`: the whole product on loopback, in the foreground, stopped cleanly by Ctrl-C (DESIGN §9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from local import config
from local.aws import seed, wait_until_up

ROOT = Path(__file__).resolve().parent.parent


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not come up on port {port} within {timeout_s:.0f} s")
        time.sleep(0.1)


def main() -> int:
    api_port, aws_port, sandbox_port = config.ports()
    taken = [
        f"{name} port {port}"
        for name, port, var in (
            ("API", api_port, "LEADHOOKS_API_PORT"),
            ("AWS emulator", aws_port, "LEADHOOKS_AWS_PORT"),
            ("vendor sandbox", sandbox_port, "LEADHOOKS_SANDBOX_PORT"),
        )
        if not port_free(port) and var
    ]
    if taken:
        print(
            f"leadhooks: {', '.join(taken)} already in use on 127.0.0.1. Stop what uses it, or choose other "
            "ports with LEADHOOKS_API_PORT / LEADHOOKS_AWS_PORT / LEADHOOKS_SANDBOX_PORT.",
            file=sys.stderr,
        )
        return 1
    env = {
        **os.environ,
        **config.product_env(aws_port, sandbox_port),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}",
    }
    verbose = config.verbose()
    # Quiet by default: one line per API request (local.api.AccessLog), warnings and errors from the
    # rest. The product's own INFO lines (JSON) come back with `make run VERBOSE=1`.
    api_env = {} if verbose or "POWERTOOLS_LOG_LEVEL" in os.environ else {"POWERTOOLS_LOG_LEVEL": "WARNING"}
    data = config.data_dir(ROOT)
    data.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        # Own session: Ctrl-C reaches only this orchestrator, which then stops the children in order.
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            args, cwd=ROOT, env={**env, **(extra_env or {})}, start_new_session=True
        )
        procs.append((name, proc))

    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)  # also seen by the loop below, should a library swallow the exception
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # explicit: a parent may have started us with SIGINT ignored

    try:
        start("aws", [py, "-m", "local.aws", "-H", "127.0.0.1", "-p", str(aws_port)])  # moto, atomic writes
        start(
            "sandbox",
            [
                py,
                "-m",
                "local.sandbox",
                "--port",
                str(sandbox_port),
                "--db",
                str(data / "sandbox.db"),
                *([] if verbose else ["--quiet"]),
            ],
        )
        wait_until_up(f"http://127.0.0.1:{aws_port}/moto-api/")
        seed(aws_port)
        wait_until_up(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
        start(
            "api",
            [
                py,
                "-m",
                "uvicorn",
                "--factory",
                "local.api:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            api_env,
        )
        start("replay", [py, "-m", "local.replay_worker"])
        wait_for_port(api_port)  # not an HTTP probe: it would be the first line of the access log
        print(
            f"\nleadhooks is running:\n"
            f"  API             http://127.0.0.1:{api_port}   (x-api-key: {config.API_KEY})\n"
            f"  vendor sandbox  http://127.0.0.1:{sandbox_port}  (/_sandbox/records, /_sandbox/faults)\n"
            f"  AWS emulator    http://127.0.0.1:{aws_port}   (moto: secrets, queues, idempotency table)\n"
            f"  replay worker   polling {config.FAILURE_QUEUE}\n"
            + (
                ""
                if verbose
                else "One line per API request; `make run VERBOSE=1` shows every process's log.\n"
            )
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(
                        f"leadhooks: the {name} process exited with code {proc.returncode}", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the shutdown
        print("\nleadhooks: stopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"leadhooks: {exc}", file=sys.stderr)
        return 1
    finally:
        # SIGTERM, not SIGINT: each child stops cleanly on it, and one still importing when Ctrl-C comes
        # ends quietly instead of printing a KeyboardInterrupt traceback.
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
