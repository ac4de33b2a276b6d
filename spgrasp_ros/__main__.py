"""`python -m spgrasp_ros ...` runs the spgrasp command line."""

import sys

from spgrasp_ros.cli import main

sys.exit(main())
