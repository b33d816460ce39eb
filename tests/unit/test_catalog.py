"""The operation catalog against every place that must agree with it: a forgotten one fails here, not
at replay time with parked leads."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from leadhooks.catalog import CATALOG, WRITES, entry, write_operation

ROOT = Path(__file__).resolve().parents[2]
# Functions that are not an HTTP operation of their own.
NOT_ROUTES = {"failure_replay"}


def _template_routes() -> dict[str, tuple[str, str]]:
    """CodeUri folder → (Path, Method) of the function's Api event, read from template.yaml's text."""
    text = (ROOT / "template.yaml").read_text()
    routes: dict[str, tuple[str, str]] = {}
    for block in re.split(r"\n  [A-Za-z0-9]+:\n    Type: AWS::Serverless::Function", text)[1:]:
        code = re.search(r"CodeUri: functions/([a-z_]+)/", block)
        path = re.search(r"Path: (\S+)", block)
        method = re.search(r"Method: (\S+)", block)
        if code and path and method:
            routes[code.group(1)] = (path.group(1), method.group(1))
    return routes


def test_every_function_folder_is_in_the_catalog_and_back() -> None:
    folders = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")} - NOT_ROUTES
    assert folders == {e.name for e in CATALOG}


def test_the_template_serves_each_entry_at_its_route_and_method() -> None:
    routes = _template_routes()
    for e in CATALOG:
        assert routes.get(e.name) == (e.route, e.method), e.name


def test_every_entry_has_a_sample_event_for_its_route() -> None:
    for e in CATALOG:
        samples = sorted((ROOT / "events" / e.name).glob("*.json"))
        assert samples, f"events/{e.name}/ has no sample event"
        for sample in samples:
            event = json.loads(sample.read_text())
            assert event["httpMethod"] == e.method, sample
            assert event["resource"] == e.route, sample


def test_each_handler_is_the_catalog_entry_and_nothing_else() -> None:
    """Three lines: no rule, route or model is spelled out in a handler."""
    for e in CATALOG:
        source = (ROOT / "functions" / e.name / "app.py").read_text()
        tree = ast.parse(source)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(calls) == 1 and ast.unparse(calls[0]) == f"operation_entrypoint('{e.name}')", e.name


@pytest.mark.parametrize("e", WRITES, ids=lambda e: e.name)
def test_every_write_resolves_to_its_vendor_operation(e) -> None:
    op = e.operation()
    assert op.name == e.name and op.vendor == e.vendor
    assert write_operation(e.name) is op
    assert op.creates, "say what one call creates at the vendor (DESIGN §6)"


def test_only_the_viewing_registration_is_never_resent_after_an_ambiguous_outcome() -> None:
    never = {e.name for e in WRITES if not e.operation().resend_after_ambiguous}
    assert never == {"vitec_viewing_participant"}


def test_scopes_are_the_routes_last_literal_segment() -> None:
    for e in CATALOG:
        literal = [s for s in e.route.split("/") if s and not s.startswith("{")]
        assert e.scope == literal[-1], e.name
    assert entry("vitec_get_contacts").kind == "read"
    assert write_operation("vitec_get_contacts") is None
    assert write_operation("no_such_operation") is None
