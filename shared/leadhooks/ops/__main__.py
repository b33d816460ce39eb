"""`python -m leadhooks.ops …`: the same as `leadhooks-ops …` (DESIGN §4, §8 name this form)."""

import sys

from leadhooks_ops.cli import main

sys.exit(main())
