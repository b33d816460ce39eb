"""leadhooks' operator tool (`leadhooks-ops`, docs/operations.md): parked deliveries, queues, archive.

Not part of the Lambda layer (layers/leadhooks/Makefile copies `shared/leadhooks` only): nothing in a
function imports it. Install it with `pipx install '.[ops]'` from the repository.
"""

from leadhooks_ops.cli import main

__all__ = ["main"]
