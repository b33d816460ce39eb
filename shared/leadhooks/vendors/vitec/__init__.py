"""Vitec Express Connect (vendor-docs/vitec-*.txt)."""
