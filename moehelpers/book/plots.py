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
    "ablation_bars",
    "alpha_paths",
    "book_floor_bars",
    "book_time_bars",
    "bootstrap_delta",
    "ceiling_curves",
    "ci_error_y",
    "confusion_shares",
    "cross_noise_curves",
    "curves_with_bands",
    "delta_by_k",
    "delta_by_order",
    "delta_per_seed",
    "der_snr_scatter",
    "energy_curves",
    "estimator_boxes",
    "gate_noise_r2",
    "gate_noise_retention",
    "gate_weight_heatmap",
    "grid_spectra",
    "grid_zoom",
    "heatmap",
    "label_histograms",
    "level_curves",
    "matched_delta",
    "models_vs_ceiling",
    "n_hat_boxes",
    "per_bin_delta_by_k",
    "per_bin_r2_bars",
    "per_star_ceiling",
    "plotly_js_path",
    "pred_vs_true",
    "ridge_path_bars",
    "routing_confusion",
    "setup_plotly",
    "share_by_step",
    "spectrum_with_windows",
    "stream_fit_bars",
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


# --- notebook 11: MVP-6.1 NN-MoE ---------------------------------------------------------


def gate_weight_heatmap(alpha: np.ndarray, labels: Any, *, title: str = "") -> Any:
    """Mean gate weight of every expert per true [M/H] bin (rows: the [M/H]-only bins).

    Parameters
    ----------
    alpha : ndarray, shape (n_stars, n_experts)
        Gate weights of the stars.
    labels : DataFrame
        The stars' labels (the [M/H]-only bin scheme assigns them).
    title : str
        Figure title.

    Returns
    -------
    plotly Figure
    """
    from moehelpers.models import bins as gating

    scheme = gating.mh_only()
    bins = scheme.assign(labels)
    z = np.array([[alpha[(bins == b), j].mean() for j in range(alpha.shape[1])]
                  for b in range(3)])
    return heatmap(z, x=[f"expert {j + 1}" for j in range(alpha.shape[1])],
                   y=scheme.bin_names(), zmin=0, zmax=1, colorscale="Blues", fmt=".2f",
                   colorbar_title="mean α", title=title)


# --- notebook 19: scaling benchmarks ------------------------------------------------------


def ridge_path_bars(rp: dict[str, Any]) -> Any:
    """Seconds of our Ridge path against the scikit-learn loop (``ridge_path`` record).

    Parameters
    ----------
    rp : dict
        The ``ridge_path`` benchmark record.

    Returns
    -------
    plotly Figure
    """
    import plotly.graph_objects as go

    names = ["ours (float64)", f"sklearn loop ({rp.get('sklearn_dtype', 'float32')})"]
    secs = [rp["seconds_ours"], rp["seconds_sklearn"]]
    if rp.get("seconds_sklearn_float64"):
        names.append("sklearn loop (float64)")
        secs.append(rp["seconds_sklearn_float64"])
    fig = go.Figure(go.Bar(x=names, y=secs, text=[f"{s:.1f} s" for s in secs]))
    pr = rp["params"]
    fig.update_layout(title=(f"Ridge path: {pr['n']} × {pr['p']}, {len(rp['group_sizes'])} bins"
                             f" + global, {len(pr['alphas'])} α"), yaxis_title="seconds",
                      height=380)
    return fig


def stream_fit_bars(sf: dict[str, Any]) -> Any:
    """Peak memory and throughput, streamed against in memory (``stream_fit`` record).

    Parameters
    ----------
    sf : dict
        The ``stream_fit`` benchmark record.

    Returns
    -------
    plotly Figure
    """
    from plotly.subplots import make_subplots

    kinds = ["stream", "memory"]
    labels = [f"streamed ({sf['stream']['rows']} rows)", f"in memory ({sf['memory']['rows']} rows)"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("peak resident memory (MiB)",
                                                        "throughput (GB of float32 flux / s)"))
    fig.add_bar(x=labels, y=[sf[k]["peak_rss_mib"] for k in kinds], row=1, col=1,
                name="peak RSS")
    goal_mib = next(g["target"] for g in sf["goals"] if "RSS" in g["name"])
    fig.add_hline(y=goal_mib, line_dash="dash", annotation_text="goal", row=1, col=1)
    fig.add_bar(x=labels, y=[sf[k]["gb_per_s"] for k in kinds], row=1, col=2,
                name="measured")
    fig.add_bar(x=labels, y=[sf[k]["flux_gb"] / sf[k]["gram_seconds_at_syrk_rate"]
                             for k in kinds], row=1, col=2, name="Gram alone at the dsyrk rate")
    fig.update_layout(height=400, barmode="group")
    return fig


