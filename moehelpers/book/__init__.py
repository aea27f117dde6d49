"""The book: notebook front end, runner, CLI, report and plot helpers, hub pages, HTML build and
offline check, and analyses that read records (ceiling comparison).

The top layer: may import every layer below.
"""

from __future__ import annotations

