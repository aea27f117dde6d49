"""Shared figure helpers and the plotly renderer used by every notebook.

Why a renderer of our own
-------------------------
Under papermill, plotly's default renderer emits only the
``application/vnd.plotly.v1+json`` mime type. JupyterLab draws it, but
Jupyter Book 1 (myst-nb) silently drops it, so the figure vanishes from the
HTML. :func:`setup_plotly` registers a renderer that emits that JSON *and* a
``text/html`` fragment made with ``include_plotlyjs=False``; the book serves
one local copy of ``plotly.min.js`` (see :func:`plotly_js_path`), so figures
stay interactive offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COLORS",
    "BookRenderer",
    "ceiling_curves",
    "curves_with_bands",
    "energy_curves",
    "gate_noise_r2",
    "gate_noise_retention",
    "heatmap",
    "models_vs_ceiling",
    "per_star_ceiling",
    "plotly_js_path",
    "pred_vs_true",
    "setup_plotly",
]

#: Colour cycle (colour-blind safe, Okabe–Ito) shared by all figures.
COLORS = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
    "#56B4E9", "#F0E442", "#000000", "#999999",
]

RENDERER_NAME = "moebook"


def _mimetype_base() -> type:
    from plotly.io._base_renderers import MimetypeRenderer

    return MimetypeRenderer


class BookRenderer(_mimetype_base()):  # type: ignore[misc]
    """Plotly renderer emitting the plotly JSON plus a script-free HTML fragment.

    Parameters
    ----------
    config : dict, optional
        Plotly ``config`` passed to every figure (e.g. ``{"displaylogo": False}``).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config) if config else {"displaylogo": False, "responsive": True}

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        import plotly.io as pio

        fig_json = json.loads(pio.to_json(fig_dict, validate=False, remove_uids=False))
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            config=self.config,
            validate=False,
        )
        return {"application/vnd.plotly.v1+json": fig_json, "text/html": html}


def setup_plotly(template: str = "plotly_white") -> None:
    """Register :class:`BookRenderer` and make it plotly's default renderer.

    Call once at the top of a notebook.
    """
    import plotly.io as pio

    pio.renderers[RENDERER_NAME] = BookRenderer()
    pio.renderers.default = RENDERER_NAME
    pio.templates.default = template


