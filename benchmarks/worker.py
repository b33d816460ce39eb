"""One warm function process: `python -m benchmarks.worker <mode> <config.json> <result.json>`.

Runs in the bench venv (runtime dependencies only), with the product environment pointing at the
harness's moto server and sandbox on loopback. Modes:

- `warm`: N person-lead requests through the Lambda handler, interleaved with N direct
  `requests.post` calls (one reused session) of the same vendor body to the same sandbox endpoint.
- `fanout`: the contacts handler with 20 and 100 ids, and 5 x 20 ids one after another, while
  the sandbox adds latency to every vendor call.
- `memory`: N person-lead requests; peak and current RSS after the first, the 100th and the Nth.

Every write gets its own Idempotency-Key, so the idempotency table (moto DynamoDB) is written
on every request, as in production.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.events import BY_NAME, LambdaContext, contact_ids, fresh, sample_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_handler(function: str) -> Handler:
    module = importlib.import_module(BY_NAME[function].module)
    handler: Handler = module.lambda_handler
    return handler


def invoke(handler: Handler, event: dict[str, Any], request_no: int) -> dict[str, Any]:
    response = handler(event, LambdaContext(f"bench-{request_no}"))
    if response.get("statusCode") != 200:
        raise RuntimeError(
            f"handler answered {response.get('statusCode')}: {str(response.get('body'))[:500]}"
        )
    return response


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e3


def rss_kb() -> tuple[int, int]:
    """(peak RSS, current RSS) of this process in KiB: VmHWM and VmRSS.

    Not getrusage's ru_maxrss: on Linux that keeps the parent's peak across fork + exec, so a child
    of the (large) harness process would report the harness's size.
    """
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])


def warm(config: dict[str, Any]) -> dict[str, Any]:
    import os

    import boto3
    import requests

    from benchmarks.split import Split, capture_store_calls, with_record_id
    from local.config import SECRETS, VITEC_SECRET_ID

    handler = load_handler("vitec_person_lead")
    template, _ = sample_event(BY_NAME["vitec_person_lead"])
    # The exact vendor request the handler sends, from its own dry run.
    dry = invoke(handler, fresh(template, query={"dryRun": "true"}), 0)
    vendor_request = json.loads(dry["body"])["vendorRequest"]
    # The exact delivery record calls one new delivery makes (claim PutItem, final UpdateItem), from a
    # real request: the floor replays them with boto3 directly, each time for a new record id.
    with capture_store_calls() as store_calls:
        invoke(handler, fresh(template), 0)
    url = f"{config['vitec_base_url'].rstrip('/')}/{vendor_request['path'].lstrip('/')}"
    body = json.dumps(vendor_request["body"], ensure_ascii=False).encode()
    customers: dict[str, Any] = SECRETS[VITEC_SECRET_ID]["customers"]  # type: ignore[assignment]
    login = customers[config["customer_id"]]
    session = requests.Session()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    dynamodb = boto3.client("dynamodb")
    table = os.environ["IDEMPOTENCY_TABLE"]
    floor_ids = iter(range(1, 10_000_000))

    def direct() -> None:
        response = session.post(
            url, data=body, headers=headers, auth=(login["username"], login["password"]), timeout=10
        )
        if response.status_code != 200:
            raise RuntimeError(f"direct post answered {response.status_code}: {response.text[:300]}")

    def floor() -> None:
        """The design's own floor: claim the record, post, record the answer; nothing else."""
        calls = with_record_id(store_calls, f"bench-floor#{os.getpid()}#{next(floor_ids)}")
        claim, rest = calls[0], calls[1:]
        getattr(dynamodb, claim[0])(TableName=table, **claim[1])
        direct()
        for operation, params in rest:
            getattr(dynamodb, operation)(TableName=table, **params)

    def measure(n: int, warmup: int) -> tuple[list[float], list[float], list[float]]:
        handler_ms: list[float] = []
        direct_ms: list[float] = []
        floor_ms: list[float] = []
        for i in range(warmup + n):
            event = fresh(template)
            trio: list[tuple[Callable[[], Any], list[float]]] = [
                (functools.partial(invoke, handler, event, i), handler_ms),
                (direct, direct_ms),
                (floor, floor_ms),
            ]
            trio = trio[i % 3 :] + trio[: i % 3]  # each path goes first, second and third in turn
            for call, sink in trio:
                elapsed = timed(call)
                if i >= warmup:
                    sink.append(elapsed)
        return handler_ms, direct_ms, floor_ms

    handler_ms, direct_ms, floor_ms = measure(int(config["n"]), int(config["warmup"]))
    result: dict[str, Any] = {
        "handler_ms": handler_ms,
        "direct_ms": direct_ms,
        "floor_ms": floor_ms,
        "floor_calls": [operation for operation, _ in store_calls],
        "url_path": vendor_request["path"],
    }
    result["dynamodb_put_ms"] = dynamodb_round_trips(30)
    split_n = int(config.get("split_n", 0))
    if split_n:
        counter = iter(range(1, 10_000_000))
        result["split_ms"] = Split().measure(lambda: invoke(handler, fresh(template), next(counter)), split_n)
    latency_ms, latency_n = int(config.get("latency_ms", 0)), int(config.get("latency_n", 0))
    if latency_ms and latency_n:
        faults = f"{config['vitec_base_url'].rstrip('/')}/_sandbox/faults"
        requests.post(faults, json={"latencyMs": latency_ms}, timeout=5).raise_for_status()
        try:
            slow_handler, slow_direct, slow_floor = measure(latency_n, 2)
        finally:
            requests.delete(faults, timeout=5)
        result.update(
            latency_ms=latency_ms,
            slow_handler_ms=slow_handler,
            slow_direct_ms=slow_direct,
            slow_floor_ms=slow_floor,
        )
    return result


