"""Least privilege per function, checked on the roles SAM really creates (issue #6 item 6).

template.yaml is expanded with SAM's own translator (`samtranslator`, from .venv-sam: mk/sam.mk) into
plain CloudFormation, offline, once with tracing off and once with it on. Then, for every function's
role: the exact set of (action, resource) pairs it may use, no `"*"` resource in any statement of ours,
and no AWS managed policy beyond the ones AWS requires, each listed here with its reason and named in
docs/deploy.md. The API may invoke each function only for that function's own route.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

# Expands template.yaml the way `sam deploy` does (CodeUri/ContentUri stand in for the uploaded code).
TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1], encoding="utf-8").read())
for resource in template["Resources"].values():
    props = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):
        if key in props:
            props[key] = "s3://bucket/key"
json.dump(transform(template, {"Tracing": sys.argv[2]}, NoManagedPolicies()), sys.stdout)
"""

# AWS managed policies a function role may carry, and why each is needed (all name "*" resources).
AWS_REQUIRED_POLICIES: dict[str, str] = {
    "service-role/AWSLambdaBasicExecutionRole": (
        "SAM attaches it to every function role it creates: logs:CreateLogGroup/CreateLogStream/"
        "PutLogEvents, the minimum for a function to write its logs"
    ),
    "AWSXrayWriteOnlyAccess": (
        "only with Tracing=Active (or PassThrough): X-Ray has no resource-level permissions, so "
        "PutTraceSegments takes Resource *; the default, Disabled, leaves it off"
    ),
}
# The one other role: the account-wide API Gateway logging role (ConfigureApiGatewayAccount=true).
API_GATEWAY_LOGGING_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"

ITEM_ACTIONS = {f"dynamodb:{a}" for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")}
POLLER_ACTIONS = {
    f"sqs:{a}"
    for a in (
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "DeleteMessage",
        "DeleteMessageBatch",
        "GetQueueAttributes",
        "ReceiveMessage",
    )
}


def _grants(actions: set[str], resource: str) -> set[tuple[str, str]]:
    return {(action, resource) for action in actions}


# The pacing budgets (leadhooks.pacing) are written with conditional UpdateItem and nothing else.
PACING = _grants({"dynamodb:UpdateItem"}, "PacingTable")

# The parked archive bucket, by key prefix (shared/leadhooks/archive.py).
ARCHIVE_PARKED = "${ArchiveBucket.Arn}/parked/*"
ARCHIVE_QUEUED = "${ArchiveBucket.Arn}/queued/*"
ARCHIVE_BODIES = "${ArchiveBucket.Arn}/bodies/*"


def _api_write(vendor_secret: str) -> set[tuple[str, str]]:
    return (
        _grants({"secretsmanager:GetSecretValue"}, vendor_secret)
        | _grants({"secretsmanager:GetSecretValue"}, "InboundSecret")
        | _grants({"secretsmanager:GetSecretValue"}, "JournalSecret")  # the journal's pepper
        | _grants({"sqs:SendMessage*"}, "FailureQueue")  # SendMessage and SendMessageBatch
        | _grants({"sqs:SendMessage*"}, "ParkedQueue")
        | _grants(ITEM_ACTIONS, "IdempotencyTable")
        | PACING
        # Park, queue a large envelope, keep an oversized signed body; never read or list.
        | {("s3:PutObject", r) for r in (ARCHIVE_PARKED, ARCHIVE_QUEUED, ARCHIVE_BODIES)}
        # Undo a kept body whose park failed (a delete marker in the versioned bucket).
        | {("s3:DeleteObject", ARCHIVE_BODIES)}
    )


# function -> every (action, resource logical id) its role allows, and nothing else.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "OmnicasaContactOnMeFunction": _api_write("OmnicasaSecret"),
    "VitecViewingParticipantFunction": _api_write("VitecSecret"),
    "VitecAreaInterestFunction": _api_write("VitecSecret"),
    "VitecPersonLeadFunction": _api_write("VitecSecret"),
    # A read: no queue, no idempotency table; a vendor 429 on a read still slows the customer (pacing).
    "VitecGetContactsFunction": _grants({"secretsmanager:GetSecretValue"}, "VitecSecret")
    | _grants({"secretsmanager:GetSecretValue"}, "InboundSecret")
    | PACING,
    # A read of the delivery records: the inbound secret (x-api-key) and item reads, nothing else.
    "DeliveriesFunction": _grants({"secretsmanager:GetSecretValue"}, "InboundSecret")
    | _grants({"dynamodb:GetItem", "dynamodb:BatchGetItem"}, "IdempotencyTable"),
    # No inbound secret (no HTTP caller); polls only the failure queue.
    "FailureReplayFunction": _grants({"secretsmanager:GetSecretValue"}, "VitecSecret")
    | _grants({"secretsmanager:GetSecretValue"}, "OmnicasaSecret")
    | _grants(POLLER_ACTIONS, "FailureQueue")
    | _grants({"sqs:SendMessage*"}, "FailureQueue")
    | _grants({"sqs:SendMessage*"}, "ParkedQueue")
    | _grants(ITEM_ACTIONS, "IdempotencyTable")
    | PACING
    | {("s3:PutObject", ARCHIVE_PARKED), ("s3:PutObject", ARCHIVE_QUEUED)}
    # The only reader: a failure-queue message that points at its envelope in the archive.
    | {("s3:GetObject", ARCHIVE_QUEUED)},
}
ROUTES = {
    "OmnicasaContactOnMeFunction": "/POST/omnicasa/contact-on-me",
    "VitecViewingParticipantFunction": "/POST/vitec/viewing-participants",
    "VitecAreaInterestFunction": "/POST/vitec/area-interests",
    "VitecPersonLeadFunction": "/POST/vitec/person-leads",
    "VitecGetContactsFunction": "/GET/vitec/contacts",
    "DeliveriesFunction": "/GET/deliveries/*",
}