def plotly_js_path() -> Path:
    """Path of the ``plotly.min.js`` shipped inside the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - depends on the plotly wheel
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def pred_vs_true(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    title: str = "",
    label: str = "log g",
    max_points: int = 5000,
    seed: int = 0,
):
    """Scatter of predicted vs true labels with the identity line.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,)
    color : ndarray of shape (n_samples,), optional
        Values (numbers or category names) colouring the points.
    max_points : int, default=5000
        Larger inputs are subsampled (seeded) so pages stay light.
    """
    import plotly.graph_objects as go

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    idx = np.arange(y_true.size)
    if idx.size > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, replace=False))
    lo = float(min(y_true.min(), np.nanmin(y_pred)))
    hi = float(max(y_true.max(), np.nanmax(y_pred)))
    fig = go.Figure()
    if color is None:
        fig.add_trace(go.Scattergl(x=y_true[idx], y=y_pred[idx], mode="markers",
                                   marker={"size": 4, "opacity": 0.6, "color": COLORS[0]},
                                   name="stars"))
    else:
        color = np.asarray(color)
        if color.dtype.kind in "iuf":
            fig.add_trace(go.Scattergl(
                x=y_true[idx], y=y_pred[idx], mode="markers", name="stars",
                marker={"size": 4, "opacity": 0.7, "color": color[idx],
                        "colorscale": "Viridis", "colorbar": {"title": color_label}}))
        else:
            for k, group in enumerate(dict.fromkeys(color[idx].tolist())):
                sel = idx[color[idx] == group]
                fig.add_trace(go.Scattergl(
                    x=y_true[sel], y=y_pred[sel], mode="markers", name=str(group),
                    marker={"size": 4, "opacity": 0.7, "color": COLORS[k % len(COLORS)]}))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                             line={"color": "grey", "dash": "dash"}))
    fig.update_layout(title=title, xaxis_title=f"true {label}",
                      yaxis_title=f"predicted {label}", height=450)
    return fig


def heatmap(
    z: np.ndarray,
    x: list[str],
    y: list[str],
    *,
    title: str = "",
    zmin: float | None = None,
    zmax: float | None = None,
    colorscale: str = "RdBu",
    fmt: str = ".3f",
    colorbar_title: str = "",
):
    """Annotated heatmap; values outside ``[zmin, zmax]`` are clipped in colour only.

    The annotation always shows the true value, so a clipped cell (e.g. R² ≪ 0)
    still reads correctly while it does not wash out the colour scale.
    """
    import plotly.graph_objects as go

    z = np.asarray(z, dtype=float)
    zc = z.copy()
    if zmin is not None or zmax is not None:
        zc = np.clip(zc, zmin, zmax)
    text = [[("" if not np.isfinite(v) else format(v, fmt)) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=zc, x=x, y=y, text=text, texttemplate="%{text}",
                               colorscale=colorscale, zmin=zmin, zmax=zmax,
                               colorbar={"title": colorbar_title}))
    fig.update_layout(title=title, height=420)
    return fig


def spectrum_with_windows(
    wave: np.ndarray,
    curves: dict[str, np.ndarray],
    windows: Any = None,
    *,
    title: str = "",
    y_label: str = "",
):
    """Lines over wavelength with each window shaded and named on hover.

    ``windows`` are :class:`moehelpers.data.windows.Window` objects (default: the physical ones).
    """
    import plotly.graph_objects as go

    from moehelpers.data.windows import PHYSICAL_WINDOWS

    windows = PHYSICAL_WINDOWS if windows is None else windows
    fig = go.Figure()
    for name, values in curves.items():
        fig.add_trace(go.Scatter(x=np.asarray(wave), y=np.asarray(values), mode="lines",
                                 name=name, line={"width": 1}))
    colours = {}
    palette = ["#1f77b4", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2"]
    for win in windows:
        colour = colours.setdefault(win.species, palette[len(colours) % len(palette)])
        fig.add_vrect(x0=win.lo, x1=win.hi, fillcolor=colour, opacity=0.15, line_width=0,
                      annotation_text=win.name, annotation_position="top left",
                      annotation={"font_size": 9, "textangle": -90})
    fig.update_layout(title=title, xaxis_title="wavelength (Å)", yaxis_title=y_label,
                      height=480, hovermode="x unified")
    return fig


def curves_with_bands(
    table: Any,
    x: str,
    y: str,
    lo: str,
    hi: str,
    *,
    by: str,
    title: str = "",
    xaxis_title: str = "",
    yaxis_title: str = "",
    band_label: str = "band",
):
    """One line per group of ``by`` (``y`` against ``x``) with a shaded ``lo``–``hi`` band.

    ``table`` is a DataFrame with the columns named; rows are sorted by ``x`` within a group.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (name, sel) in enumerate(table.groupby(by, sort=False)):
        sel = sel.sort_values(x)
        color = COLORS[k % len(COLORS)]
        xs = sel[x].tolist()
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=sel[hi].tolist() + sel[lo].tolist()[::-1],
                                 fill="toself", fillcolor=color, opacity=0.2, line={"width": 0},
                                 hoverinfo="skip", showlegend=False,
                                 name=f"{name} ({band_label})", legendgroup=str(name)))
        fig.add_trace(go.Scatter(x=xs, y=sel[y], mode="lines+markers", name=str(name),
                                 marker_color=color, legendgroup=str(name)))
    fig.update_layout(title=title, xaxis_title=xaxis_title, yaxis_title=yaxis_title,
                      height=450)
    return fig


