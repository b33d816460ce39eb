"""Cold first request: a fresh interpreter imports a handler and handles one event end to end.

Each run is a new `python -c` process from the bench venv (runtime dependencies only), so every
import is paid again, as in a new Lambda execution environment. The process times, from just
before the handler import to the handler's answer, (1) the import and (2) import + first request.
Interpreter start-up (~20 ms, the same for every handler) is outside both figures.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.events import REPO, FunctionSpec, fresh, sample_event

# Runs in the measured process. Only json/os/sys/time are imported before the clock starts.
COLD_SCRIPT = """
import json, os, sys, time
event = json.loads(os.environ["BENCH_EVENT"])
module_name, _, attr = os.environ["BENCH_HANDLER"].partition(":")

class Context:
    function_name = "leadhooks-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:leadhooks-bench"
    aws_request_id = "bench-cold"
    log_group_name = "/aws/lambda/leadhooks-bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 28000

t0 = time.perf_counter()
module = __import__(module_name, fromlist=[attr])
t1 = time.perf_counter()
response = getattr(module, attr)(event, Context())
t2 = time.perf_counter()
if "statusCode" in response:
    status, body = response["statusCode"], str(response.get("body"))[:500]
else:
    failures = response.get("batchItemFailures")
    status, body = (200 if failures == [] else 500), json.dumps(response)[:500]
with open(os.environ["BENCH_RESULT"], "w") as out:
    json.dump({"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t0) * 1e3,
               "status": status, "body": body}, out)
