"""`python -m tinyxp` runs the `tinyxp` command."""
import sys

from .cli import main

sys.exit(main())
