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
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-nopyc-") as tmp:
        target = Path(tmp)
        _copy_layer_sources(python, layer_site, target)
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
        "  + SecretsProvider() + delivery record store (write path, before any I/O)",
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
                _run_script(
                    python, COMPONENT_SCRIPT, {**env, "BENCH_CODE": code, "BENCH_RESULT": str(result)}, tmp,
                    what=f"component {label!r}",
                )  # fmt: skip
                if round_no:
                    samples[label].append(float(result.read_text()))
    return [(label, statistics.median(samples[label])) for label, _ in COMPONENTS]


# ---- each function's import graph ----------------------------------------------------------------

IMPORTS_SCRIPT = """
import json, os, sys, time
before = set(sys.modules)
t0 = time.perf_counter()
__import__(os.environ["BENCH_MODULE"])
elapsed = (time.perf_counter() - t0) * 1e3
loaded = sorted(set(sys.modules) - before)
with open(os.environ["BENCH_RESULT"], "w") as out:
    json.dump({"import_ms": elapsed, "modules": loaded}, out)
"""


@dataclass
class ImportGraph:
    """What `import functions.<name>.app` loads in a fresh process, and how long it takes."""

    function: str
    vendor: str | None  # the function's own vendor (None: none, or any for the replay worker)
    import_ms: list[float]
    modules: list[str]

    @property
    def leadhooks_modules(self) -> list[str]:
        return [m for m in self.modules if m == "leadhooks" or m.startswith("leadhooks.")]

    def loaded(self, package: str) -> bool:
        return any(m == package or m.startswith(f"{package}.") for m in self.modules)

    @property
    def vendor_packages(self) -> list[str]:
        return sorted(
            {
                m.split(".")[2]
                for m in self.leadhooks_modules
                if m.startswith("leadhooks.vendors.") and m.count(".") >= 2
            }
            - {"common", "model_base", "normalise"}
        )

    @property
    def problems(self) -> list[str]:
        found = [f"imports {v}" for v in self.vendor_packages if self.vendor is not None and v != self.vendor]
        found += [f"imports {p}" for p in ("leadhooks_ops", "leadhooks.ops") if self.loaded(p)]
        found += [f"imports {p} at import" for p in ("phonenumbers", "stdnum", "boto3") if self.loaded(p)]
        return found


def measure_imports(
    python: str, functions: list[tuple[str, str | None]], product_env: dict[str, str], runs: int
) -> list[ImportGraph]:
    """`runs` fresh processes per function (after one discarded run that writes the .pyc files)."""
    env = child_env(product_env)
    graphs: list[ImportGraph] = []
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        result = Path(tmp) / "result.json"
        for name, vendor in functions:
            times: list[float] = []
            modules: list[str] = []
            for run_no in range(runs + 1):
                module = f"functions.{name}.app"
                _run_script(
                    python, IMPORTS_SCRIPT, {**env, "BENCH_MODULE": module, "BENCH_RESULT": str(result)}, tmp,
                    what=f"import of {module}",
                )  # fmt: skip
                data = json.loads(result.read_text())
                modules = data["modules"]
                if run_no:
                    times.append(data["import_ms"])
            graphs.append(ImportGraph(name, vendor, times, modules))
    return graphs


# ---- the layer's bytecode: .py + __pycache__ (today) vs sourceless .pyc only -----------------------


def _run_script(python: str, script: str, env: dict[str, str], cwd: str, *, what: str) -> None:
    """One fresh `python -c script` that writes its result to BENCH_RESULT; its stderr on failure."""
    proc = subprocess.run(
        [python, "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-2000:]}")


def _copy_layer_sources(python: str, layer_site: Path, target: Path) -> None:
    """The layer's packages as sources (this machine's builds of the same pins, from the bench venv)
    plus leadhooks, without any __pycache__."""
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(purelib)
    no_cache = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in layer_packages(layer_site):
        source = site / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=no_cache)
        elif source.is_file():
            shutil.copy2(source, target / name)
    shutil.copytree(REPO / "shared" / "leadhooks", target / "leadhooks", ignore=no_cache)


def _layer_copy(python: str, layer_site: Path, target: Path, *, sourceless: bool) -> int:
    """The layer's packages (this machine's builds of the same pins, from the bench venv) plus leadhooks,
    compiled by the measured Python as layers/leadhooks/Makefile compiles them; returns the bytes."""
    _copy_layer_sources(python, layer_site, target)
    shutil.rmtree(target / "leadhooks" / "ops", ignore_errors=True)
    args = ["-b"] if sourceless else ["--invalidation-mode", "unchecked-hash"]
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", *args, str(target)], check=True)
    if sourceless:
        for source_file in target.rglob("*.py"):
            source_file.unlink()
    return sum(f.stat().st_size for f in target.rglob("*") if f.is_file())


@dataclass
class LayerVariants:
    with_sources: list[ColdRun]
    sourceless: list[ColdRun]
    baseline: list[ColdRun]
    with_sources_bytes: int
    sourceless_bytes: int


def measure_layer_variants(
    python: str, spec: FunctionSpec, product_env: dict[str, str], layer_site: Path, runs: int
) -> LayerVariants:
    """Cold runs of `spec` from two copies of the layer, interleaved with baseline runs: (1) sources
    with their .pyc in __pycache__ (the layer as built today), (2) sourceless: `compileall -b`, then
    every .py deleted. Bytecode writing is off, as on Lambda's read-only /opt."""
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-layer-") as tmp:
        regular, sourceless = Path(tmp) / "regular", Path(tmp) / "sourceless"
        regular.mkdir()
        sourceless.mkdir()
        regular_bytes = _layer_copy(python, layer_site, regular, sourceless=False)
        sourceless_bytes = _layer_copy(python, layer_site, sourceless, sourceless=True)
        envs = {
            name: child_env(
                product_env, {"PYTHONPATH": f"{path}{os.pathsep}{REPO}", "PYTHONDONTWRITEBYTECODE": "1"}
            )
            for name, path in (("regular", regular), ("sourceless", sourceless))
        }
        event = sample_event(spec)[0]
        baseline_env = child_env(product_env)
        out = LayerVariants([], [], [], regular_bytes, sourceless_bytes)
        for round_no in range(runs + 1):
            order = ["regular", "sourceless", "baseline"]
            order = order[round_no % 3 :] + order[: round_no % 3]
            for which in order:
                if which == "baseline":
                    run = run_cold(python, spec.baseline_handler, fresh(event), baseline_env)[0]
                else:
                    run = run_cold(python, spec.handler, fresh(event), envs[which])[0]
                if round_no:
                    {"regular": out.with_sources, "sourceless": out.sourceless, "baseline": out.baseline}[
                        which
                    ].append(run)
        return out