def book_time_bars(bt: dict[str, Any]) -> Any:
    """Seconds per notebook of a book run against the goals (``book_time`` record, or
    ``book_time_warm``: the same run with the statistics store filled).

    Parameters
    ----------
    bt : dict
        The ``book_time`` benchmark record.

    Returns
    -------
    plotly Figure
    """
    import pandas as pd
    import plotly.graph_objects as go

    nbs = pd.DataFrame(bt["notebooks"])
    warm = bool(bt.get("warm"))
    fig = go.Figure(go.Bar(y=nbs["notebook"], x=nbs["seconds"], orientation="h",
                           marker_color=np.where(nbs["status"] == "ok", "#4c78a8", "#e45756")))
    if not warm:  # a warm run is judged notebook by notebook only
        fig.add_vline(x=bt["goal_seconds"], line_dash="dash",
                      annotation_text="goal for the whole book")
    limit = 30.0 if warm else 90.0  # benchmarks/book_time.py NOTEBOOK_GOAL_SECONDS
    fig.add_vline(x=limit, line_dash="dot", line_color="#e45756",
                  annotation_text=f"each notebook ≤ {limit:.0f} s",
                  annotation_position="bottom right")
    scope = "a full default book" if bt.get("full_book") else "a partial run, not judged"
    state = "statistics store filled" if warm else "from cold"
    fig.update_layout(title=(f"Notebook times ({bt['mode']}, run {bt.get('run')}, {state}, "
                             f"{scope}): total {bt['total_seconds']:.0f} s"),
                      xaxis_title="seconds", height=120 + 28 * len(nbs),
                      yaxis_autorange="reversed")
    return fig


def book_floor_bars(bf: dict[str, Any]) -> Any:
    """Each page's cold time split into its counted kernels and the rest, with its floor
    (``book_floor`` record of ``benchmarks/book_floor.py``).

    Parameters
    ----------
    bf : dict
        The ``book_floor`` benchmark record.

    Returns
    -------
    plotly Figure
        Stacked horizontal bars (rest, kernels as measured) and a marker at each page's
        floor (kernels at the GEMM rate, the rest as measured).
    """
    import pandas as pd
    import plotly.graph_objects as go

    pages = pd.DataFrame(bf["pages"])
    fig = go.Figure([
        go.Bar(y=pages["notebook"], x=pages["rest_seconds"], orientation="h",
               name="rest (as measured)", marker_color="#bab0ac"),
        go.Bar(y=pages["notebook"], x=pages["kernel_seconds"], orientation="h",
               name="BLAS-3/LAPACK kernels (as measured)", marker_color="#4c78a8"),
        go.Scatter(y=pages["notebook"], x=pages["floor_seconds"], mode="markers",
                   name="page floor (kernels at the GEMM rate)",
                   marker={"symbol": "line-ns-open", "size": 14, "color": "#e45756",
                           "line": {"width": 3}}),
    ])
    fig.add_vline(x=90.0, line_dash="dot", line_color="#e45756",
                  annotation_text="each notebook ≤ 90 s", annotation_position="bottom right")
    rate = bf["rates_gflops"]["gemm_float64"]
    total = bf["totals"]
    floor = bf.get("book_floor_seconds")
    tail = f"; book floor {floor:.0f} s" if floor is not None else " (a partial run)"
    fig.update_layout(barmode="stack", height=140 + 28 * len(pages),
                      yaxis_autorange="reversed", xaxis_title="seconds",
                      legend={"orientation": "h", "y": -0.12 - 3.0 / (8 + len(pages))},
                      title=(f"Cold pages: {total['seconds']:.0f} s, of which kernels "
                             f"{total['kernel_seconds']:.0f} s (at GEMM rate {rate:.0f} GFLOP/s: "
                             f"{total['kernel_floor_seconds']:.0f} s){tail}"))
    return fig


# --- notebooks 07 and 13: conditional Ridge by order / Conditional Ridge++ by step ---
def ci_error_y(table: Any, column: str) -> dict[str, Any]:
    """Asymmetric plotly ``error_y`` from the ``column``, ``column_lo``, ``column_hi`` of a
    table (a 95% interval around the point)."""
    return {"type": "data", "symmetric": False,
            "array": table[f"{column}_hi"] - table[column],
            "arrayminus": table[column] - table[f"{column}_lo"]}


