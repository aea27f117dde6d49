"""Figures of the hub pages that must render offline: the MVP dependency diagram as a static
SVG (no Mermaid, no Graphviz) and the R²-vs-noise plotly figure across runs."""

from __future__ import annotations

import html
import posixpath
from collections.abc import Mapping, Sequence

import pandas as pd

from moehelpers.records.registry import MVPS, mvp

__all__ = ["STATUS_COLORS", "dependency_svg", "r2_vs_noise_html"]

#: Fill colours of the diagram's boxes by experiment status (legend drawn with them).
STATUS_COLORS = {
    "all rules hold": "#c8e6c9", "some rules fail": "#ffe0b2", "no rule holds": "#ffcdd2",
    "notebook failed": "#ef9a9a", "not run yet": "#eeeeee", "no notebook yet": "#ffffff",
}
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _PAD = 190, 46, 22, 34, 16
_LEGEND_COLS = 3


def _depth(ids: Sequence[str]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def visit(i: str, seen: tuple[str, ...] = ()) -> int:
        if i in depth:
            return depth[i]
        entry = mvp(i)
        parents = [p for p in (entry.depends if entry else ()) if p in ids and p not in seen]
        depth[i] = 1 + max((visit(p, (*seen, i)) for p in parents), default=-1)
        return depth[i]

    for i in ids:
        visit(i)
    return depth


def dependency_svg(status: Mapping[str, str], links: Mapping[str, str], page: str) -> str:
    """Layered SVG of the MVP dependencies, coloured by ``status`` (a key of STATUS_COLORS).

    ``links`` maps an MVP id to the docname of its executed notebook; ``page`` is the docname
    of the page embedding the SVG (hrefs are made relative to it). Experiments beyond the
    registry get a row of their own at the bottom.
    """
    known = [m.id for m in MVPS]
    extra = [i for i in status if i not in known]
    depth = _depth(known)
    rows: dict[int, list[str]] = {}
    for i in known:
        rows.setdefault(depth[i], []).append(i)
    if extra:
        rows[max(rows) + 1] = extra
    ncol = max(len(r) for r in rows.values())
    width = 2 * _PAD + ncol * _BOX_W + (ncol - 1) * _GAP_X
    n_legend = -(-len(STATUS_COLORS) // _LEGEND_COLS)
    height = 2 * _PAD + len(rows) * (_BOX_H + _GAP_Y) + 22 * n_legend
    pos: dict[str, tuple[float, float]] = {}
    for level, ids in sorted(rows.items()):
        # order a row by the mean position of its parents (fewer crossing arrows)
        def centre(i: str) -> float:
            entry = mvp(i)
            xs = [pos[p][0] for p in (entry.depends if entry else ()) if p in pos]
            return sum(xs) / len(xs) if xs else 0.0

        ids.sort(key=centre)
        offset = (width - len(ids) * _BOX_W - (len(ids) - 1) * _GAP_X) / 2
        for k, i in enumerate(ids):
            pos[i] = (offset + k * (_BOX_W + _GAP_X), _PAD + level * (_BOX_H + _GAP_Y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'style="max-width:{width}px;width:100%;height:auto;font-family:sans-serif" '
             'role="img" aria-label="MVP dependency diagram">',
             '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
             '</marker></defs>']
    for i in known:
        entry = mvp(i)
        for p in entry.depends if entry else ():
            if p in pos:
                (x0, y0), (x1, y1) = pos[p], pos[i]
                sx, sy, tx, ty = x0 + _BOX_W / 2, y0 + _BOX_H, x1 + _BOX_W / 2, y1
                mid = (sy + ty) / 2
                parts.append(f'<path d="M{sx:.0f},{sy:.0f} C{sx:.0f},{mid:.0f} {tx:.0f},'
                             f'{mid:.0f} {tx:.0f},{ty - 2:.0f}" fill="none" stroke="#555" '
                             'stroke-width="1.3" marker-end="url(#arr)"/>')
    page_dir = posixpath.dirname(page)
    for i, (x, y) in pos.items():
        entry = mvp(i)
        title = html.escape(entry.title if entry else "beyond the document")
        fill = STATUS_COLORS.get(status.get(i, "no notebook yet"), "#ffffff")
        box = (f'<rect x="{x:.0f}" y="{y:.0f}" width="{_BOX_W}" height="{_BOX_H}" rx="7" '
               f'fill="{fill}" stroke="#333"/><text x="{x + _BOX_W / 2:.0f}" y="{y + 19:.0f}" '
               f'text-anchor="middle" font-size="14" font-weight="bold">{html.escape(i)}</text>'
               f'<text x="{x + _BOX_W / 2:.0f}" y="{y + 36:.0f}" text-anchor="middle" '
               f'font-size="11.5">{title if len(title) <= 30 else title[:29] + "…"}</text>')
        if links.get(i):
            href = posixpath.relpath(links[i], page_dir or ".") + ".html"
            box = f'<a href="{html.escape(href)}"><title>{html.escape(i)}</title>{box}</a>'
        parts.append(box)
    col_w = (width - 2 * _PAD) / _LEGEND_COLS
    for k, (label, color) in enumerate(STATUS_COLORS.items()):
        lx = _PAD + (k % _LEGEND_COLS) * col_w
        ly = height - _PAD - 22 * (n_legend - k // _LEGEND_COLS) + 8
        parts.append(f'<rect x="{lx:.0f}" y="{ly}" width="14" height="14" fill="{color}" '
                     f'stroke="#333"/><text x="{lx + 19:.0f}" y="{ly + 12}" font-size="12">'
                     f'{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def r2_vs_noise_html(points: pd.DataFrame, original: Mapping[float, float], *,
                     y_title: str = "test R² of log g") -> str:
    """Plotly figure (HTML fragment, plotly.js served by the book): R² vs noise per model.

    ``points`` has columns ``label, run, noise_level, r2, r2_lo, r2_hi, n_train`` (``r2``
    may hold another quantity, e.g. a fraction of the ceiling, named by ``y_title``) and
    optionally ``main`` (one row per model, run and noise level); one line per model and run
    (the first run solid, others dotted); models with ``main`` False start hidden (click the
    legend). ``original`` is the original study's global Ridge R² by noise.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    from moehelpers.book.plots import COLORS

    fig = go.Figure()
    symbols = ["circle", "diamond", "square", "triangle-up", "x", "star"]
    runs = list(dict.fromkeys(points["run"]))
    groups = list(points.groupby("label", sort=False))
    is_main = [bool(g["main"].any()) if "main" in g else True for _, g in groups]
    order = sorted(range(len(groups)), key=lambda i: not is_main[i])  # main models first
    for k, idx in enumerate(order):  # distinct colours for the models drawn at first
        (label, by_label), main = groups[idx], is_main[idx]
        for run, df in by_label.groupby("run", sort=False):
            df = df.sort_values("noise_level")
            err = (df["r2_hi"] - df["r2"]).fillna(0), (df["r2"] - df["r2_lo"]).fillna(0)
            first = runs.index(run) == 0
            fig.add_trace(go.Scatter(
                x=df["noise_level"], y=df["r2"], mode="lines+markers",
                name=label if first else f"{label} ({run})", legendgroup=label,
                visible=True if main else "legendonly",
                line={"color": COLORS[k % len(COLORS)], "dash": "solid" if first else "dot"},
                marker={"symbol": symbols[runs.index(run) % len(symbols)], "size": 8},
                error_y={"type": "data", "array": err[0], "arrayminus": err[1],
                         "visible": True},
                customdata=df[["run", "n_train"]].astype(str).to_numpy(),
                hovertemplate="noise %{x}<br>R² %{y:.3f}<br>run %{customdata[0]}, "
                              "n_train %{customdata[1]}<extra>" + html.escape(label)
                              + "</extra>"))
    if original:
        xs = sorted(original)
        fig.add_trace(go.Scatter(x=xs, y=[original[x] for x in xs], mode="lines+markers",
                                 name="global Ridge, original study (BOSZ)",
                                 line={"color": "#999999", "dash": "dash"}))
    fig.update_layout(template="plotly_white", height=760,
                      margin={"l": 60, "r": 20, "t": 30, "b": 20},
                      xaxis_title="noise level (σ multiplier)", yaxis_title=y_title,
                      legend={"orientation": "h", "y": -0.12, "yanchor": "top",
                              "font": {"size": 10}},
                      yaxis={"range": [max(-0.2, float(points["r2"].min()) - 0.05)
                                       if len(points) else 0,
                                       max(1.02, float(points["r2"].max()) + 0.05)
                                       if len(points) else 1.02]})
    return pio.to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False,
                       config={"displaylogo": False, "responsive": True}, validate=False)