# ------------------------------------------------------------------ the ceiling page
def ceiling_curves(by_noise: Any):
    """The ceiling variants against the noise level (set-level with its bootstrap band)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    band = {"type": "data", "symmetric": False,
            "array": by_noise["r2_max_set_hi"] - by_noise["r2_max_set"],
            "arrayminus": by_noise["r2_max_set"] - by_noise["r2_max_set_lo"]}
    curves = [("r2_max_set", "ceiling, set-level (marginal)", band),
              ("r2_max_median", "ceiling, median star", None),
              ("r2_cond_set", "ceiling, Teff & [M/H] known", None),
              ("r2_bayes_set", "shrinkage ceiling (approx.)", None)]
    for k, (col, name, err) in enumerate(curves):
        fig.add_trace(go.Scatter(x=by_noise["noise_level"], y=by_noise[col], name=name,
                                 mode="lines+markers", error_y=err,
                                 line={"color": COLORS[k], "dash": "solid" if k == 0
                                       else "dot"}))
    low = max(-1.0, float(by_noise["r2_max_set"].min()) - 0.05)
    fig.update_layout(title="Fisher ceiling on log g vs noise level", xaxis_title="noise level",
                      yaxis_title="R²", yaxis_range=[low, 1.02], height=440)
    return fig


def per_star_ceiling(per_star: Any, levels: Any) -> tuple[Any, Any]:
    """Box plot of the per-star ceiling per level, and σ_CRLB against the L2 SNR."""
    import plotly.graph_objects as go

    box = go.Figure()
    for k, lv in enumerate(levels):
        sub = per_star[per_star["noise_level"] == lv]
        box.add_trace(go.Box(y=sub["r2_max"], name=f"{lv:g}", boxpoints=False,
                             marker={"color": COLORS[k % len(COLORS)]}))
    box.update_layout(title="Per-star ceiling R²_max,i = 1 − CRLB_i / Var(y), by noise level",
                      xaxis_title="noise level", yaxis_title="per-star R²_max",
                      yaxis_range=[-1.0, 1.02], showlegend=False, height=420)
    scatter = go.Figure(go.Scattergl(
        x=per_star["snr"], y=per_star["sigma_crlb"], mode="markers",
        marker={"size": 4, "color": per_star["T_eff"], "colorscale": "Viridis",
                "opacity": 0.6, "colorbar": {"title": "Teff [K]"}},
        text=[f"noise {lv:g}" for lv in per_star["noise_level"]]))
    scatter.update_layout(title="Per-star bound on log g vs L2 SNR (all noise levels)",
                          xaxis_type="log", yaxis_type="log", xaxis_title="SNR (L2)",
                          yaxis_title="σ_CRLB(log g) [dex]", height=460)
    return box, scatter


def models_vs_ceiling(by_noise: Any, frac: Any):
    """Recorded test R² of every model against the ceiling (diamonds: given true labels)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=by_noise["noise_level"], y=by_noise["r2_max_set"],
                             name="ceiling (set-level)", mode="lines", line={"color": "black"}))
    fig.add_trace(go.Scatter(x=by_noise["noise_level"], y=by_noise["r2_bayes_set"],
                             name="shrinkage ceiling (approx.)", mode="lines",
                             line={"color": "black", "dash": "dot"}))
    for k, (name, sub) in enumerate(frac.groupby("model", sort=False)):
        fig.add_trace(go.Scatter(x=sub["noise_level"], y=sub["r2"], name=name,
                                 mode="lines+markers" if len(sub) > 1 else "markers",
                                 marker={"color": COLORS[k % len(COLORS)],
                                         "symbol": "diamond" if sub["uses_true_labels"].any()
                                         else "circle"}))
    fig.update_layout(title="Recorded test R² and the Fisher ceiling (diamonds: given true "
                      "Teff/[M/H])", xaxis_title="noise level", yaxis_title="R²",
                      yaxis_range=[-0.2, 1.02], height=480)
    return fig