def share_by_step(table: Any, threshold: float, reference: float, reference_label: str):
    """Share of the 9-bin MoE gain per Conditional Ridge++ step (MVP-7.2) with its 95%
    interval, the document's acceptance ``threshold`` and the original study's order-1 share
    ``reference`` as dotted lines."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=table["step"], y=table["share_moe_gain"], mode="lines+markers",
        name="share of MoE gain", marker_color=COLORS[0], text=table["model"],
        error_y=ci_error_y(table, "share_moe_gain")))
    fig.add_hline(y=threshold, line_dash="dot", line_color="green",
                  annotation_text=f"document: ≥ {threshold:.0%}")
    fig.add_hline(y=reference, line_dash="dot", line_color="grey",
                  annotation_text=f"[x, m·x], {reference_label}")
    fig.update_layout(title="Share of the 9-bin MoE gain, step by step (95% paired bootstrap)",
                      xaxis={"tickvals": table["step"].tolist(), "title": "step"},
                      yaxis_title="(R² − R²_global) / (R²_MoE − R²_global)", height=450)
    return fig



def delta_by_order(table: Any, reference: dict[int, float], reference_label: str,
                   moe_gain: float, threshold: float, orders: list[int]):
    """ΔR² of the conditional Ridge over the global Ridge by order (MVP-3.2), one line per
    source of m (column ``m`` of ``table``) with 95% intervals, the original study's
    true-m curve ``reference`` ``{order: R²}`` dotted (relative to its order 0), the 9-bin
    MoE's gain and the document's ``threshold``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, v in enumerate(table["m"].unique()):
        sel = table[table["m"] == v]
        fig.add_trace(go.Scatter(x=sel["order"], y=sel["delta_r2"], mode="lines+markers",
                                 name=f"m = {v}", marker_color=COLORS[i],
                                 error_y=ci_error_y(sel, "delta_r2")))
    ref_orders = [o for o in orders if o in reference]
    fig.add_trace(go.Scatter(x=ref_orders, y=[reference[o] - reference[0] for o in ref_orders],
                             mode="lines+markers", name=f"true m, {reference_label}",
                             line={"dash": "dot"}, marker_color=COLORS[3]))
    fig.add_hline(y=moe_gain, line_dash="dash", line_color="grey",
                  annotation_text="9-bin MoE (all stars)")
    fig.add_hline(y=threshold, line_dash="dot", line_color="green",
                  annotation_text="document threshold")
    fig.update_layout(title="ΔR² of the conditional Ridge over the global Ridge, by order",
                      xaxis_title="order of m", yaxis_title="ΔR² (all test stars)", height=450,
                      xaxis={"tickvals": orders})
    return fig

# --- notebooks 08 and 15: routing confusion, row-normalised ---
def confusion_shares(counts: Any, title: str, chosen: str = "chosen"):
    """Heatmap of a confusion table (rows: true option/bin, columns: the one chosen) as
    shares of each row; ``counts`` is a DataFrame whose index and columns name the options,
    ``chosen`` the word in front of the column names."""
    from moehelpers.evaluation.compare import row_shares

    return heatmap(row_shares(counts), x=[f"{chosen} {n}" for n in counts.columns],
                   y=[f"true {n}" for n in counts.index], zmin=0, zmax=1,
                   colorscale="Blues", fmt=".2f", colorbar_title="share of row", title=title)