def _transform(tracing: str) -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        pytest.skip("needs .venv-sam (make -f mk/sam.mk sam-venv), which `make test` creates first")
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-north-1", "AWS_REGION": "eu-north-1"}
    done = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSFORM, str(ROOT / "template.yaml"), tracing],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    resources: dict[str, Any] = json.loads(done.stdout)["Resources"]
    return resources


@pytest.fixture(scope="module")
def expanded() -> dict[str, Any]:
    return _transform("Disabled")  # the default


@pytest.fixture(scope="module")
def expanded_traced() -> dict[str, Any]:
    return _transform("Active")


def _logical_ids(value: Any) -> set[str]:
    """The resources a policy `Resource` points at: logical ids from Ref / GetAtt, or the literal."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {i for item in value for i in _logical_ids(item)}
    if isinstance(value, dict):
        if "Ref" in value:
            return {str(value["Ref"])}
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return {str(target[0] if isinstance(target, list) else target.split(".")[0])}
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            if isinstance(sub, list):
                found = {i for v in sub[1].values() for i in _logical_ids(v)}
                return found or {sub[0]}
            return {sub}
        return {i for v in value.values() for i in _logical_ids(v)}
    return {str(value)}


def _role(resources: dict[str, Any], function: str) -> dict[str, Any]:
    role_id = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role: dict[str, Any] = resources[role_id]
    assert role["Type"] == "AWS::IAM::Role"
    return role


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    policies = role["Properties"].get("Policies", [])
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def _managed(role: dict[str, Any]) -> set[str]:
    names = set()
    for arn in role["Properties"].get("ManagedPolicyArns", []):
        text = arn if isinstance(arn, str) else json.dumps(arn)
        names.add(text.split(":policy/", 1)[1].rstrip('"}'))
    return names


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("function", list(EXPECTED))
def test_each_function_gets_exactly_what_it_uses(expanded: dict[str, Any], function: str) -> None:
    granted: set[tuple[str, str]] = set()
    for statement in _statements(_role(expanded, function)):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _as_list(statement["Action"]):
            for resource in _logical_ids(statement["Resource"]):
                granted.add((action, resource))
    assert granted == EXPECTED[function]


@pytest.mark.parametrize("function", list(EXPECTED))
def test_no_statement_of_ours_names_every_resource(expanded_traced: dict[str, Any], function: str) -> None:
    for statement in _statements(_role(expanded_traced, function)):
        for resource in _as_list(statement["Resource"]):
            assert resource != "*", f"{function}: {statement}"
        for action in _as_list(statement["Action"]):
            _, _, name = action.partition(":")
            assert name not in ("*", ""), f"{function}: a whole service ({action})"


@pytest.mark.parametrize("function", list(EXPECTED))
def test_aws_managed_policies_only_where_aws_requires_them(
    expanded: dict[str, Any], expanded_traced: dict[str, Any], function: str
) -> None:
    assert _managed(_role(expanded, function)) == {"service-role/AWSLambdaBasicExecutionRole"}
    assert _managed(_role(expanded_traced, function)) == set(AWS_REQUIRED_POLICIES)


def test_every_wildcard_exception_is_documented(expanded: dict[str, Any]) -> None:
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for policy in (*AWS_REQUIRED_POLICIES, API_GATEWAY_LOGGING_POLICY):
        assert policy.rsplit("/", 1)[-1] in deploy, f"docs/deploy.md does not explain {policy}"
    roles = {k for k, v in expanded.items() if v["Type"] == "AWS::IAM::Role"}
    assert roles == {f"{f}Role" for f in EXPECTED} | {"ApiGatewayCloudWatchRole"}
    logging_role = expanded["ApiGatewayCloudWatchRole"]["Properties"]
    assert _managed({"Properties": logging_role}) == {API_GATEWAY_LOGGING_POLICY}
    assert "Policies" not in logging_role
    principal = logging_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "apigateway.amazonaws.com"}


@pytest.mark.parametrize("function", list(EXPECTED))
def test_only_lambda_assumes_a_function_role(expanded: dict[str, Any], function: str) -> None:
    (statement,) = _role(expanded, function)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    assert _as_list(statement["Action"]) == ["sts:AssumeRole"]


@pytest.mark.parametrize("function", list(ROUTES))
def test_the_api_may_invoke_a_function_only_for_its_route(expanded: dict[str, Any], function: str) -> None:
    permissions = [
        r["Properties"]
        for r in expanded.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and _logical_ids(r["Properties"]["FunctionName"]) & {function, f"{function}Aliaslive"}
    ]
    assert permissions, function
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        source = permission["SourceArn"]["Fn::Sub"]
        assert source[0].endswith(ROUTES[function]), source[0]
        assert source[1]["__ApiId__"] == {"Ref": "LeadhooksApi"}


def test_archive_access_is_by_prefix_and_only_the_replay_worker_reads(expanded: dict[str, Any]) -> None:
    """Writers put objects under their three prefixes; no function lists, reads parked envelopes or
    bodies, or deletes anything but a body it just wrote; the contacts read touches no bucket."""
    for function in EXPECTED:
        s3 = {
            (action, resource)
            for statement in _statements(_role(expanded, function))
            for action in _as_list(statement["Action"])
            if action.startswith("s3:")
            for resource in _logical_ids(statement["Resource"])
        }
        assert all(r.startswith("${ArchiveBucket.Arn}/") and r.endswith("/*") for _, r in s3), s3
        reads = {r for a, r in s3 if a == "s3:GetObject"}
        assert reads == ({ARCHIVE_QUEUED} if function == "FailureReplayFunction" else set()), function
        assert {a for a, _ in s3} <= {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}, function
        assert {r for a, r in s3 if a == "s3:DeleteObject"} <= {ARCHIVE_BODIES}, function
    assert not [s for s in _statements(_role(expanded, "VitecGetContactsFunction")) if "s3" in str(s)]
