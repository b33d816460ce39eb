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
    (ROOT / ".local-data").mkdir(exist_ok=True)
    py = sys.executable
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, args: list[str]) -> None:
        # Own session: Ctrl-C reaches only this orchestrator, which then stops the children in order.
        proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - our commands
        procs.append((name, proc))

    def stop(signum: int, _frame: object) -> None:
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
                str(ROOT / ".local-data" / "sandbox.db"),
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
        )
        start("replay", [py, "-m", "local.replay_worker"])
        wait_until_up(f"http://127.0.0.1:{api_port}/")
        print(
            f"\nleadhooks is running:\n"
            f"  API             http://127.0.0.1:{api_port}   (x-api-key: {config.API_KEY})\n"
            f"  vendor sandbox  http://127.0.0.1:{sandbox_port}  (/_sandbox/records, /_sandbox/faults)\n"
            f"  AWS emulator    http://127.0.0.1:{aws_port}   (moto: secrets, queues, idempotency table)\n"
            f"  replay worker   polling {config.FAILURE_QUEUE}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(
                        f"leadhooks: the {name} process exited with code {proc.returncode}", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nleadhooks: stopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"leadhooks: {exc}", file=sys.stderr)
        return 1
    finally:
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 5
        for _, proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
