"""A small Sphinx extension the book loads (``sphinx.extra_extensions`` in ``_config.yml``).

Inline scripts (sphinx_thebe's ``const THEBE_JS_URL = …``, sphinx_togglebutton's selector)
reach the page twice — once registered with filename ``None``, once with ``""`` — and the
browser reports *Identifier 'THEBE_JS_URL' has already been declared*. Duplicate script
entries are dropped per page.
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
    for js in scripts:  # the same inline script is registered once with filename None, once ""
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""), repr(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    """Register the page hook."""
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
