"""``python -m exsyfit`` runs the command-line interface."""

import sys

from exsyfit.cli import main

sys.exit(main())
