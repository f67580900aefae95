"""`python -m saevdb.cli ...`, the same as the `saevdb` script."""

import sys

from saevdb.cli import main

sys.exit(main())