def dynamodb_round_trips(n: int) -> list[float]:
    """One DynamoDB PutItem on the emulator, timed: the unit cost of the idempotency record."""
    import os
    import uuid

    import boto3

    client = boto3.client("dynamodb")
    table = os.environ["IDEMPOTENCY_TABLE"]

    def put() -> None:
        client.put_item(
            TableName=table,
            Item={"id": {"S": f"bench-probe-{uuid.uuid4().hex}"}, "status": {"S": "COMPLETED"}},
            ConditionExpression="attribute_not_exists(id)",
        )

    put()
    return [timed(put) for _ in range(n)]


def fanout(config: dict[str, Any]) -> dict[str, Any]:
    import requests

    handler = load_handler("vitec_get_contacts")
    template, _ = sample_event(BY_NAME["vitec_get_contacts"])
    customer_id = config["customer_id"]
    wanted = contact_ids(int(config["ids"]), customer_id)
    chunk = int(config["chunk"])
    chunks = [wanted[i : i + chunk] for i in range(0, len(wanted), chunk)]
    counter = iter(range(1, 1_000_000))

    def get(ids: list[str]) -> dict[str, Any]:
        event = fresh(template, query={"customerId": customer_id, "ids": ",".join(ids)})
        answer: dict[str, Any] = json.loads(invoke(handler, event, next(counter))["body"])
        return answer

    def sequential() -> None:
        for part in chunks:
            get(part)

    # Warm: secrets cached, connections open, no latency yet.
    checked = get(wanted)
    found, missing = len(checked.get("contacts", [])), len(checked.get("missing", []))
    get(chunks[0])
    faults = f"{config['sandbox']}/_sandbox/faults"
    requests.post(faults, json={"latencyMs": int(config["latency_ms"])}, timeout=5).raise_for_status()
    one: list[float] = []
    many: list[float] = []
    seq: list[float] = []
    try:
        for _ in range(int(config["reps"])):
            one.append(timed(lambda: get(chunks[0])))
            many.append(timed(lambda: get(wanted)))
            seq.append(timed(sequential))
    finally:
        requests.delete(faults, timeout=5)
    return {
        "one_chunk_ms": one,
        "all_ms": many,
        "sequential_ms": seq,
        "found": found,
        "missing": missing,
        "calls": len(chunks),
    }


def memory(config: dict[str, Any]) -> dict[str, Any]:
    checkpoints = {int(c) for c in config["checkpoints"]}
    before_import = rss_kb()
    handler = load_handler("vitec_person_lead")
    after_import = rss_kb()
    template, _ = sample_event(BY_NAME["vitec_person_lead"])
    samples: list[dict[str, int]] = []
    for i in range(1, int(config["n"]) + 1):
        invoke(handler, fresh(template), i)
        if i in checkpoints:
            peak, current = rss_kb()
            samples.append({"requests": i, "peak_kb": peak, "current_kb": current})
    return {
        "before_import_kb": before_import[0],
        "after_import_kb": after_import[0],
        "samples": samples,
    }


def pacing(config: dict[str, Any]) -> dict[str, Any]:
    """AWS round trips per warm delivery, by service and operation, with leadhooks.pacing in place.

    Counts every botocore API call the process makes (BaseClient._make_api_call), so whatever the
    pacing module calls (DynamoDB token bucket, SQS, ...) shows up beside the delivery record's two.
    """
    from collections import Counter

    from botocore.client import BaseClient

    handler = load_handler("vitec_person_lead")
    template, _ = sample_event(BY_NAME["vitec_person_lead"])
    for i in range(3):  # warm: secrets cached, clients built
        invoke(handler, fresh(template), i)
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
        return original(self, operation_name, api_params)

    n = int(config["n"])
    elapsed: list[float] = []
    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        for i in range(n):
            event = fresh(template)
            elapsed.append(timed(functools.partial(invoke, handler, event, i)))
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
    return {"n": n, "calls": dict(calls), "handler_ms": elapsed}


MODES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "warm": warm,
    "pacing": pacing,
    "fanout": fanout,
    "memory": memory,
}


def main(argv: list[str]) -> int:
    mode, config_path, result_path = argv
    config = json.loads(Path(config_path).read_text())
    result = MODES[mode](config)
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