"""


@dataclass
class ColdRun:
    import_ms: float
    first_ms: float
    status: int
    body: str


@dataclass
class ColdResult:
    spec: FunctionSpec
    source: str
    runs: list[ColdRun] = field(default_factory=list)
    baseline: list[ColdRun] = field(default_factory=list)

    @property
    def import_ms(self) -> float:
        return statistics.median(r.import_ms for r in self.runs)

    @property
    def first_ms(self) -> float:
        return statistics.median(r.first_ms for r in self.runs)

    @property
    def baseline_import_ms(self) -> float:
        return statistics.median(r.import_ms for r in self.baseline)

    @property
    def baseline_ms(self) -> float:
        return statistics.median(r.first_ms for r in self.baseline)

    @property
    def ratio(self) -> float:
        return self.first_ms / self.baseline_ms

    @property
    def failures(self) -> list[str]:
        bad = [f"{self.spec.name}: {r.status} {r.body}" for r in self.runs if r.status >= 300]
        bad += [
            f"baseline for {self.spec.name}: {r.status} {r.body}" for r in self.baseline if r.status >= 300
        ]
        return bad


def child_env(product_env: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no inherited PYTHON* settings, only what a Lambda function would get."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        **product_env,
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'shared'}",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **(extra or {}),
    }


def run_cold(
    python: str, handler: str, event: dict[str, Any], env: dict[str, str], *, importtime: bool = False
) -> tuple[ColdRun, str]:
    """One fresh process; returns its measurement and (with importtime) its -X importtime log."""
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        args = [python, *(["-X", "importtime"] if importtime else []), "-c", COLD_SCRIPT]
        proc = subprocess.run(
            args,
            env={
                **env,
                "BENCH_EVENT": json.dumps(event),
                "BENCH_HANDLER": handler,
                "BENCH_RESULT": str(result_path),
            },
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"cold run of {handler} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        data = json.loads(result_path.read_text())
    return ColdRun(**data), proc.stderr


def measure_cold(
    python: str, specs: list[FunctionSpec], product_env: dict[str, str], rounds: int, progress: Any = None
) -> list[ColdResult]:
    """`rounds` fresh processes per function and per baseline, interleaved so drift hits both alike.

    One discarded round first writes the .pyc files and warms the emulator's code paths.
    """
    env = child_env(product_env)
    results = {spec.name: ColdResult(spec, sample_event(spec)[1]) for spec in specs}
    events = {spec.name: sample_event(spec)[0] for spec in specs}
    for round_no in range(rounds + 1):
        for index, spec in enumerate(specs):
            pair = [
                (spec.handler, results[spec.name].runs),
                (spec.baseline_handler, results[spec.name].baseline),
            ]
            if (round_no + index) % 2:
                pair.reverse()
            for handler, sink in pair:
                run, _ = run_cold(python, handler, fresh(events[spec.name]), env)
                if round_no > 0:
                    sink.append(run)
        if progress:
            progress(f"cold starts: round {round_no}/{rounds} done")
    return list(results.values())


def importtime_by_package(log: str) -> dict[str, float]:
    """Sum `-X importtime` self times (ms) by top-level package."""
    totals: dict[str, float] = defaultdict(float)
    for line in log.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            _, self_us, _cumulative, name = (
                part.strip() for part in line.replace("import time:", "|").split("|")
            )
        except ValueError:
            continue
        totals[name.split(".")[0]] += int(self_us) / 1000
    return dict(totals)


def importtime_top(
    python: str, spec: FunctionSpec, handler: str, product_env: dict[str, str], top: int = 10
) -> tuple[list[tuple[str, float]], float]:
    """Top packages by import time over import + first request (lazy imports included)."""
    _, log = run_cold(python, handler, fresh(sample_event(spec)[0]), child_env(product_env), importtime=True)
    totals = importtime_by_package(log)
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return ranked[:top], sum(totals.values())


def layer_packages(layer_site: Path) -> list[str]:
    """Top-level names the built layer ships (from .aws-sam/build/LeadhooksLayer/python)."""
    skip = {"bin", "leadhooks", "__pycache__"}
    return sorted(
        p.name for p in layer_site.iterdir() if p.name not in skip and not p.name.endswith(".dist-info")
    )


def measure_without_pyc(
    python: str, spec: FunctionSpec, product_env: dict[str, str], layer_site: Path, runs: int
) -> tuple[list[ColdRun], list[ColdRun]]:
    """Cold runs with the layer's modules as `sam build` ships them: sources only, no .pyc.

    /opt is read-only in Lambda, so such modules are compiled again on every cold start. The
    layer's packages are copied from the bench venv (this machine's builds of the same pins)
    without __pycache__, put first on sys.path, and bytecode writing is switched off.
    Returns those runs and baseline runs interleaved with them (the same drift hits both).
    """
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(purelib)
    no_cache = shutil.ignore_patterns("__pycache__", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-nopyc-") as tmp:
        target = Path(tmp)
        for name in layer_packages(layer_site):
            source = site / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=no_cache)
            elif source.is_file():
                shutil.copy2(source, target / name)
        shutil.copytree(REPO / "shared" / "leadhooks", target / "leadhooks", ignore=no_cache)
        env = child_env(
            product_env, {"PYTHONPATH": f"{target}{os.pathsep}{REPO}", "PYTHONDONTWRITEBYTECODE": "1"}
        )
        event = sample_event(spec)[0]
        baseline_env = child_env(product_env)
        measured: list[ColdRun] = []
        baseline: list[ColdRun] = []
        for _ in range(runs):
            measured.append(run_cold(python, spec.handler, fresh(event), env)[0])
            baseline.append(run_cold(python, spec.baseline_handler, fresh(event), baseline_env)[0])
        return measured, baseline


# What the cold path is made of: each line runs alone in a fresh process (import + construction).
_SECRETS = "from aws_lambda_powertools.utilities import parameters; parameters.SecretsProvider()"
_IDEMPOTENCY = "from leadhooks.deliveries import DeliveryStore; DeliveryStore('t').client"
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("import requests", "import requests"),
    ("import pydantic (BaseModel)", "from pydantic import BaseModel"),
    ("import phonenumbers", "import phonenumbers"),
    ("from stdnum.se import personnummer", "from stdnum.se import personnummer"),
    (
        "Powertools Logger() + Metrics()",
        "from aws_lambda_powertools import Logger, Metrics; Logger(); Metrics()",
    ),
    (
        "APIGatewayRestResolver()",
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; APIGatewayRestResolver()",
    ),
    (
        "APIGatewayRestResolver(enable_validation=True)",
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
        "APIGatewayRestResolver(enable_validation=True)",
    ),
    ("Tracer() (imports aws-xray-sdk)", "from aws_lambda_powertools import Tracer; Tracer()"),
    ("import boto3", "import boto3"),
    ("boto3.client('secretsmanager')", "import boto3; boto3.client('secretsmanager')"),
    ("Powertools parameters.SecretsProvider()", _SECRETS),
    ("delivery record store (DynamoDB client)", _IDEMPOTENCY),
    ("import functions.vitec_person_lead.app", "import functions.vitec_person_lead.app"),
    (
        "  + SecretsProvider() + DynamoDBPersistenceLayer() (write path, before any I/O)",
        f"import functions.vitec_person_lead.app; {_SECRETS}; {_IDEMPOTENCY}",
    ),
    ("import functions.vitec_get_contacts.app", "import functions.vitec_get_contacts.app"),
    (
        "  + SecretsProvider() (read path, before any I/O)",
        f"import functions.vitec_get_contacts.app; {_SECRETS}",
    ),
    ("import benchmarks.baseline_handler", "import benchmarks.baseline_handler"),
)
COMPONENT_SCRIPT = """
import os, sys, time
code = os.environ["BENCH_CODE"]
t0 = time.perf_counter()
exec(code)
elapsed = (time.perf_counter() - t0) * 1e3
with open(os.environ["BENCH_RESULT"], "w") as out:
    out.write(repr(elapsed))
"""


def measure_components(python: str, product_env: dict[str, str], runs: int) -> list[tuple[str, float]]:
    """Median time of each COMPONENTS line in fresh processes (one discarded warm-up round)."""
    env = child_env(product_env)
    samples: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        result = Path(tmp) / "result.txt"
        for round_no in range(runs + 1):
            for label, code in COMPONENTS:
                proc = subprocess.run(
                    [python, "-c", COMPONENT_SCRIPT],
                    env={**env, "BENCH_CODE": code, "BENCH_RESULT": str(result)},
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"component {label!r} failed:\n{proc.stderr[-2000:]}")
                if round_no:
                    samples[label].append(float(result.read_text()))
    return [(label, statistics.median(samples[label])) for label, _ in COMPONENTS]
