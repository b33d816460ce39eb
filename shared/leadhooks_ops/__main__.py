"""`python -m leadhooks_ops …` (the same as `leadhooks-ops …`)."""

import sys

from leadhooks_ops.cli import main

sys.exit(main())
