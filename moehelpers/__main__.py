"""``python -m moehelpers`` — see :mod:`moehelpers.book.cli`."""

import sys

from moehelpers.book.cli import main

sys.exit(main())