# ------------------------------------------------------------------ the gate-noise page
def gate_noise_r2(summary: Any, r2_global: float, references: dict[str, dict[float, float]]):
    """R² against gate noise σ per model (band: min–max over repeats), the global Ridge and
    reference curves ``{name: {σ: R²}}`` dotted (colours 0, 2, … of :data:`COLORS`)."""
    import plotly.graph_objects as go

    fig = curves_with_bands(summary, "sigma", "r2", "r2_min", "r2_max", by="model",
                            title="R² under gate noise (band: min–max across repeats)",
                            xaxis_title="gate noise σ (dex of [M/H])",
                            yaxis_title="R² (all test stars)", band_label="repeats")
    fig.add_hline(y=r2_global, line_dash="dash", line_color="grey",
                  annotation_text="global Ridge (no gate)")
    for k, (name, ref) in enumerate(references.items()):
        fig.add_trace(go.Scatter(x=list(ref), y=list(ref.values()), mode="lines+markers",
                                 name=name, line={"dash": "dot"},
                                 marker_color=COLORS[(2 * k) % len(COLORS)]))
    return fig


def gate_noise_retention(summary: Any, real: Any, sigma_real: float,
                         lines: dict[str, float]):
    """Retention against gate noise σ (band: 95% CI), the predicted-gate points at their RMS
    error ``sigma_real`` (diamonds) and horizontal guide ``lines`` ``{label: level}``."""
    import plotly.graph_objects as go

    fig = curves_with_bands(summary, "sigma", "retention", "retention_lo", "retention_hi",
                            by="model", title="Share of the noiseless gain kept (band: 95% "
                            "bootstrap interval over stars)",
                            xaxis_title="gate noise σ (dex of [M/H])",
                            yaxis_title="retention ρ", band_label="95% CI")
    for k, row in real.reset_index(drop=True).iterrows():
        fig.add_trace(go.Scatter(x=[sigma_real], y=[row["retention"]], mode="markers",
                                 marker={"symbol": "diamond", "size": 11,
                                         "color": COLORS[k % len(COLORS)]},
                                 name=f"{row['model']}, predicted [M/H]"))
    fig.add_vline(x=sigma_real, line_dash="dot", line_color="grey",
                  annotation_text="RMS error of predicted [M/H]")
    for text, level in lines.items():
        fig.add_hline(y=level, line_dash="dash", line_color="lightgrey", annotation_text=text)
    return fig


def energy_curves(coefs: dict[str, Any], labels: dict[str, str] | None = None):
    """Cumulative share of Σw² against the number of pixels (largest |w| first), log x."""
    import plotly.graph_objects as go

    from moehelpers.data.windows import energy_curve

    fig = go.Figure()
    for name, w in coefs.items():
        curve = energy_curve(w)
        label = name if labels is None else f"{name} ({labels.get(name, '')})"
        fig.add_trace(go.Scatter(x=np.arange(1, curve.size + 1), y=curve, mode="lines",
                                 name=label))
    fig.update_layout(title="Cumulative share of Σw² against pixels, largest |w| first",
                      xaxis={"title": "pixels", "type": "log"}, yaxis_title="share of energy",
                      height=460)
    return fig


