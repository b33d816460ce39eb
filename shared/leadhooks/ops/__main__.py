"""`python -m leadhooks.ops …`"""

import sys

from leadhooks.ops.cli import main

sys.exit(main())
