"""Each function imports only its own operation (issue 14): its own vendor package, never another
vendor's, never the operator tool, and nothing heavy that only some requests need.

Every check runs in a fresh interpreter, as a new Lambda execution environment would: importing
something in this test process would hide what the handler module itself pulls in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from leadhooks.catalog import CATALOG, WRITES

from local.config import product_env

ROOT = Path(__file__).resolve().parents[2]
VENDORS = sorted({e.vendor for e in CATALOG if e.vendor is not None})
PROBE = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
    "print(json.dumps(sorted(sys.modules)))"
)


def modules_after_import(function: str) -> set[str]:
    """Every module loaded by `import functions.<function>.app` in a fresh interpreter."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LEADHOOKS_"))},
        **product_env(9, 9),  # ports nobody listens on: importing must not touch the network
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, f"functions.{function}.app"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def loaded_under(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


@pytest.mark.parametrize("entry", WRITES, ids=lambda e: e.name)
def test_a_write_function_imports_only_its_own_vendor(entry) -> None:
    modules = modules_after_import(entry.name)
    assert loaded_under(modules, f"leadhooks.vendors.{entry.vendor}"), "its own vendor package is missing"
    for other in VENDORS:
        if other != entry.vendor:
            assert loaded_under(modules, f"leadhooks.vendors.{other}") == [], f"imports {other}'s package"
    assert loaded_under(modules, "leadhooks_ops") == []
    assert loaded_under(modules, "leadhooks.ops") == []


@pytest.mark.parametrize("entry", [e for e in CATALOG if e.kind == "read"], ids=lambda e: e.name)
def test_a_read_function_does_not_import_the_write_pipeline(entry) -> None:
    modules = modules_after_import(entry.name)
    for package in ("leadhooks.logic.delivery", "leadhooks.queues", "leadhooks_ops", "leadhooks.ops"):
        assert loaded_under(modules, package) == [], f"{entry.name} imports {package}"
    for other in VENDORS:
        if other != entry.vendor:
            assert loaded_under(modules, f"leadhooks.vendors.{other}") == []


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_no_function_loads_phone_or_personnummer_tables_or_boto3_at_import(entry) -> None:
    """phonenumbers (and python-stdnum) load on the first request with a phone field; boto3 on the first
    request that reaches an AWS service (or at init with SnapStart, where init is free)."""
    modules = modules_after_import(entry.name)
    for heavy in ("phonenumbers", "stdnum", "boto3", "botocore.client"):
        assert loaded_under(modules, heavy) == [], f"{entry.name} imports {heavy} at import time"


def test_a_delivered_lead_needs_no_failure_path_modules() -> None:
    """The queues, the failure envelope and the archive load when a delivery is queued or parked."""
    modules = modules_after_import("vitec_person_lead")
    for package in (
        "leadhooks.queues",
        "leadhooks.failures",
        "leadhooks.archive",
        "leadhooks.logic.oversized",
    ):
        assert loaded_under(modules, package) == [], f"imports {package}"
