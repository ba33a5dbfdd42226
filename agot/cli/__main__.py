"""`python -m agot.cli` runs the agot command line."""

import sys

from agot.cli import main

sys.exit(main())
