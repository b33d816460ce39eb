"""The deploy guide's promises about template.yaml and samconfig.toml (docs/deploy.md): parameters that
must be chosen have no silent default, two stacks share an account without clashing, a custom domain
is optional, and the replay-stalled alarm says the same number as the docs and the replay schedule."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from leadhooks.settings import Settings

from tests.unit.test_template import CfnLoader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=CfnLoader)
    return loaded


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def overrides(samconfig: dict[str, Any], env: str) -> dict[str, str]:
    text = samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in text.split())


def test_the_omnicasa_url_has_no_invented_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["OmnicasaBaseUrl"]
    assert "Default" not in parameter, "no published production URL: the deploying agency must set it"
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("https://omnicasa.invalid")
    assert not pattern.match("SET-ME") and not pattern.match("https://api.example.be/")


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_every_environment_names_its_alarm_email_and_omnicasa_url(
    samconfig: dict[str, Any], env: str
) -> None:
    values = overrides(samconfig, env)
    assert "AlarmEmail" in values and "OmnicasaBaseUrl" in values


@pytest.mark.parametrize("name", ["AlarmEmail", "OmnicasaBaseUrl"])
def test_samconfig_placeholders_are_refused_until_replaced(
    template: dict[str, Any], samconfig: dict[str, Any], name: str
) -> None:
    pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
    for env in ("dev", "prod"):
        value = overrides(samconfig, env)[name]
        assert value == "SET-ME" and not pattern.match(value), "a deploy with the placeholder must fail"
    assert "SET-ME" in template["Parameters"][name]["ConstraintDescription"]


def test_no_stack_takes_the_account_wide_api_gateway_setting_unless_asked(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ConfigureApiGatewayAccount"]["Default"] == "false"
    for logical_id in ("ApiGatewayCloudWatchRole", "ApiGatewayAccount"):
        resource = template["Resources"][logical_id]
        assert resource["Condition"] == "CreateApiGatewayAccount"
        # Deleting the stack that set it must not break the others' access logs.
        assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"


def test_two_stacks_in_one_account_keep_their_metrics_apart(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    searches = re.findall(r"SEARCH\('([^']*)'", body)
    assert searches, "the dashboard graphs leadhooks' own metrics"
    for search in searches:
        assert 'service=\\"${AWS::StackName}\\"' in search, search


def test_the_custom_domain_is_optional_and_complete(template: dict[str, Any]) -> None:
    params, resources = template["Parameters"], template["Resources"]
    for name in ("DomainName", "CertificateArn", "HostedZoneId"):
        assert params[name]["Default"] == ""
    assert resources["ApiDomainName"]["Condition"] == "HasCustomDomain"
    assert resources["ApiDomainName"]["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    mapping = resources["ApiBasePathMapping"]
    assert mapping["Condition"] == "HasCustomDomain"
    assert mapping["Properties"]["RestApiId"] == {"Ref": "LeadhooksApi"}
    assert resources["ApiDnsRecord"]["Condition"] == "HasDnsRecord"
    assert template["Outputs"]["ApiCustomDomainUrl"]["Condition"] == "HasCustomDomain"


def test_replay_stalled_alarm_is_one_number_in_template_schedule_and_docs(template: dict[str, Any]) -> None:
    threshold = template["Resources"]["FailureQueueAgeAlarm"]["Properties"]["Threshold"]
    schedule = Settings.model_fields["replay_backoff_s"].default
    parked_after = sum(schedule)  # a delivery still failing is parked after the last step
    assert parked_after < threshold <= parked_after + 3600, (
        "alarm only once no healthy delivery can be that old"
    )
    hours = threshold / 3600
    for doc in ("docs/deploy.md", "docs/operations.md"):
        rows = [
            line for line in (ROOT / doc).read_text(encoding="utf-8").splitlines() if "replay-stalled" in line
        ]
        assert rows and all(f"{hours:g} h" in row for row in rows if row.startswith("|")), (doc, rows)