# --- notebook 03: rigorous validation of the piecewise Ridge (MVP-1.1) ---
def bootstrap_delta(comparison: Any, reference: dict[str, Any], reference_label: str,
                    seed: int, n_boot: int, rule: float = 0.03):
    """Histogram of a paired bootstrap's ΔR² with our value, the acceptance ``rule`` and 0 as
    vertical lines, and the reference's 95% CI (``delta_lo``–``delta_hi``) shaded if finite.

    Parameters
    ----------
    comparison : moehelpers.metrics.PairedBootstrapResult
        The 9-bin vs global comparison (its ``distribution``, ``difference`` and ``n``).
    reference : dict
        Reference numbers with ``delta_lo`` and ``delta_hi``.
    reference_label, seed, n_boot, rule
        Legend of the reference band, the seed and resample count named in the title, and
        the acceptance threshold drawn.
    """
    import plotly.graph_objects as go

    c = comparison
    fig = go.Figure(go.Histogram(x=c.distribution, nbinsx=50, name="bootstrap ΔR²",
                                 marker_color=COLORS[0], opacity=0.8))
    for x, text, color in ((c.difference, "ours", COLORS[0]), (rule, f"rule {rule:g}", "grey"),
                           (0.0, "0", "black")):
        fig.add_vline(x=x, line_dash="dash" if text != "ours" else "solid", line_color=color,
                      annotation_text=text)
    if np.isfinite(reference["delta_lo"]):
        fig.add_vrect(x0=reference["delta_lo"], x1=reference["delta_hi"], fillcolor=COLORS[3],
                      opacity=0.15, line_width=0, annotation_text=f"{reference_label} 95% CI")
    fig.update_layout(title=f"Paired bootstrap of ΔR² (seed {seed}, {n_boot} resamples, "
                            f"{c.n} covered test stars)", xaxis_title="ΔR² (piecewise − global)",
                      yaxis_title="resamples", height=420, showlegend=False)
    return fig


def delta_per_seed(per_seed: Any, mean: float, reference: dict[str, Any], reference_label: str,
                   rule: float = 0.03):
    """ΔR² per seed with its 95% CI, the misaligned ΔR² (crosses), the mean and the ``rule``
    as horizontal lines, and the reference's mean ± sd (``seeds_mean``, ``seeds_sd``) shaded.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        :func:`moehelpers.evaluation.per_bin.seed_table`.
    mean : float
        Mean ΔR² over the seeds.
    reference : dict
        Reference numbers with ``seeds_mean`` and ``seeds_sd``.
    reference_label, rule
        Legend of the reference band and the acceptance threshold drawn.
    """
    import plotly.graph_objects as go

    x = [str(s) for s in per_seed["seed"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=per_seed["delta_r2"], mode="markers",
        name="ΔR² (95% CI)", marker={"size": 10, "color": COLORS[0]},
        error_y={"type": "data", "symmetric": False,
                 "array": per_seed["delta_r2_hi"] - per_seed["delta_r2"],
                 "arrayminus": per_seed["delta_r2"] - per_seed["delta_r2_lo"]}))
    fig.add_trace(go.Scatter(x=x, y=per_seed["delta_misaligned"], mode="markers",
                             name="misaligned ΔR²",
                             marker={"symbol": "x", "size": 9, "color": COLORS[1]}))
    fig.add_hline(y=mean, line_color=COLORS[0], annotation_text="mean")
    fig.add_hline(y=rule, line_dash="dash", line_color="grey", annotation_text=f"rule {rule:g}")
    if np.isfinite(reference["seeds_mean"]):
        m, sd = reference["seeds_mean"], reference["seeds_sd"]
        fig.add_hrect(y0=m - sd, y1=m + sd, fillcolor=COLORS[3], opacity=0.15, line_width=0,
                      annotation_text=f"{reference_label} mean ± sd")
    fig.update_layout(title="ΔR² per seed (new split and noise each), covered test stars",
                      xaxis_title="seed", yaxis_title="ΔR²", height=420)
    return fig


def ablation_bars(seed_result: Any, reference: dict[str, Any], reference_label: str):
    """Grouped bars of ΔR² vs global for the 9-bin model, each ablation and the fallback:
    one seed's values beside the reference's (``delta_r2``, ``delta_<ablation>``,
    ``delta_fallback``).

    Parameters
    ----------
    seed_result : moehelpers.evaluation.per_bin.SeedResult
        A seed run with the ablations fitted.
    reference : dict
        Reference numbers.
    reference_label : str
        Name of the reference bars.
    """
    import plotly.graph_objects as go

    from moehelpers.evaluation.per_bin import ABLATIONS, TITLES

    names = ("nine_bin", *ABLATIONS, "fallback")
    bars = [TITLES[k] for k in names]
    keys = ["delta_r2", *[f"delta_{n}" for n in ABLATIONS], "delta_fallback"]
    ours = [seed_result.comparisons[n].difference for n in names]
    fig = go.Figure([
        go.Bar(x=bars, y=ours, name=f"ours (seed {seed_result.seed})", marker_color=COLORS[0]),
        go.Bar(x=bars, y=[reference[k] for k in keys], name=reference_label,
               marker_color=COLORS[3])])
    fig.update_layout(barmode="group", yaxis_title="ΔR² vs global",
                      title="Ablation: which axis carries the gain (covered stars; fallback: all)",
                      height=420)
    return fig