# --- notebook 14 (and 17): per-level curves of several models, n̂ boxes ---
def level_curves(tab: Any, y: str = "r2", *, names: Any = None, title: str,
                 yaxis_title: str = "R²", height: int = 450,
                 yaxis_range: Any = None, dash: Any = None, color_offset: int = 0):
    """One line per model of a per-level table, with asymmetric confidence-interval bars.

    Parameters
    ----------
    tab : DataFrame
        One row per (``noise_level``, ``model``) with columns ``y``, ``y_lo`` and ``y_hi``.
    y : str
        The column drawn (its interval: ``f"{y}_lo"``, ``f"{y}_hi"``).
    names : sequence of str, optional
        Models drawn, in this order (default: every model in the order of ``tab``).
    title, yaxis_title : str
        Figure title and y-axis title (the x axis is the noise level).
    height : int
        Figure height in pixels.
    yaxis_range : [float, float], optional
        Default ``[max(min(y_lo), -0.5) - 0.05, 1.02]`` (an R² axis, very low values off it).
    dash : callable, optional
        ``dash(name)`` → plotly dash style of a model's line (default solid).
    color_offset : int
        Model ``k`` (in ``names`` order) takes ``COLORS[(k + color_offset) % len(COLORS)]``;
        a model named ``"mixed"`` is drawn black.

    Returns
    -------
    plotly Figure
    """
    import plotly.graph_objects as go

    names = list(dict.fromkeys(tab["model"])) if names is None else list(names)
    fig = go.Figure()
    for k, name in enumerate(names):
        sel = tab[tab["model"] == name]
        color = "black" if name == "mixed" else COLORS[(k + color_offset) % len(COLORS)]
        fig.add_trace(go.Scatter(
            x=sel["noise_level"], y=sel[y], mode="lines+markers", name=name,
            line={"dash": "solid" if dash is None else dash(name), "color": color},
            error_y={"type": "data", "symmetric": False, "array": sel[f"{y}_hi"] - sel[y],
                     "arrayminus": sel[y] - sel[f"{y}_lo"]}))
    if yaxis_range is None:
        yaxis_range = [max(float(tab[f"{y}_lo"].min()), -0.5) - 0.05, 1.02]
    fig.update_layout(title=title, xaxis_title="noise level", yaxis_title=yaxis_title,
                      height=height, yaxis_range=yaxis_range)
    return fig


def n_hat_boxes(n_hat: dict[float, Any], title: str):
    """Box (no points) of the estimated noise level n̂ at each true level, and the true
    levels as crosses: ``n_hat`` maps a true level to the n̂ of every test star."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (lv, nh) in enumerate(n_hat.items()):
        fig.add_trace(go.Box(y=nh, name=f"{lv:g}", marker_color=COLORS[k % len(COLORS)],
                             boxpoints=False))
    fig.add_trace(go.Scatter(x=[f"{lv:g}" for lv in n_hat], y=list(n_hat), mode="markers",
                             name="true level",
                             marker={"symbol": "x", "size": 10, "color": "black"}))
    fig.update_layout(title=title, xaxis_title="true noise level", yaxis_title="n̂",
                      height=420)
    return fig


# --- notebook 04: noise experts (cross-noise curves, ΔR² per level, α paths) ---
def cross_noise_curves(cross: Any, floor: float):
    """Test R² of every expert (one line per training level) and of the mixed model (black,
    dashed) against the test noise level; ``cross`` is a
    :class:`~moehelpers.models.noise_experts.CrossNoise`. The y axis starts at the lowest
    finite R², but not below ``floor − 0.5``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, lv in enumerate(cross.train_levels):
        fig.add_trace(go.Scatter(x=cross.test_levels, y=cross.r2[k], mode="lines+markers",
                                 name=f"expert {lv:g}",
                                 line={"color": COLORS[k % len(COLORS)]}))
    fig.add_trace(go.Scatter(x=cross.test_levels, y=cross.r2_mixed, mode="lines+markers",
                             name="mixed", line={"color": "black", "dash": "dash", "width": 3}))
    z = np.vstack([cross.r2, cross.r2_mixed[None, :]])
    finite = z[np.isfinite(z)]
    fig.update_layout(title="Test R² of each model vs test noise level (lower values off-axis)",
                      xaxis_title="test noise level", yaxis_title="R²", height=450,
                      yaxis_range=[max(float(finite.min()), floor - 0.5) - 0.05, 1.02])
    return fig


