"""`make bench`: cold start, warm relay overhead, contacts fan-out, package size and memory.

    .venv/bin/python -m benchmarks.run --bench-python .venv-bench/bin/python [--quick] [--no-build]

Starts moto and the vendor sandbox on free loopback ports in this process, runs every measured
handler in fresh processes of the bench venv, prints one table of ratios (absolute medians
alongside) and writes the same tables as Markdown and JSON to .bench/. Prints numbers; never
fails on a missed target (the machine is noisy), only when a measurement itself goes wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.cold import (
    ColdResult,
    child_env,
    importtime_top,
    measure_cold,
    measure_components,
    measure_imports,
    measure_layer_variants,
    measure_without_pyc,
)
from benchmarks.events import BY_NAME, CUSTOMER_ID, FUNCTIONS, REPO
from benchmarks.package import BUILD_DIR, PackageReport, measure_packages
from benchmarks.report import Table, kib, mb, met, ms, percentile, ratio
from benchmarks.stack import Stack, local_stack

COLD_TARGET = 0.5
WARM_TARGET = 1.15  # handler p50 vs the design's floor (direct post + record calls)
WARM_SLOW_TARGET = 1.05  # the same with the vendor 100 ms away
FANOUT_TARGET = 1.3
# Issue 14: the delivery record's 2 calls (PutItem + UpdateItem), plus at most one pacing round trip
# per five deliveries.
PACING_TARGET_CALLS = 2.2
LAYER_LIMIT_BYTES = 5_000_000
MEMORY_GROWTH_LIMIT_KB = 2048  # peak RSS may not grow by more than 2 MiB from request 100 to 1,000
SECTIONS = (
    "cold",
    "imports",
    "importtime",
    "components",
    "warm",
    "pacing",
    "fanout",
    "memory",
    "burst",
    "package",
)


@dataclass
class Options:
    bench_python: str
    cold_rounds: int
    component_runs: int
    warm_n: int
    warm_warmup: int
    warm_latency_ms: int
    warm_latency_n: int
    split_n: int
    pacing_n: int
    fanout_reps: int
    fanout_latency_ms: int
    memory_n: int
    allow_build: bool
    force_build: bool
    sections: tuple[str, ...]
    out: Path
    quick: bool = False


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (a smoke run, not for the doc)"
    )
    parser.add_argument("--cold-rounds", type=int, help="fresh processes per function and baseline (7)")
    parser.add_argument("--warm-n", type=int, help="warm requests per side (300)")
    parser.add_argument("--fanout-reps", type=int, help="repetitions of each fan-out case (5)")
    parser.add_argument("--memory-n", type=int, help="requests in the memory run (1000)")
    parser.add_argument("--no-build", action="store_true", help="never run `make sam-build`")
    parser.add_argument("--build", action="store_true", help="run `make sam-build` first, even if built")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--out", default=str(REPO / ".bench"))
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    sections = tuple(s.strip() for s in args.only.split(",")) if args.only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return Options(
        bench_python=os.path.abspath(args.bench_python),  # noqa: PTH100 - resolve() would follow the venv symlink
        cold_rounds=args.cold_rounds or (2 if quick else 7),
        component_runs=2 if quick else 5,
        warm_n=args.warm_n or (60 if quick else 300),
        warm_warmup=10 if quick else 30,
        warm_latency_ms=100,
        warm_latency_n=10 if quick else 40,
        split_n=30 if quick else 100,
        pacing_n=20 if quick else 100,
        fanout_reps=args.fanout_reps or (2 if quick else 5),
        fanout_latency_ms=100,
        memory_n=args.memory_n or (200 if quick else 1000),
        allow_build=not args.no_build,
        force_build=bool(args.build),
        sections=sections,
        quick=quick,
        out=Path(args.out),
    )


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_worker(python: str, stack: Stack, mode: str, config: dict[str, Any]) -> dict[str, Any]:
    """One warm function process (benchmarks.worker) in the bench venv."""
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        config_path, result_path = Path(tmp) / "config.json", Path(tmp) / "result.json"
        config_path.write_text(json.dumps(config))
        proc = subprocess.run(
            [python, "-m", "benchmarks.worker", mode, str(config_path), str(result_path)],
            env=child_env(stack.product_env()),
            cwd=REPO,
            stdout=subprocess.DEVNULL,  # the functions' JSON logs
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"worker {mode} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


# ---- sections ----------------------------------------------------------------------------------


def cold_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    specs = [spec for spec in FUNCTIONS if spec.exists]
    missing = [spec.name for spec in FUNCTIONS if not spec.exists]
    cold = measure_cold(opts.bench_python, specs, stack.product_env(), opts.cold_rounds, progress)
    table = Table(
        f"Cold first request (median of {opts.cold_rounds} fresh processes each)",
        ["function", "import ms", "cold first request ms", "baseline ms", "ratio", "target", "met?"],
    )
    for item in cold:
        ok = item.ratio <= COLD_TARGET
        table.add(
            item.spec.name,
            ms(item.import_ms),
            ms(item.first_ms),
            ms(item.baseline_ms),
            ratio(item.ratio),
            f"<= {COLD_TARGET}x",
            met(ok),
        )
        summary.add(
            f"cold first request: {item.spec.name}",
            ratio(item.ratio),
            f"{ms(item.first_ms)} vs {ms(item.baseline_ms)}",
            f"<= {COLD_TARGET}x",
            met(ok),
        )
    # The same functions with secrets read through the Parameters and Secrets Extension's HTTP API
    # (its local stand-in, backed by moto) instead of Powertools' boto3 SecretsProvider.
    from local.secrets_extension import start_secrets_extension

    extension = start_secrets_extension(stack.aws_port)
    try:
        ext_env = {
            **stack.product_env(),
            "LEADHOOKS_SECRETS_VIA_EXTENSION": "true",
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "AWS_SESSION_TOKEN": extension.token,
        }
        ext_specs = [
            BY_NAME[name] for name in ("vitec_get_contacts", "vitec_person_lead") if BY_NAME[name].exists
        ]
        progress("cold starts: secrets via the extension")
        for item in measure_cold(opts.bench_python, ext_specs, ext_env, opts.cold_rounds, progress):
            ok = item.ratio <= COLD_TARGET
            label = f"{item.spec.name}, secrets via extension"
            table.add(
                label,
                ms(item.import_ms),
                ms(item.first_ms),
                ms(item.baseline_ms),
                ratio(item.ratio),
                f"<= {COLD_TARGET}x",
                met(ok),
            )
            summary.add(
                f"cold first request: {label}",
                ratio(item.ratio),
                f"{ms(item.first_ms)} vs {ms(item.baseline_ms)}",
                f"<= {COLD_TARGET}x",
                met(ok),
            )
        table.note(
            "secrets via extension: LEADHOOKS_SECRETS_VIA_EXTENSION=true, secrets over localhost HTTP from a "
            "stand-in of the AWS Parameters and Secrets Lambda Extension (local/secrets_extension.py); "
            "in Lambda the extension is its own process, so its start-up is not in these figures"
        )
    finally:
        extension.stop()

    shipped = BY_NAME["vitec_person_lead"]
    layer_site = BUILD_DIR / "LeadhooksLayer" / "python"
    by_name = {item.spec.name: item for item in cold}
    if shipped.name in by_name and layer_site.is_dir():
        # Lambda's /opt is read-only: a layer module without a .pyc for the runtime's Python is
        # compiled again on every cold start. This row measures that case, whatever the build does.
        layer_pycs = sum(1 for _ in layer_site.rglob("*.pyc"))
        label, what = (
            ("layer as shipped (no .pyc)", "layer as shipped: the built layer has no .pyc files")
            if not layer_pycs
            else (
                "layer without .pyc",
                f"layer without .pyc: for comparison (the built layer has {layer_pycs} .pyc)",
            )
        )
        progress("cold starts: layer modules without .pyc")
        runs, paired = measure_without_pyc(
            opts.bench_python, shipped, stack.product_env(), layer_site, opts.cold_rounds
        )
        first = statistics.median(r.first_ms for r in runs)
        base = statistics.median(r.first_ms for r in paired)
        table.add(
            f"{shipped.name}, {label}",
            ms(statistics.median(r.import_ms for r in runs)),
            ms(first),
            ms(base),
            ratio(first / base),
            f"<= {COLD_TARGET}x",
            met(first / base <= COLD_TARGET),
        )
        table.note(
            f"{what}; Lambda's /opt is read-only, so modules without a .pyc are compiled on every cold "
            "start. Its baseline runs are its own, interleaved with it. All other rows run with .pyc files"
        )
        summary.add(
            f"cold first request: {shipped.name}, {label} (info)",
            ratio(first / base),
            f"{ms(first)} vs {ms(base)}",
            "-",
            "-",
        )
        results["cold_without_pyc"] = {
            "function": shipped.name,
            "layer_pyc_files": layer_pycs,
            "first_ms": [r.first_ms for r in runs],
            "import_ms": [r.import_ms for r in runs],
            "baseline_first_ms": [r.first_ms for r in paired],
        }
    if shipped.name in by_name and layer_site.is_dir():
        progress("cold starts: layer with sources + __pycache__ vs sourceless .pyc")
        variants = measure_layer_variants(
            opts.bench_python, shipped, stack.product_env(), layer_site, opts.cold_rounds
        )
        base = statistics.median(r.first_ms for r in variants.baseline)
        for label, runs, size in (
            ("layer copy: .py + __pycache__ .pyc", variants.with_sources, variants.with_sources_bytes),
            ("layer copy: sourceless .pyc only", variants.sourceless, variants.sourceless_bytes),
        ):
            first = statistics.median(r.first_ms for r in runs)
            table.add(
                f"{shipped.name}, {label} ({size / 1e6:.1f} MB)",
                ms(statistics.median(r.import_ms for r in runs)),
                ms(first),
                ms(base),
                ratio(first / base),
                f"<= {COLD_TARGET}x",
                met(first / base <= COLD_TARGET),
            )
        regular_first = statistics.median(r.first_ms for r in variants.with_sources)
        sourceless_first = statistics.median(r.first_ms for r in variants.sourceless)
        table.note(
            "layer copy rows: the layer's packages from the bench venv plus leadhooks, compiled by the "
            "measured Python, bytecode writing off (read-only /opt); own interleaved baseline runs. "
            f"Sourceless vs with sources: {ratio(sourceless_first / regular_first)} cold first request, "
            f"{variants.sourceless_bytes / variants.with_sources_bytes:.0%} of the bytes"
        )
        summary.add(
            f"cold first request: {shipped.name}, sourceless layer vs with sources",
            ratio(sourceless_first / regular_first),
            f"{ms(sourceless_first)} vs {ms(regular_first)}",
            "<= 1.0x (no worse)",
            met(sourceless_first <= regular_first * 1.03),
        )
        results["layer_variants"] = {
            "with_sources_first_ms": [r.first_ms for r in variants.with_sources],
            "sourceless_first_ms": [r.first_ms for r in variants.sourceless],
            "baseline_first_ms": [r.first_ms for r in variants.baseline],
            "with_sources_bytes": variants.with_sources_bytes,
            "sourceless_bytes": variants.sourceless_bytes,
        }
    baseline_imports = [item.baseline_import_ms for item in cold]
    if baseline_imports:
        table.note(f"baseline import alone: {ms(statistics.median(baseline_imports))} (median over all runs)")
    table.note("times run from just before the handler import to its answer; interpreter start-up excluded")
    table.note("events: " + "; ".join(f"{i.spec.name} <- {i.source}" for i in cold))
    if missing:
        table.note(f"not measured (no functions/<name>/app.py yet): {', '.join(missing)}")
    failures = [f for item in cold for f in item.failures]
    if failures:
        table.note("NOT DELIVERED (status >= 300): " + " | ".join(failures[:5]))
    results["cold"] = [_cold_json(item) for item in cold]
    return [table]


def _cold_json(item: ColdResult) -> dict[str, Any]:
    return {
        "function": item.spec.name,
        "source": item.source,
        "import_ms": [r.import_ms for r in item.runs],
        "first_ms": [r.first_ms for r in item.runs],
        "baseline_import_ms": [r.import_ms for r in item.baseline],
        "baseline_first_ms": [r.first_ms for r in item.baseline],
        "statuses": [r.status for r in item.runs],
        "baseline_statuses": [r.status for r in item.baseline],
        "ratio": item.ratio,
    }


def imports_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    from leadhooks.catalog import CATALOG

    functions = [(e.name, e.vendor) for e in CATALOG if (REPO / "functions" / e.name / "app.py").is_file()]
    functions.append(("failure_replay", None))  # replays any vendor's envelopes: loads it per message
    graphs = measure_imports(opts.bench_python, functions, stack.product_env(), opts.component_runs)
    table = Table(
        f"Import graph of each function (fresh process, import time median of {opts.component_runs})",
        ["function", "modules", "leadhooks.*", "vendor packages", "import ms", "target", "met?"],
    )
    for graph in graphs:
        ok = not graph.problems
        median_ms = statistics.median(graph.import_ms)
        table.add(
            graph.function,
            len(graph.modules),
            len(graph.leadhooks_modules),
            ", ".join(graph.vendor_packages) or "-",
            ms(median_ms),
            "own vendor only",
            met(ok),
        )
        summary.add(
            f"imports: {graph.function}",
            f"{len(graph.modules)} / {len(graph.leadhooks_modules)} leadhooks",
            ms(median_ms),
            "own vendor only",
            met(ok),
        )
        for problem in graph.problems:
            table.note(f"{graph.function}: {problem}")
    table.note(
        "modules = every module `import functions.<name>.app` loads (the standard library's included); "
        "NO when a function loads another vendor's package, leadhooks_ops / leadhooks.ops, or phonenumbers, "
        "python-stdnum or boto3 before any request (tests/unit/test_import_graph.py holds the same rules)"
    )
    results["imports"] = [
        {
            "function": g.function,
            "modules": len(g.modules),
            "leadhooks_modules": g.leadhooks_modules,
            "vendor_packages": g.vendor_packages,
            "import_ms": g.import_ms,
            "problems": g.problems,
        }
        for g in graphs
    ]
    return [table]


def importtime_section(opts: Options, stack: Stack, results: dict[str, Any]) -> list[Table]:
    spec = BY_NAME["vitec_person_lead"]
    ours, our_total = importtime_top(opts.bench_python, spec, spec.handler, stack.product_env())
    theirs, their_total = importtime_top(opts.bench_python, spec, spec.baseline_handler, stack.product_env())
    table = Table(
        "python -X importtime, import + first request, self time summed by top-level package",
        ["rank", f"{spec.name}", "ms", "baseline", "ms "],
    )
    for rank in range(max(len(ours), len(theirs))):
        a = ours[rank] if rank < len(ours) else ("", math.nan)
        b = theirs[rank] if rank < len(theirs) else ("", math.nan)
        table.add(rank + 1, a[0], ms(a[1]), b[0], ms(b[1]))
    table.add("all", "", ms(our_total), "", ms(their_total))
    table.note("one process each; -X importtime inflates times, read them as shares, not absolutes")
    results["importtime"] = {
        "function": ours,
        "function_total": our_total,
        "baseline": theirs,
        "baseline_total": their_total,
    }
    return [table]


def components_section(opts: Options, stack: Stack, results: dict[str, Any]) -> list[Table]:
    measured = measure_components(opts.bench_python, stack.product_env(), opts.component_runs)
    table = Table(
        f"Cold path components (each alone in a fresh process, median of {opts.component_runs})",
        ["import / construction", "ms"],
    )
    for label, value in measured:
        table.add(label, ms(value))
    table.note("no network: clients are built, nothing is called; the lines overlap (shared dependencies)")
    results["components"] = measured
    return [table]


def warm_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    data = run_worker(
        opts.bench_python,
        stack,
        "warm",
        {
            "n": opts.warm_n,
            "warmup": opts.warm_warmup,
            "vitec_base_url": stack.sandbox,
            "customer_id": CUSTOMER_ID,
            "latency_ms": opts.warm_latency_ms,
            "latency_n": opts.warm_latency_n,
            "split_n": opts.split_n,
        },
    )
    handler, direct, floor = data["handler_ms"], data["direct_ms"], data["floor_ms"]
    calls = " + ".join(data["floor_calls"])
    table = Table(
        f"Warm relay overhead: {len(handler)} person leads through the handler vs the design's floor",
        ["path", "p50", "p99", "mean"],
    )

    def row(label: str, values: list[float]) -> None:
        table.add(label, ms(percentile(values, 50)), ms(percentile(values, 99)), ms(statistics.fmean(values)))

    def ratios(label: str, a: list[float], b: list[float]) -> float:
        p50 = percentile(a, 50) / percentile(b, 50)
        table.add(
            label,
            ratio(p50),
            ratio(percentile(a, 99) / percentile(b, 99)),
            ratio(statistics.fmean(a) / statistics.fmean(b)),
        )
        return p50

    row("handler (Lambda event -> sandbox, delivery record on moto)", handler)
    row(f"floor: boto3 {calls} + requests.post, direct", floor)
    row("direct requests.post alone, reused session", direct)
    p50 = ratios("ratio handler / floor", handler, floor)
    bare = ratios("ratio handler / direct post (info)", handler, direct)
    table.note(
        f"floor = the delivery record calls one new delivery makes ({calls}, captured from a real request "
        "and replayed with the same parameters for a new record id) on one boto3 client against the same "
        f"moto, around the same vendor body posted to the same sandbox endpoint (POST /{data['url_path']})"
    )
    table.note(
        f"{opts.warm_warmup} warm-up rounds discarded; the three paths rotate which goes first; "
        f"handler overhead over the floor at p50: {ms(percentile(handler, 50) - percentile(floor, 50))}"
    )
    if data.get("dynamodb_put_ms"):
        put_p50 = ms(percentile(data["dynamodb_put_ms"], 50))
        table.note(
            f"one DynamoDB PutItem on moto from the same process: {put_p50} p50 (moto answers "
            "`Connection: close`, so every DynamoDB call opens a new TCP connection, in the floor too)"
        )
    summary.add(
        "warm relay p50 vs the design's floor",
        ratio(p50),
        f"{ms(percentile(handler, 50))} vs {ms(percentile(floor, 50))}",
        f"<= {WARM_TARGET}x",
        met(p50 <= WARM_TARGET),
    )
    summary.add(
        "warm relay p50 vs a bare requests.post (info)",
        ratio(bare),
        f"{ms(percentile(handler, 50))} vs {ms(percentile(direct, 50))}",
        "-",
        "-",
    )
    tables = [table]
    slow_p50 = None
    if data.get("slow_handler_ms"):
        slow_h, slow_d, slow_f = data["slow_handler_ms"], data["slow_direct_ms"], data["slow_floor_ms"]
        label = f"+{data['latency_ms']} ms vendor latency ({len(slow_h)} rounds)"
        row(f"handler, {label}", slow_h)
        row(f"floor, {label}", slow_f)
        row(f"direct post, {label}", slow_d)
        slow_p50 = ratios(f"ratio handler / floor, {label}", slow_h, slow_f)
        slow_bare = ratios(f"ratio handler / direct post, {label} (info)", slow_h, slow_d)
        summary.add(
            f"warm relay p50 vs floor, vendor +{data['latency_ms']} ms",
            ratio(slow_p50),
            f"{ms(percentile(slow_h, 50))} vs {ms(percentile(slow_f, 50))}",
            f"<= {WARM_SLOW_TARGET}x",
            met(slow_p50 <= WARM_SLOW_TARGET),
        )
        summary.add(
            f"warm relay p50 vs bare post, vendor +{data['latency_ms']} ms (info)",
            ratio(slow_bare),
            f"{ms(percentile(slow_h, 50))} vs {ms(percentile(slow_d, 50))}",
            "-",
            "-",
        )
    if data.get("split_ms"):
        split = data["split_ms"]
        total = split.pop("total")
        part = Table(
            f"Warm request split: mean ms per request over {opts.split_n} person leads (exclusive times)",
            ["phase", "ms / request", "share"],
        )
        for phase, value in split.items():
            part.add(phase, f"{value:.2f} ms", f"{value / total:.0%}")
        part.add("total (wrapped run)", f"{total:.2f} ms", "100%")
        part.note(
            "each phase is the time inside the pipeline's own functions (benchmarks/split.py) minus the "
            "wrapped calls inside them; framework = the rest (resolver, event parsing, routing, glue)"
        )
        tables.append(part)
    results["warm"] = {**data, "p50_ratio": p50, "slow_p50_ratio": slow_p50}
    return tables


# ---- pacing (stub: the lead finishes it once leadhooks.pacing is merged) -------------------------


def pacing_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    """AWS round trips per delivery with pacing in the pipeline, by service.operation (issue 14)."""
    table = Table("Pacing cost: AWS round trips per delivery (warm person leads)", ["call", "per delivery"])
    data = run_worker(opts.bench_python, stack, "pacing", {"n": opts.pacing_n})
    n = data["n"]
    total = sum(data["calls"].values()) / n
    for call, count in sorted(data["calls"].items()):
        table.add(call, f"{count / n:.2f}")
    table.add("all AWS calls", f"{total:.2f}")
    table.note(
        f"{n} deliveries after 3 warm-up ones; p50 {ms(percentile(data['handler_ms'], 50))} per delivery; "
        "the delivery record alone makes 2 (dynamodb.PutItem + dynamodb.UpdateItem); the budget's share "
        "is the rest (leased slots: one UpdateItem per block)"
    )
    summary.add(
        "pacing: AWS round trips per delivery",
        f"{total:.2f}",
        f"p50 {ms(percentile(data['handler_ms'], 50))}",
        f"<= {PACING_TARGET_CALLS}",
        met(total <= PACING_TARGET_CALLS),
    )
    results["pacing"] = {"present": True, **data}
    return [table]


def fanout_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    data = run_worker(
        opts.bench_python,
        stack,
        "fanout",
        {
            "ids": 100,
            "chunk": 20,
            "reps": opts.fanout_reps,
            "latency_ms": opts.fanout_latency_ms,
            "sandbox": stack.sandbox,
            "customer_id": CUSTOMER_ID,
        },
    )
    stack.clear_faults()
    one = statistics.median(data["one_chunk_ms"])
    many = statistics.median(data["all_ms"])
    seq = statistics.median(data["sequential_ms"])
    table = Table(
        f"Contacts fan-out, sandbox latency {opts.fanout_latency_ms} ms per call "
        f"(median of {opts.fanout_reps})",
        ["request", "time", "vs one 20-id call"],
    )
    table.add("GET /vitec/contacts, 20 ids (1 vendor call)", ms(one), ratio(1.0))
    table.add(
        f"GET /vitec/contacts, 100 ids ({data['calls']} calls, concurrent)", ms(many), ratio(many / one)
    )
    table.add(f"sequential: {data['calls']} x 20-id requests one after another", ms(seq), ratio(seq / one))
    table.note(
        f"100 ids c-{CUSTOMER_ID.lower()}-001...100: {data['found']} seeded contacts returned, "
        f"{data['missing']} unknown ids reported as missing"
    )
    summary.add(
        "contacts fan-out, 100 ids vs 20",
        ratio(many / one),
        f"{ms(many)} vs {ms(one)} (sequential {ms(seq)})",
        f"<= {FANOUT_TARGET}x",
        met(many / one <= FANOUT_TARGET),
    )
    results["fanout"] = data
    return [table]


def burst_section(opts: Options, summary: Table, results: dict[str, Any]) -> list[Table]:
    """Issue 13's burst (reliability/burst.py) on its own local stack with the API and replay worker:
    600 leads for one customer + 60 for another at a vendor limit of 6/s (quick: 120 + 12)."""
    args = [sys.executable, "-m", "reliability.burst", *(["--quick"] if opts.quick else [])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BURST-RESULT ")]
    if not lines:
        summary.add(
            "burst drain vs the vendor's floor", "-", "the burst did not finish", "<= 1.2x", met(False)
        )
        return []
    data = json.loads(lines[-1].removeprefix("BURST-RESULT "))
    table = Table(
        f"Burst: {data['leads']} leads, two customers, vendor limit 6/s (docs/pacing.md)",
        ["measure", "value", "goal"],
    )
    table.add("lost", str(data["lost"]), "0")
    table.add("vendor writes per deliveryId (max)", str(data["max_writes"]), "<= 2")
    table.add("throttled share of vendor requests", f"{100 * data['throttled_share']:.1f} %", "<= 5 %")
    table.add("second customer answered 200 at once", f"{100 * data['b_sync_share']:.0f} %", ">= 90 %")
    table.add("drain time / floor", f"{data['drain_s']:.1f} s / {data['floor_s']:.0f} s", "<= 1.2x")
    table.add("pacing store round trips per delivery", f"{data['round_trips_per_delivery']:.2f}", "<= 0.2")
    summary.add(
        "burst drain vs the vendor's floor",
        ratio(data["drain_ratio"]),
        f"{data['drain_s']:.1f} s for {data['floor_s']:.0f} s; "
        f"throttled {100 * data['throttled_share']:.1f} %",
        "<= 1.2x",
        met(data["drain_ratio"] <= 1.2 and not data["failures"]),
    )
    results["burst"] = data
    return [table]


def memory_section(opts: Options, stack: Stack, summary: Table, results: dict[str, Any]) -> list[Table]:
    checkpoints = sorted({1, 100, opts.memory_n})
    data = run_worker(opts.bench_python, stack, "memory", {"n": opts.memory_n, "checkpoints": checkpoints})
    table = Table(
        f"Memory: one warm vitec_person_lead process, {opts.memory_n} requests",
        ["after", "peak RSS", "current RSS"],
    )
    table.add("worker started (before the handler import)", f"{data['before_import_kb'] / 1024:.1f} MiB", "")
    table.add("handler import", f"{data['after_import_kb'] / 1024:.1f} MiB", "")
    by_count = {s["requests"]: s for s in data["samples"]}
    for sample in data["samples"]:
        table.add(
            f"{sample['requests']} request(s)",
            f"{sample['peak_kb'] / 1024:.1f} MiB",
            f"{sample['current_kb'] / 1024:.1f} MiB",
        )
    growth = by_count[opts.memory_n]["peak_kb"] - by_count[100]["peak_kb"] if 100 in by_count else math.nan
    ok = None if math.isnan(growth) else growth <= MEMORY_GROWTH_LIMIT_KB
    table.note(
        f"growth of peak RSS from request 100 to {opts.memory_n}: {growth / 1024:+.1f} MiB "
        f"(limit {MEMORY_GROWTH_LIMIT_KB / 1024:.0f} MiB); the template gives each function 512 MB"
    )
    peak = by_count[opts.memory_n]["peak_kb"]
    summary.add(
        f"memory: peak RSS after {opts.memory_n} requests",
        f"{peak / 1024:.1f} MiB",
        f"{growth / 1024:+.1f} MiB since request 100",
        f"no growth (<= {MEMORY_GROWTH_LIMIT_KB // 1024} MiB)",
        met(ok),
    )
    results["memory"] = data
    return [table]


def package_section(opts: Options, summary: Table, results: dict[str, Any]) -> list[Table]:
    progress(
        "package sizes" + ("" if (BUILD_DIR / "LeadhooksLayer").is_dir() else ": running make sam-build")
    )
    report: PackageReport = measure_packages(opts.allow_build, opts.force_build and opts.allow_build)
    table = Table(
        "Package size (.aws-sam/build, zipped with deflate as SAM uploads it)",
        ["artifact", "zipped", "unzipped", "files"],
    )
    results["package"] = asdict(report)
    if report.skipped or report.layer is None:
        table.note(f"skipped: {report.skipped}")
        summary.add("layer zip", "skipped", report.skipped or "", "<= 5 MB, no boto3", "-")
        return [table]
    layer = report.layer
    table.add("LeadhooksLayer", mb(layer.zipped_bytes), mb(layer.unzipped_bytes), layer.files)
    for fn in report.functions:
        table.add(
            f"{fn.logical_id} (functions/{fn.name})", kib(fn.zipped_bytes), kib(fn.unzipped_bytes), fn.files
        )
    built = datetime.fromtimestamp((BUILD_DIR / "LeadhooksLayer").stat().st_mtime, UTC)
    table.note(f"boto3/botocore/s3transfer in the layer: {', '.join(report.forbidden_found) or 'none'}")
    table.note(f"of the layer's files, {layer.pyc_files} are .pyc (bytecode for the runtime's Python)")
    if report.stale:
        shown = ", ".join(report.stale[:4]) + (
            f" and {len(report.stale) - 4} more" if len(report.stale) > 4 else ""
        )
        table.note(f"STALE build: changed since it was made: {shown} (`make bench BENCH_ARGS=--build`)")
    table.note(
        f"build from {built:%Y-%m-%d %H:%M} UTC"
        + (" (built by this run)" if report.built_now else "; `make sam-build` to refresh")
    )
    ok = layer.zipped_bytes <= LAYER_LIMIT_BYTES and not report.forbidden_found
    summary.add(
        "layer zip size, boto3 not inside",
        mb(layer.zipped_bytes),
        "boto3: " + ("INSIDE" if report.forbidden_found else "absent"),
        "<= 5 MB, no boto3",
        met(ok),
    )
    if report.functions:
        sizes = sorted(f.zipped_bytes for f in report.functions)
        summary.add(
            "function code zips (each)",
            f"{kib(sizes[0])} - {kib(sizes[-1])}",
            f"{len(sizes)} functions",
            "-",
            "-",
        )
    return [table]


# ---- main --------------------------------------------------------------------------------------


def environment_line(opts: Options) -> str:
    bench_version = subprocess.run(
        [opts.bench_python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"{platform.node() or 'host'}: {os.cpu_count()} CPUs, {platform.machine()}, "
        f"harness Python {platform.python_version()}, measured Python {bench_version} "
        f"({opts.bench_python})"
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    if not Path(opts.bench_python).exists():
        print(f"{opts.bench_python} not found: run `make bench-venv` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    summary = Table(
        "Summary (one run on this machine)", ["benchmark", "measured", "absolute (median)", "target", "met?"]
    )
    tables: list[Table] = []
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "environment": environment_line(opts),
    }
    # Sizes first: it may run `make sam-build`, whose layer the cold runs use. Printed last.
    package_summary = Table("", summary.headers)
    package_tables = package_section(opts, package_summary, results) if "package" in opts.sections else []
    progress("starting moto and the vendor sandbox on loopback")
    with local_stack() as stack:
        progress(f"moto on :{stack.aws_port}, sandbox on :{stack.sandbox_port}")
        if "cold" in opts.sections:
            tables += cold_section(opts, stack, summary, results)
        if "imports" in opts.sections:
            progress("import graph of each function")
            tables += imports_section(opts, stack, summary, results)
        if "importtime" in opts.sections:
            progress("python -X importtime")
            tables += importtime_section(opts, stack, results)
        if "components" in opts.sections:
            progress("cold path components")
            tables += components_section(opts, stack, results)
        if "warm" in opts.sections:
            progress(f"warm relay: {opts.warm_n} requests per side")
            tables += warm_section(opts, stack, summary, results)
        if "pacing" in opts.sections:
            progress("pacing: AWS round trips per delivery")
            tables += pacing_section(opts, stack, summary, results)
        if "fanout" in opts.sections:
            progress("contacts fan-out")
            tables += fanout_section(opts, stack, summary, results)
        if "memory" in opts.sections:
            progress(f"memory: {opts.memory_n} requests")
            tables += memory_section(opts, stack, summary, results)
    if "burst" in opts.sections:
        progress("burst: pacing under one customer's burst (own local stack with the API)")
        tables += burst_section(opts, summary, results)
    summary.rows += package_summary.rows
    tables += package_tables
    elapsed = time.monotonic() - started
    summary.note("SnapStart (EnableSnapStart=true in template.yaml) is not measured here: it needs AWS")
    summary.note(f"{results['environment']}; run took {elapsed:.0f} s")
    every = [summary, *tables]
    print("\n\n".join(t.text() for t in every))
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "report.md").write_text("\n\n".join(t.markdown() for t in every) + "\n", encoding="utf-8")
    results["elapsed_s"] = elapsed
    (opts.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nMarkdown and raw numbers: {opts.out / 'report.md'}, {opts.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
