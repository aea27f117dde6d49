"""A small Sphinx extension the book loads (``sphinx.extra_extensions`` in ``_config.yml``).

``sphinx_thebe`` registers its inline configuration script on every read pass, so a page
can carry ``const THEBE_JS_URL = …`` twice and the browser reports *Identifier
'THEBE_JS_URL' has already been declared*. Duplicate script entries are dropped per page.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup"]


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for js in scripts:
        key = (str(js), str(getattr(js, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app: Any) -> dict[str, Any]:
    """Register the page hook."""
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
