"""`mapping check` and `typeform check` for the ops CLI: thin wrappers over
`leadhooks.inbound.mapping_check`, registered by `register(groups)`.

They read local files only (no queue, no AWS credentials), so the CLI runs them without building an
SQS client: each sets `offline` to the function to call with `(args, out)`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from leadhooks.inbound.mapping_check import (
    add_mapping_arguments,
    add_typeform_arguments,
    guarded,
    run_mapping_check,
    run_typeform_check,
)

COMMANDS = ("mapping", "typeform")


def register(groups: Any) -> None:
    """Add `mapping check` and `typeform check` to the CLI's top-level subparsers."""
    mapping = groups.add_parser(
        "mapping",
        help="check a client's mapping offline",
        description="Check a declarative mapping (docs/inbound.md) without sending anything.",
    )
    leaf = mapping.add_subparsers(dest="command", metavar="{check}", required=True).add_parser(
        "check",
        help="what a mapping does; with --sample, the native body and vendor request it produces",
        description="What a mapping does; with --sample, the native body and vendor request it produces.",
    )
    add_mapping_arguments(leaf)
    leaf.set_defaults(offline=_offline(run_mapping_check))

    typeform = groups.add_parser(
        "typeform",
        help="check a Typeform form export offline",
        description="Check a Typeform form export (the Create API's form JSON) against an operation.",
    )
    leaf = typeform.add_subparsers(dest="command", metavar="{check}", required=True).add_parser(
        "check",
        help="per question its target path, then the required fields the form does not collect",
        description="Per question its target path, then the required fields the form does not collect.",
    )
    add_typeform_arguments(leaf)
    leaf.set_defaults(offline=_offline(run_typeform_check))


def _offline(func: Any) -> Any:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        return guarded(func, args, out, sys.stderr)

    return run
