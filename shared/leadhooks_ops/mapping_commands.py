"""`mapping check` and `typeform check` for `leadhooks-ops`: thin wrappers over
`leadhooks.inbound.mapping_check`, registered through `cli.COMMAND_GROUPS`.

They read local files only (no queue, no AWS credentials): both are `offline` commands, called with
`(args, out)` like `secrets check`.
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


def add_mapping_commands(groups: Any) -> None:
    """`mapping check FILE --operation OP [--sample PAYLOAD.json]`: offline (docs/inbound.md §5)."""
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
    leaf.set_defaults(func=_offline(run_mapping_check), offline=True)


def add_typeform_commands(groups: Any) -> None:
    """`typeform check FORM.json --operation OP`: offline (docs/inbound.md, Typeform)."""
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
    leaf.set_defaults(func=_offline(run_typeform_check), offline=True)


def _offline(func: Any) -> Any:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        return int(guarded(func, args, out, sys.stderr))

    return run
