"""Which deployment the operator tool talks to: queue URLs, archive bucket and region.

From the most explicit to the least: the URL/bucket options, then the outputs of a CloudFormation stack
(`--stack`, or `--config-env dev|prod` which reads the stack name and region from samconfig.toml),
then the environment (FAILURE_QUEUE_URL, PARKED_QUEUE_URL, ARCHIVE_BUCKET, PACING_TABLE,
LEADHOOKS_STACK). The region comes from `--region`, samconfig.toml, an AWS queue URL, or the AWS
configuration (AWS_REGION, profile).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# template.yaml's Outputs
OUTPUTS = {
    "FailureQueueUrl": "failure_url",
    "ParkedQueueUrl": "parked_url",
    "ArchiveBucketName": "archive_bucket",
    "PacingTableName": "pacing_table",
    "IdempotencyTableName": "records_table",
    "JournalSecretArn": "journal_secret",
}
# The environment variables, for what neither an option nor the stack gave
ENVIRONMENT = {
    "failure_url": "FAILURE_QUEUE_URL",
    "parked_url": "PARKED_QUEUE_URL",
    "archive_bucket": "ARCHIVE_BUCKET",
    "pacing_table": "PACING_TABLE",
    "records_table": "IDEMPOTENCY_TABLE",
    "journal_secret": "JOURNAL_SECRET_ID",
}
_SQS_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com", re.IGNORECASE)


class TargetError(Exception):
    """The deployment cannot be found as asked (exit status 2: a usage problem)."""


@dataclass
class Target:
    failure_url: str | None = None
    parked_url: str | None = None
    archive_bucket: str | None = None
    pacing_table: str | None = None  # the per-customer pacing budgets (docs/pacing.md)
    records_table: str | None = None  # the delivery records, the journal (IDEMPOTENCY_TABLE)
    journal_secret: str | None = None  # the journal's peppers (leadhooks.journal)
    region: str | None = None
    stack: str | None = None


def samconfig_env(path: Path, env: str) -> tuple[str, str | None]:
    """(stack name, region) of `env` in samconfig.toml (`[<env>.global.parameters]`, `[<env>.deploy…]`)."""
    data = _read_toml(path)
    section = data.get(env)
    if not isinstance(section, dict):
        names = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict) and k != "version"))
        raise TargetError(f"{path} has no environment {env!r} (it has: {names or 'none'})")
    found = _first_parameters(section, ("stack_name", "region"))
    if "stack_name" not in found:
        raise TargetError(f"{path}: environment {env!r} names no stack_name")
    return found["stack_name"], found.get("region")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TargetError(f"cannot read {path}: {type(exc).__name__}") from None


def _first_parameters(section: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Each key's string value from the `global` parameters, else from the `deploy` ones."""
    found: dict[str, str] = {}
    for command in ("global", "deploy"):
        params = (section.get(command) or {}).get("parameters") or {}
        for key in keys:
            if isinstance(params.get(key), str) and key not in found:
                found[key] = params[key]
    return found


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by key (describe_stacks)."""
    try:
        answer = cloudformation.describe_stacks(StackName=stack)
    except Exception as exc:  # botocore ClientError (no such stack, no access), no credentials
        raise TargetError(f"cannot read stack {stack!r}: {type(exc).__name__}: {str(exc)[:200]}") from None
    stacks = answer.get("Stacks") or []
    if not stacks:
        raise TargetError(f"no stack {stack!r}")
    return {
        str(o.get("OutputKey")): str(o.get("OutputValue"))
        for o in stacks[0].get("Outputs") or []
        if o.get("OutputKey")
    }


def region_of(url: str | None) -> str | None:
    match = _SQS_REGION.match(url or "")
    return match.group(1) if match else None


def resolve(
    *,
    failure_url: str | None,
    parked_url: str | None,
    archive_bucket: str | None,
    region: str | None,
    stack: str | None,
    config_env: str | None,
    samconfig: Path,
    environ: Mapping[str, str],
    cloudformation: Callable[[str | None], Any],
) -> Target:
    """Put the options, the stack's outputs and the environment together (see the module docstring)."""
    target = Target(failure_url=failure_url, parked_url=parked_url, archive_bucket=archive_bucket)
    stack, region = _stack_and_region(stack, region, config_env, samconfig, environ)
    if stack:
        _fill_from_stack(target, stack_outputs(cloudformation(region), stack))
        target.stack = stack
    for attribute, variable in ENVIRONMENT.items():
        setattr(target, attribute, getattr(target, attribute) or environ.get(variable) or None)
    target.region = region or region_of(target.parked_url) or region_of(target.failure_url)
    return target


def _stack_and_region(
    stack: str | None,
    region: str | None,
    config_env: str | None,
    samconfig: Path,
    environ: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """The options first, then samconfig.toml's environment, then LEADHOOKS_STACK."""
    if config_env:
        stack_from_config, config_region = samconfig_env(samconfig, config_env)
        stack = stack or stack_from_config
        region = region or config_region
    return stack or environ.get("LEADHOOKS_STACK") or None, region


def _fill_from_stack(target: Target, outputs: dict[str, str]) -> None:
    """The stack's outputs for what no option gave."""
    for output, attribute in OUTPUTS.items():
        if getattr(target, attribute) is None and outputs.get(output):
            setattr(target, attribute, outputs[output])


def default_samconfig() -> Path:
    return Path(os.environ.get("LEADHOOKS_SAMCONFIG", "samconfig.toml"))
