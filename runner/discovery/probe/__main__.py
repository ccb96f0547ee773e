"""`python -m <this package>`: run the probe (see the package docstring)."""

import sys

from .main import main

sys.exit(main())