def matched_delta(tab: Any, reference: Any, label: str, threshold: float):
    """ΔR² = expert − mixed at each expert's own level with its paired CI (``tab``: columns
    ``noise_level, delta_r2, delta_lo, delta_hi``), the reference study's ΔR² (``reference``,
    aligned with ``tab``; NaN where it has none) as open diamonds, and the ε line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=tab["noise_level"], y=tab["delta_r2"], mode="markers+lines", name="this book",
        error_y={"type": "data", "symmetric": False, "array": tab["delta_hi"] - tab["delta_r2"],
                 "arrayminus": tab["delta_r2"] - tab["delta_lo"]},
        line={"color": COLORS[0]}))
    known = reference.notna()
    fig.add_trace(go.Scatter(x=tab["noise_level"][known], y=reference[known], mode="markers",
                             name=label,
                             marker={"symbol": "diamond-open", "size": 10, "color": COLORS[3]}))
    fig.add_hline(y=threshold, line_dash="dot", line_color="grey",
                  annotation_text=f"ε = {threshold:g}")
    fig.add_hline(y=0, line_color="lightgrey")
    fig.update_layout(title="ΔR² = expert − mixed at the expert's own level (95% paired "
                      "bootstrap CI)", xaxis_title="noise level", yaxis_title="ΔR²", height=420)
    return fig


def alpha_paths(estimators: dict[str, Any]):
    """Validation R² along the α grid of each fitted Ridge (``{name: estimator}`` with
    ``alphas_``, ``val_scores_``, ``alpha_``); ``"mixed"`` is drawn black and dashed."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (name, est) in enumerate(estimators.items()):
        style = ({"color": "black", "dash": "dash"} if name == "mixed"
                 else {"color": COLORS[k % len(COLORS)]})
        fig.add_trace(go.Scatter(x=est.alphas_, y=est.val_scores_, mode="lines+markers",
                                 name=f"{name} (α = {est.alpha_:g})", line=style))
    vals = np.concatenate([e.val_scores_ for e in estimators.values()])
    fig.update_layout(title="Validation R² along the α grid: each expert picks its own α",
                      xaxis_type="log", xaxis_title="α", yaxis_title="validation R²",
                      height=420, yaxis_range=[max(float(np.nanmin(vals)), -0.5) - 0.05, 1.02])
    return fig


# --- notebook 18: noise-level estimators ---
def estimator_boxes(n_hat: dict[str, Any], level: Any, test_levels: Any):
    """Grouped boxes (no points) of each estimator's n̂ per true level (``level``: the true
    level of every spectrum), and the true levels as crosses."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (name, est) in enumerate(n_hat.items()):
        fig.add_trace(go.Box(x=[f"{v:g}" for v in level], y=est, name=name, boxpoints=False,
                             marker_color=COLORS[k]))
    fig.add_trace(go.Scatter(x=[f"{v:g}" for v in test_levels], y=test_levels, mode="markers",
                             name="true level",
                             marker={"symbol": "x", "size": 11, "color": "black"}))
    fig.update_layout(boxmode="group", title="Estimated vs true noise level (test spectra)",
                      xaxis_title="true noise level", yaxis_title="n̂", height=450)
    return fig


def der_snr_scatter(points: list[tuple[float, Any, Any]]):
    """DER_SNR against the true per-pixel SNR (log–log), one colour per level, with the 1:1
    line; ``points`` are ``(level, true SNR, DER_SNR)`` per level."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (level, true, est) in enumerate(points):
        fig.add_trace(go.Scattergl(x=true, y=est, mode="markers", name=f"n = {level:g}",
                                   marker={"size": 3, "opacity": 0.5,
                                           "color": COLORS[k % len(COLORS)]}))
    lim = [min(float(np.min(t)) for _, t, _ in points),
           max(float(np.max(t)) for _, t, _ in points)]
    fig.add_trace(go.Scatter(x=lim, y=lim, mode="lines", name="1:1",
                             line={"color": "grey", "dash": "dash"}))
    fig.update_layout(title="DER_SNR of the noisy flux vs the true per-pixel SNR",
                      xaxis_type="log", yaxis_type="log", xaxis_title="true per-pixel SNR",
                      yaxis_title="DER_SNR", height=450)
    return fig
