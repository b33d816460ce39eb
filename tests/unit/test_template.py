"""template.yaml and events/: the promises DESIGN makes about the AWS side, checked offline.

`make -f mk/sam.mk sam-validate` runs SAM's and cfn-lint's schema checks; these tests pin what a
schema cannot know: routes, runtime, layer, log retention, encryption, least privilege, samples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with the dev tools (moto, cfn-lint)

ROOT = Path(__file__).resolve().parents[2]

# function directory -> (logical id, route method, route path); None for the SQS consumer.
FUNCTIONS: dict[str, tuple[str, str | None, str | None]] = {
    "omnicasa_contact_on_me": ("OmnicasaContactOnMeFunction", "POST", "/omnicasa/contact-on-me"),
    "vitec_viewing_participant": ("VitecViewingParticipantFunction", "POST", "/vitec/viewing-participants"),
    "vitec_area_interest": ("VitecAreaInterestFunction", "POST", "/vitec/area-interests"),
    "vitec_person_lead": ("VitecPersonLeadFunction", "POST", "/vitec/person-leads"),
    "vitec_get_contacts": ("VitecGetContactsFunction", "GET", "/vitec/contacts"),
    "deliveries": ("DeliveriesFunction", "GET", "/deliveries/{deliveryId}"),
    "failure_replay": ("FailureReplayFunction", None, None),
}
API_FUNCTIONS = [name for name, (_, method, _) in FUNCTIONS.items() if method]

# Secrets each function may read (DESIGN §7), and nothing else.
SECRETS: dict[str, set[str]] = {
    "omnicasa_contact_on_me": {"OmnicasaSecret", "InboundSecret", "JournalSecret"},
    "vitec_viewing_participant": {"VitecSecret", "InboundSecret", "JournalSecret"},
    "vitec_area_interest": {"VitecSecret", "InboundSecret", "JournalSecret"},
    "vitec_person_lead": {"VitecSecret", "InboundSecret", "JournalSecret"},
    "vitec_get_contacts": {"VitecSecret", "InboundSecret"},
    "deliveries": {"InboundSecret"},
    "failure_replay": {"VitecSecret", "OmnicasaSecret"},
}

# SAM policy templates that are scoped to one resource; anything broader must be a Statement.
SCOPED_POLICY_TEMPLATES = {"AWSSecretsManagerGetSecretValuePolicy", "SQSSendMessagePolicy", "SQSPollerPolicy"}


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...) into dicts."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: Any) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=CfnLoader)
    return loaded


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def _function_props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The function's properties with Globals.Function underneath (SAM's merge, for scalars and lists)."""
    merged = dict(template.get("Globals", {}).get("Function", {}))
    merged.update(template["Resources"][logical_id]["Properties"])
    return merged


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    found = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
        if isinstance(policy, dict) and "PolicyDocument" in policy:
            found.extend(policy["PolicyDocument"]["Statement"])
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---- functions ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function_runtime_layer_and_code(template: dict[str, Any], name: str) -> None:
    logical_id = FUNCTIONS[name][0]
    assert template["Resources"][logical_id]["Type"] == "AWS::Serverless::Function"
    props = _function_props(template, logical_id)
    assert props["CodeUri"] == f"functions/{name}/"
    assert props["Handler"] == "app.lambda_handler"
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert {"Ref": "LeadhooksLayer"} in props["Layers"]
    assert (ROOT / "functions" / name / "app.py").is_file()


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function_has_its_own_log_group_with_retention(template: dict[str, Any], name: str) -> None:
    logical_id = FUNCTIONS[name][0]
    props = _function_props(template, logical_id)
    group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    group = template["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    function_name = props["FunctionName"]["Fn::Sub"]
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}


