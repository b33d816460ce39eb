"""Operator tooling for the failure path: `python -m leadhooks.ops --help` (docs/operations.md)."""

from leadhooks.ops.cli import main

__all__ = ["main"]
