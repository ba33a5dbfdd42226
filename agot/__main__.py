"""``python -m agot`` runs the agot command line (the same as the ``agot`` script)."""

import sys

from agot.cli import main

sys.exit(main())