def test_log_retention_defaults_to_30_days(template: dict[str, Any]) -> None:
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_every_log_group_has_retention(resources: dict[str, Any]) -> None:
    """Functions' and the API's access log groups alike: none keeps personal data forever."""
    groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == len(FUNCTIONS) + 1
    for logical_id, group in groups.items():
        assert group["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"}, logical_id
    access_log = resources["LeadhooksApi"]["Properties"]["AccessLogSetting"]["DestinationArn"]
    assert access_log == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_api_route(template: dict[str, Any], name: str) -> None:
    logical_id, method, path = FUNCTIONS[name]
    events = template["Resources"][logical_id]["Properties"]["Events"]
    routes = {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
        for e in events.values()
        if e["Type"] == "Api" and e["Properties"]["RestApiId"] == {"Ref": "LeadhooksApi"}
    }
    assert routes == {(method, path)}


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_api_functions_can_use_snapstart(template: dict[str, Any], name: str) -> None:
    props = _function_props(template, FUNCTIONS[name][0])
    assert props["AutoPublishAlias"] == "live"
    assert props["SnapStart"] == {"ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}}
    assert template["Parameters"]["EnableSnapStart"]["Default"] == "false"


def test_environment_carries_every_setting(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for key in (
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_TRACE_DISABLED",
        "LEADHOOKS_TRACING",
        "FAILURE_QUEUE_URL",
        "PARKED_QUEUE_URL",
        "IDEMPOTENCY_TABLE",
        "PACING_TABLE",
        "ARCHIVE_BUCKET",
        "VITEC_BASE_URL",
        "OMNICASA_BASE_URL",
        "VITEC_SECRET_ID",
        "OMNICASA_SECRET_ID",
        "INBOUND_SECRET_ID",
        "SECRETS_MAX_AGE_S",
    ):
        assert key in env, key
    # One service name per stack: the metrics' `service` dimension keeps two stacks' graphs apart.
    assert env["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Leadhooks"


# ---- layer ----------------------------------------------------------------------------------


def test_layer_is_built_by_its_makefile_for_arm64(resources: dict[str, Any]) -> None:
    layer = resources["LeadhooksLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/leadhooks/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / "layers/leadhooks/Makefile").read_text(encoding="utf-8")
    assert "build-LeadhooksLayer:" in makefile


def test_layer_requirements_are_pinned_and_leave_boto3_to_the_runtime() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "layers/leadhooks/requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    names = {line.split("==")[0].lower() for line in lines}
    assert all("==" in line for line in lines)
    assert not names & {"boto3", "botocore", "s3transfer"}
    assert {"aws-lambda-powertools", "pydantic", "requests", "phonenumbers", "python-stdnum"} <= names


# ---- queues, table, secrets -----------------------------------------------------------------


@pytest.mark.parametrize("logical_id", ["FailureQueue", "ParkedQueue"])
def test_queues_are_encrypted(resources: dict[str, Any], logical_id: str) -> None:
    props = resources[logical_id]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props


def test_every_queue_is_encrypted_and_tls_only(resources: dict[str, Any]) -> None:
    queues = {k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert queues == {"FailureQueue", "ParkedQueue"}
    for logical_id in queues:
        props = resources[logical_id]["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, logical_id
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    covered = {q["Ref"] for p in policies for q in p["Queues"]}
    assert covered == queues
    for policy in policies:
        (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_parked_queue_keeps_messages_14_days(resources: dict[str, Any]) -> None:
    assert resources["ParkedQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600


def test_failure_queue_redrives_to_parked_queue(template: dict[str, Any], resources: dict[str, Any]) -> None:
    props = resources["FailureQueue"]["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ParkedQueue", "Arn"]},
        "maxReceiveCount": 6,
    }
    replay_timeout = _function_props(template, "FailureReplayFunction")["Timeout"]
    assert props["VisibilityTimeout"] >= 6 * replay_timeout


def test_replay_consumes_the_failure_queue_with_partial_batch_responses(resources: dict[str, Any]) -> None:
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert mapping["FunctionName"]["Ref"].startswith("FailureReplayFunction")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10


def test_idempotency_table(resources: dict[str, Any]) -> None:
    props = resources["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize(
    ("logical_id", "keys"),
    [
        ("VitecSecret", {"customers", "default"}),
        ("OmnicasaSecret", {"secretKey"}),
        ("InboundSecret", {"clients"}),
    ],
)
def test_secret_placeholders_have_the_documented_shape(
    resources: dict[str, Any], logical_id: str, keys: set[str]
) -> None:
    secret = resources[logical_id]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert set(json.loads(secret["Properties"]["SecretString"])) == keys


def test_stateful_resources_are_retained(resources: dict[str, Any]) -> None:
    """DESIGN §8: the queues, the table, the archive and the secrets outlive a stack delete or a
    replacement (what they hold is leads and credentials, not configuration)."""
    stateful = {
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
    }
    found = {k for k, r in resources.items() if r["Type"] in stateful}
    assert found >= {
        "FailureQueue",
        "ParkedQueue",
        "IdempotencyTable",
        "ArchiveBucket",
        "VitecSecret",
        "OmnicasaSecret",
        "InboundSecret",
    }
    # The pacing budgets hold neither leads nor credentials, only a schedule a day long at most: a
    # retained copy would only block re-creating a stack of the same name.
    assert resources["PacingTable"].get("DeletionPolicy") == "Delete"
    for logical_id in found - {"PacingTable"}:
        resource = resources[logical_id]
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_archive_bucket_is_private_encrypted_versioned_and_expires(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    props = resources["ArchiveBucket"]["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    retention = rules["ParkedRetention"]
    assert "Prefix" not in retention and "Filter" not in retention  # the whole bucket
    assert retention["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert retention["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "ArchiveRetentionDays"}}
    (transition,) = retention["Transitions"]
    assert transition["StorageClass"] == "GLACIER_IR"  # instant reads: the ops CLI still works
    parameter = template["Parameters"]["ArchiveRetentionDays"]
    assert parameter["Default"] >= 365 and parameter["MinValue"] > transition["TransitionInDays"]
    # TLS only
    (policy,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert policy["Bucket"] == {"Ref": "ArchiveBucket"}
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert {"Fn::GetAtt": ["ArchiveBucket", "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": "${ArchiveBucket.Arn}/*"} in deny["Resource"]
    # The functions and the ops CLI find it.
    assert template["Globals"]["Function"]["Environment"]["Variables"]["ARCHIVE_BUCKET"] == {
        "Ref": "ArchiveBucket"
    }
    assert template["Outputs"]["ArchiveBucketName"]["Value"] == {"Ref": "ArchiveBucket"}


# ---- throttling -----------------------------------------------------------------------------


def test_api_stage_is_throttled(template: dict[str, Any], resources: dict[str, Any]) -> None:
    """Every route of the stage has a burst and a rate limit (429 above them): the API functions'
    bound, instead of reserved concurrency (.checkov.yaml, CKV_AWS_115)."""
    settings = resources["LeadhooksApi"]["Properties"]["MethodSettings"]
    (everything,) = [m for m in settings if m["ResourcePath"] == "/*" and m["HttpMethod"] == "*"]
    assert everything["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert everything["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    for name in ("ApiThrottlingBurstLimit", "ApiThrottlingRateLimit"):
        parameter = template["Parameters"][name]
        assert parameter["MinValue"] >= 1 and parameter["Default"] >= 1, name
    # Execution logs and data traces would write request bodies (personal data).
    assert everything["LoggingLevel"] == "OFF" and everything["DataTraceEnabled"] is False


def test_every_route_has_its_own_throttle(template: dict[str, Any], resources: dict[str, Any]) -> None:
    """Issue 11: one route's flood (authenticated or not: API Gateway cannot check our keys) must not use
    up the stage's whole limit. Every catalog route has a method setting of its own, bounded by a
    parameter with a sane default, and logs no bodies."""
    from leadhooks.catalog import CATALOG

    settings = resources["LeadhooksApi"]["Properties"]["MethodSettings"]
    by_route = {(m["ResourcePath"], m["HttpMethod"]): m for m in settings}
    for item in CATALOG:
        setting = by_route.get(("/" + item.route.replace("/", "~1"), item.method))
        assert setting is not None, f"no throttle for {item.method} {item.route}"
        for key in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
            parameter = template["Parameters"][setting[key]["Ref"]]
            assert parameter["MinValue"] >= 1 and 1 <= parameter["Default"] <= 50, (item.route, key)
        assert setting["LoggingLevel"] == "OFF" and setting["DataTraceEnabled"] is False


def test_waf_is_optional_off_in_dev_and_on_in_prod(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    acl = resources["ApiWebAcl"]
    association = resources["ApiWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "WafEnabled"
    assert template["Parameters"]["EnableWaf"]["Default"] == "false"
    (rate,) = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == {"Ref": "WafRateLimitPer5Minutes"}
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "${LeadhooksApi.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    samconfig = (ROOT / "samconfig.toml").read_text(encoding="utf-8")
    overrides = [line for line in samconfig.splitlines() if line.startswith("parameter_overrides")]
    assert [("EnableWaf=true" in line) for line in overrides] == [False, False, True]  # default, dev, prod


def test_replay_concurrency_is_capped(resources: dict[str, Any]) -> None:
    """failure_replay has no API in front of it: its event source caps how many run at once."""
    kind = "AWS::Lambda::EventSourceMapping"
    (mapping,) = [r["Properties"] for r in resources.values() if r["Type"] == kind]
    assert 1 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 5
    # The local replay worker emulates the same event source (docs/pacing.md).
    from local.replay_worker import CONCURRENCY

    assert mapping["ScalingConfig"]["MaximumConcurrency"] == CONCURRENCY


def test_pacing_table(resources: dict[str, Any]) -> None:
    props = resources["PacingTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_dashboard_has_pacing_widgets_per_customer(resources: dict[str, Any]) -> None:
    """One line per customer through SEARCH: customers come and go without a template change."""
    dashboard = json.loads(resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    expressions = [
        line[0]["expression"]
        for widget in dashboard["widgets"]
        for line in widget.get("properties", {}).get("metrics", [])
        if isinstance(line[0], dict)
    ]
    for metric in ("PacedQueued", "Throttled"):
        search = f"SEARCH('Leadhooks MetricName=\"{metric}\" service=\"${{AWS::StackName}}\"', 'Sum', 60)"
        assert search in expressions, metric


# ---- checkov suppressions -------------------------------------------------------------------

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")


def test_every_checkov_skip_in_the_template_has_a_reason(resources: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips  # SSE-SQS on both queues, X-Ray and caching on the API
    for logical_id, skip in skips:
        assert _CHECK_ID.match(str(skip.get("id", ""))), (logical_id, skip)
        reason = str(skip.get("comment", ""))
        assert len(reason.split()) >= 8, f"{logical_id}: {skip.get('id')} needs a reason"


def test_every_checkov_skip_in_the_config_has_a_reason() -> None:
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text(encoding="utf-8"))
    assert config["framework"] == ["cloudformation"] and config["file"] == ["template.yaml"]
    assert config["skip-download"] is True
    lines = (ROOT / ".checkov.yaml").read_text(encoding="utf-8").splitlines()
    reasons = {}
    for line in lines:
        match = re.match(r"^\s+-\s+(CKV\w+)\s*(?:#\s*(.*))?$", line)
        if match:
            reasons[match.group(1)] = match.group(2) or ""
    assert set(reasons) == set(config.get("skip-check", []))
    for check, reason in reasons.items():
        assert _CHECK_ID.match(check), check
        assert len(reason.split()) >= 8, f".checkov.yaml skips {check} without a reason"


# ---- least privilege ------------------------------------------------------------------------


def test_no_statement_grants_every_resource(resources: dict[str, Any]) -> None:
    """Resource "*" only where AWS requires it: in a KMS key policy "*" means that key itself.

    (SAM also attaches AWS managed policies that name "*": AWSLambdaBasicExecutionRole for logs and
    AWSXrayWriteOnlyAccess for tracing; X-Ray has no resource-level permissions.)
    """
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        statements: list[dict[str, Any]] = []
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::IAM::Role"):
            statements = _statements(props.get("Policies", []))
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            statements = props["PolicyDocument"]["Statement"]
        for statement in statements:
            if statement.get("Effect") == "Deny":
                continue
            assert "*" not in _as_list(statement["Resource"]), f"{logical_id}: {statement}"


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functions_only_get_scoped_permissions(resources: dict[str, Any], name: str) -> None:
    policies = resources[FUNCTIONS[name][0]]["Properties"].get("Policies", [])
    assert isinstance(policies, list)
    secrets = set()
    for policy in policies:
        assert isinstance(policy, dict), f"{name}: managed policy {policy!r} is broader than needed"
        if "Statement" in policy:
            continue
        (template_name, args), *_ = policy.items()
        assert template_name in SCOPED_POLICY_TEMPLATES, template_name
        if template_name == "AWSSecretsManagerGetSecretValuePolicy":
            secrets.add(args["SecretArn"]["Ref"])
    assert secrets == SECRETS[name]


# ---- alarms ---------------------------------------------------------------------------------


def test_alarms_cover_parked_deliveries_errors_and_5xx(resources: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a["Namespace"], a["MetricName"], json.dumps(a["Dimensions"][0]["Value"])) for a in alarms}
    parked = json.dumps({"Fn::GetAtt": ["ParkedQueue", "QueueName"]})
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", parked) in watched
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", parked) in watched
    for logical_id, _, _ in FUNCTIONS.values():
        assert ("AWS/Lambda", "Errors", json.dumps({"Ref": logical_id})) in watched
    assert any(a["Namespace"] == "AWS/ApiGateway" and a["MetricName"] == "5XXError" for a in alarms)
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


# ---- sample events --------------------------------------------------------------------------


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_native_sample_event_matches_its_route(name: str) -> None:
    _, method, path = FUNCTIONS[name]
    event = json.loads((ROOT / "events" / name / "native.json").read_text(encoding="utf-8"))
    assert (event["httpMethod"], event["resource"]) == (method, path)
    # A path parameter (`{deliveryId}`) is a concrete segment in the path, and in pathParameters.
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(str(path)))
    match = re.fullmatch(pattern, event["path"])
    assert match, event["path"]
    assert (event["pathParameters"] or {}) == match.groupdict()
    assert event["requestContext"]["resourcePath"] == path
    assert event["headers"]["x-api-key"] == "local-api-key"
    assert event["isBase64Encoded"] is False
    if method == "GET":
        assert event["body"] is None
    if name == "vitec_get_contacts":
        assert event["queryStringParameters"]["customerId"] == "M10001"
    elif method == "POST":
        assert isinstance(event["body"], str)
        assert isinstance(json.loads(event["body"]), dict)


def test_replay_sample_event_carries_a_failure_envelope() -> None:
    event = json.loads((ROOT / "events/failure_replay/sqs.json").read_text(encoding="utf-8"))
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    envelope = json.loads(record["body"])
    required = {"deliveryId", "operation", "attempt", "firstSeenAt", "vendorRequest", "lastError"}
    assert required <= set(envelope)
    assert envelope["operation"] in FUNCTIONS


def test_the_journal_hash_indexes_match_the_local_stack_and_no_function_queries_them(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    from leadhooks.journal import INDEXES

    from local.aws import JOURNAL_INDEXES

    table = resources["IdempotencyTable"]["Properties"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == sorted(JOURNAL_INDEXES) == sorted(INDEXES.values())
    for name, index in indexes.items():
        assert index["KeySchema"] == [{"AttributeName": name, "KeyType": "HASH"}]
        assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert "dynamodb:Query" not in json.dumps(resources)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["JOURNAL_SECRET_ID"] == {"Ref": "JournalSecret"}
    assert env["JOURNAL_RETENTION_DAYS"] == {"Ref": "JournalRetentionDays"}
