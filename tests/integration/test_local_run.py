"""`make run` stays readable: `python -m local.run` on free loopback ports prints its banner and one
line per API request (method, route, status, deliveryId, ms), nothing per emulator poll or sandbox
call, and a Ctrl-C stops everything with exit status 0 and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


def test_make_run_prints_one_line_per_request_and_stops_cleanly(tmp_path: Path) -> None:
    api, aws, sandbox = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "LEADHOOKS_API_PORT": str(api),
        "LEADHOOKS_AWS_PORT": str(aws),
        "LEADHOOKS_SANDBOX_PORT": str(sandbox),
        "LEADHOOKS_DATA_DIR": str(tmp_path / "data"),  # not the developer's .local-data
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("LEADHOOKS_VERBOSE", None)
    env.pop("POWERTOOLS_LOG_LEVEL", None)
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while "Press Ctrl-C to stop." not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "make run did not start"
                time.sleep(0.2)
            ids = []
            for n in range(3):
                answer = requests.post(
                    f"http://127.0.0.1:{api}/vitec/person-leads?customerId=M10001",
                    json={
                        "person": {"firstName": f"Quiet{n}"},
                        "leadSource": {"leadType": "AcceptObjectFlow", "name": "test"},
                    },
                    headers={"x-api-key": "local-api-key"},
                    timeout=30,
                )
                assert answer.status_code == 200, answer.text
                ids.append(answer.json()["deliveryId"])
            refused = requests.post(f"http://127.0.0.1:{api}/vitec/person-leads", json={}, timeout=30)
            assert refused.status_code == 401
            ids.append(refused.json()["deliveryId"])
            time.sleep(3)  # the replay worker polls the emulator every second meanwhile
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    output = log.read_text(errors="replace")
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 0, output
    assert "Traceback" not in output
    request_lines = [line for line in lines if " api " in line]
    assert len(request_lines) == 4, output
    for delivery_id, line in zip(ids, request_lines, strict=True):
        assert delivery_id in line and "/vitec/person-leads" in line and line.endswith(" ms")
    assert " 401 " in request_lines[-1]
    # The banner (8 lines), four request lines and "stopping": no emulator or sandbox chatter.
    assert len(lines) <= 14, output
    assert "HTTP/1.1" not in output and "sandbox:" not in output
    assert "customerId=M10001" not in output, "routes are logged without their query string"
