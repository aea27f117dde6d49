"""``python -m moehelpers`` — see :mod:`moehelpers.cli`."""

import sys

from moehelpers.cli import main

sys.exit(main())