# --- notebook 02: piecewise Ridge (MVP-1.0) ---
def per_bin_r2_bars(bins_table: Any, reference_label: str):
    """Grouped bars of test R² per bin: the bin's expert, the global model (same stars) and the
    reference's bin expert.

    Parameters
    ----------
    bins_table : pandas.DataFrame
        :func:`moehelpers.evaluation.per_bin.per_bin_table` (``name``, ``r2_expert``,
        ``r2_global``, ``r2_reference``).
    reference_label : str
        Name of the reference in the legend.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    names = [n.replace(" × ", "<br>") for n in bins_table["name"]]
    for col, label, k in (("r2_expert", "bin expert", 0), ("r2_global", "global model", 1),
                          ("r2_reference", f"bin expert, {reference_label}", 3)):
        fig.add_trace(go.Bar(x=names, y=bins_table[col], name=label, marker_color=COLORS[k]))
    fig.update_layout(barmode="group", title="Per-bin test R² (same stars for both of our models)",
                      yaxis_title="R²", height=460)
    return fig


# --- notebook 06: pseudo [M/H] gate (MVP-3.1) ---
def routing_confusion(confusion: Any, name: str):
    """Row-normalised routing confusion heatmap (rows: bin of the true label, columns: bin
    routed to by the predicted label).

    Parameters
    ----------
    confusion : pandas.DataFrame
        Counts, as :attr:`moehelpers.gates.pseudo.GateComparison.confusion`.
    name : str
        Scheme named in the title.
    """
    counts = confusion.to_numpy()
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return heatmap(share, x=[f"routed {n}" for n in confusion.columns],
                   y=[f"true {n}" for n in confusion.index], zmin=0, zmax=1,
                   colorscale="Blues", fmt=".2f", colorbar_title="share of row",
                   title=f"Routing confusion, {name} (row-normalised; counts in the record)")


# --- notebook 05: quantile [M/H] bins (MVP-3.0) ---
def delta_by_k(by_k: Any, reference: dict[int, float], physical: float,
               reference_label: str):
    """ΔR² against the number of quantile bins K (95% CI bars), the reference's ΔR²(K) dotted,
    the physical-edges ΔR² dashed and 0.

    Parameters
    ----------
    by_k : pandas.DataFrame
        Columns ``K``, ``delta_r2``, ``delta_r2_lo``, ``delta_r2_hi``.
    reference : dict
        K → the reference's ΔR².
    physical : float
        ΔR² of the hand-made [M/H] edges.
    reference_label : str
        Name of the reference in the legend.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=by_k["K"], y=by_k["delta_r2"], mode="lines+markers", name="ours (95% CI)",
        marker_color=COLORS[0],
        error_y={"type": "data", "symmetric": False,
                 "array": by_k["delta_r2_hi"] - by_k["delta_r2"],
                 "arrayminus": by_k["delta_r2"] - by_k["delta_r2_lo"]}))
    fig.add_trace(go.Scatter(x=list(reference), y=list(reference.values()),
                             mode="lines+markers", name=reference_label, line={"dash": "dot"},
                             marker_color=COLORS[3]))
    fig.add_hline(y=physical, line_dash="dash", line_color="grey",
                  annotation_text="physical [M/H] edges")
    fig.add_hline(y=0, line_color="black", line_width=1)
    fig.update_layout(title="ΔR²(K): quantile [M/H] experts − global model, all test stars",
                      xaxis_title="K (quantile bins before merging)", yaxis_title="ΔR²",
                      height=450)
    return fig


