"""`python -m leadhooks.ops`: an alias of the operator tool `leadhooks-ops` (package `leadhooks_ops`).

The tool itself is not in the Lambda layer; the layer build drops this alias too (layers/leadhooks/
Makefile), so nothing here is importable in a function.
"""