def per_bin_delta_by_k(per_bin: Any, ks: Any):
    """Bars of each bin's ΔR² (bin expert − global on the bin's stars), one colour per K.

    Parameters
    ----------
    per_bin : pandas.DataFrame
        Per-bin tables with a ``K`` column (``name``, ``delta_r2``).
    ks : sequence of int
        The K values, in bar order.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, k in enumerate(ks):
        rows = per_bin[per_bin["K"] == k]
        fig.add_trace(go.Bar(x=[f"K={k}<br>{n}" for n in rows["name"]], y=rows["delta_r2"],
                             name=f"K = {k}", marker_color=COLORS[i % len(COLORS)]))
    fig.update_layout(title="Per-bin ΔR² (bin expert − global model, the bin's test stars)",
                      yaxis_title="ΔR²", height=460, showlegend=False)
    return fig


# --- notebook 00: the data ---
def grid_spectra(grid: Any, teffs: Any, logg: float = 4.5, mh: float = 0.0,
                 offset: float = 0.6):
    """Normalised grid spectra at several Teff, stacked with a vertical ``offset`` (the
    first on top).

    Parameters
    ----------
    grid : moehelpers.data.grid.SpectralGrid
        The grid to draw from.
    teffs : sequence of float
        Temperatures (K), one trace each.
    logg, mh : float
        Fixed log g and [M/H] of the spectra.
    offset : float
        Vertical shift between consecutive spectra.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    n = len(teffs)
    for k, teff in enumerate(teffs):
        f = grid.spectra(teff, logg, mh, kind="normalized")[0]
        fig.add_trace(go.Scattergl(x=grid.wave, y=f + offset * (n - 1 - k), mode="lines",
                                   name=f"Teff {teff:.0f} K",
                                   line={"width": 1, "color": COLORS[k]}))
    fig.update_layout(title=f"Normalised flux (offset by {offset:g} per star), log g {logg:g}, "
                            f"[M/H] {mh:g}",
                      xaxis_title="wavelength [Å]", yaxis_title="flux + offset", height=480)
    return fig


def grid_zoom(grid: Any, lo: float, hi: float, cases: Any, title: str,
              kind: str = "normalized"):
    """Overlay grid spectra in ``[lo, hi]`` Å, one per case ``(legend text, teff, logg, mh)``.

    Parameters
    ----------
    grid : moehelpers.data.grid.SpectralGrid
        The grid to draw from.
    lo, hi : float
        Wavelength window (Å).
    cases : sequence of tuple
        ``(text, teff, logg, mh)`` per trace.
    title : str
        Figure title.
    kind : str
        Flux kind passed to :meth:`~moehelpers.data.grid.SpectralGrid.spectra`.
    """
    import plotly.graph_objects as go

    sel = (grid.wave >= lo) & (grid.wave <= hi)
    fig = go.Figure()
    for k, (text, teff, logg, mh) in enumerate(cases):
        f = grid.spectra(teff, logg, mh, kind=kind)[0]
        fig.add_trace(go.Scatter(x=grid.wave[sel], y=f[sel], mode="lines", name=text,
                                 line={"width": 1.3, "color": COLORS[k % 9]}))
    fig.update_layout(title=title, xaxis_title="wavelength [Å]",
                      yaxis_title="normalised flux", height=400)
    return fig


def label_histograms(labels: Any, columns: Any, title: str = "Training labels"):
    """One histogram per label column, side by side.

    Parameters
    ----------
    labels : pandas.DataFrame
        The labels.
    columns : sequence of str
        Columns to show (those absent from ``labels`` are skipped).
    title : str
        Figure title.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = [c for c in columns if c in labels]
    fig = make_subplots(rows=1, cols=len(cols), subplot_titles=cols)
    for i, c in enumerate(cols, start=1):
        fig.add_trace(go.Histogram(x=labels[c], nbinsx=40, showlegend=False,
                                   marker_color=COLORS[0]), row=1, col=i)
    fig.update_layout(title=title, height=320)
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


# --- the ceiling page (notebook 16) ---------------------------------------------------------
def ceiling_region_heatmap(by_region: Any, scheme: Any, noise_level: float) -> Any:
    """Median σ_CRLB(log g) per (Teff, [M/H]) bin of ``scheme`` (x: Teff, y: [M/H]).

    Parameters
    ----------
    by_region : DataFrame
        :meth:`moehelpers.evaluation.ceiling.Ceiling.by_region` rows, Teff-major, with
        ``sigma_crlb_median``.
    scheme : BinScheme
        The two-axis bin scheme of the rows (``shape``, ``axes`` with ``names``).
    noise_level : float
        Noise level of the rows (in the title).

    Returns
    -------
    plotly Figure
    """
    z = by_region["sigma_crlb_median"].to_numpy().reshape(scheme.shape).T  # (n_mh, n_teff)
    teff_names, mh_names = (list(ax.names) for ax in scheme.axes)
    return heatmap(z, teff_names, mh_names, colorscale="Viridis", fmt=".3f",
                   colorbar_title="dex",
                   title=f"Median σ_CRLB(log g) per bin at noise {noise_level:g} "
                         "(x: Teff, y: [M/H])")


__all__ += ["ceiling_region_heatmap"]
