"""Recorded model R² next to the Fisher ceiling: "R² as a fraction of the ceiling".

:func:`recorded_r2` collects, from the headline tables of one run's records, every model
scored on **all** test stars (rows on covered stars only, MVP-1.x, are left out: their
ceiling would be that of another set of stars; models given the true log g, such as the
oracle gate of MVP-4.0, are left out: they are given the answer). Each row says whether the
model is deployable or was given the true Teff / [M/H] (``uses_true_labels``, from the
headline's ``labels_given``): the latter is compared with the conditional ceiling (Teff and
[M/H] known), the others with the marginal one. A missing or unreadable record yields a status
row ("not run yet", "unreadable: …"), never an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book.hub_facts import headline, is_ceiling
from moehelpers.errors import DataFileNotFoundError, MoEHelpersError
from moehelpers.evaluation.ceiling import CEILING_ID, CEILING_MODEL
from moehelpers.evaluation.ceiling_mc import ML_GRID_MODEL
from moehelpers.records import registry
from moehelpers.records import store as results

__all__ = ["at_levels", "best_deployable", "best_recorded", "ceiling_headline_rows",
           "ceiling_metrics", "fraction_of_ceiling", "headline_levels", "headline_levels_table",
           "headline_sentence", "recorded_r2", "with_experts", "with_recorded"]

_COLS = ["mvp_id", "model", "noise_level", "r2", "r2_lo", "r2_hi", "uses_true_labels"]


def recorded_r2(run: str = "default", runs_dir: str | Path | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model R² rows of a run, read from every record's headline table, and their status.

    A headline row is used when its model was scored on all test stars
    (``subset == "all test stars"``) and was not given the true log g
    (``labels_given != "log g"``); ``uses_true_labels`` is ``labels_given == "Teff/[M/H]"``.
    The ceiling's own record is skipped. No record key is read: what a notebook puts in its
    headline (:func:`moehelpers.records.store.headline_row`) is what this page compares.

    Returns
    -------
    models : DataFrame
        ``mvp_id, model, noise_level, r2, r2_lo, r2_hi, uses_true_labels`` (NaN CI where the
        record has none).
    status : DataFrame
        ``mvp_id, status``: one row per registered MVP and per other record of the run, with
        ``"ok: n models"``, ``"no model on all test stars"``, ``"not run yet"`` or
        ``"unreadable: …"``.
    """
    root = results.resolve_runs_dir(runs_dir) / run / "records"
    found = sorted(p.stem for p in root.glob("*.json") if not p.name.startswith(".")) \
        if root.is_dir() else []
    ids = [e.id for e in registry.MVPS] + [i for i in found if i not in
                                           {e.id for e in registry.MVPS}]
    frames, status = [], []
    for mvp_id in ids:
        if mvp_id == CEILING_ID:
            continue
        if mvp_id not in found:
            status.append((mvp_id, "not run yet"))
            continue
        try:
            head = headline(results.load_record(run, mvp_id, runs_dir))
        except MoEHelpersError as exc:
            status.append((mvp_id, f"unreadable: {str(exc)[:120]}"))
            continue
        keep = ((head["subset"] == results.ALL_TEST_STARS) & (head["labels_given"] != "log g")
                & ~head["model"].map(is_ceiling))
        if not keep.any():
            status.append((mvp_id, "no model on all test stars"))
            continue
        frames.append(head[keep].assign(uses_true_labels=head["labels_given"] == "Teff/[M/H]")
                      [_COLS])
        status.append((mvp_id, f"ok: {int(keep.sum())} models"))
    models = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame(columns=_COLS)).astype({"uses_true_labels": bool})
    return models, pd.DataFrame(status, columns=["mvp_id", "status"])


def at_levels(table: pd.DataFrame, column: str, levels: Any) -> list[float]:
    """``table[column]`` at each of ``levels`` (matched to 1e-6; NaN where the table lacks one)."""
    lookup = dict(zip(np.round(table["noise_level"], 6), table[column], strict=True))
    return [lookup.get(round(float(lv), 6), np.nan) for lv in levels]


def fraction_of_ceiling(models: pd.DataFrame, ceiling: pd.DataFrame | None = None, *,
                        run: str = "default", runs_dir: str | Path | None = None
                        ) -> pd.DataFrame:
    """Add the ceiling at each model's noise level and ``r2 / ceiling``.

    ``ceiling`` is the ``by_noise`` table of the ceiling (default: read from the run's
    record). Models with ``uses_true_labels`` are divided by ``r2_cond_set``, the others by
    ``r2_max_set``; ``fraction_bayes`` divides by the approximate shrinkage ceiling
    ``r2_bayes_set``. A noise level the ceiling lacks gets NaN, and so does a fraction whose
    ceiling is ≤ 0 (an unbiased estimator cannot beat predicting the mean there, so the
    ratio has no meaning; compare with ``fraction_bayes``).
    """
    tab = ceiling if ceiling is not None else ceiling_table(run, runs_dir)
    out = models.copy()
    cols = ("r2_max_set", "r2_cond_set", "r2_bayes_set")
    for col in cols:
        out[col] = np.nan
    if tab is not None and len(out):
        for col in cols:
            out[col] = at_levels(tab, col, out["noise_level"])
    ceiling_used = np.where(out["uses_true_labels"], out["r2_cond_set"], out["r2_max_set"])
    out["ceiling"] = ceiling_used
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fraction"] = np.where(out["ceiling"] > 0, out["r2"] / out["ceiling"], np.nan)
        out["fraction_bayes"] = np.where(out["r2_bayes_set"] > 0,
                                         out["r2"] / out["r2_bayes_set"], np.nan)
    return out


# --------------------------------------------------------------------------- records
def ceiling_table(run: str = "default", runs_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The ceiling per noise level from the run's ``BEYOND-ceiling`` record, else ``None``.

    Columns include ``noise_level``, ``r2_max_set`` (compare with a model's test R²),
    ``r2_max_median`` and ``snr_l2_median``.
    """
    try:
        rec = results.load_record(run, CEILING_ID, runs_dir)
    except DataFileNotFoundError:
        return None
    return results.table(rec, "by_noise")


def ceiling_r2(noise_level: float, run: str = "default", runs_dir: str | Path | None = None,
               *, which: str = "r2_max_set") -> float:
    """Ceiling R² at ``noise_level`` from the run's record (NaN if not run or level absent).

    ``which`` is a column of :func:`ceiling_table`: ``"r2_max_set"`` (default, the unbiased
    CRLB ceiling), ``"r2_max_median"``, ``"r2_cond_set"`` (Teff and [M/H] known: for models
    given the true labels), ``"r2_bayes_set"`` (approximate shrinkage ceiling). Divide a
    model's test R² by it to get "R² as a fraction of the ceiling".
    """
    tab = ceiling_table(run, runs_dir)
    if tab is None:
        return float("nan")
    hit = tab[np.isclose(tab["noise_level"], float(noise_level))]
    return float(hit[which].iloc[0]) if len(hit) else float("nan")



# --------------------------------------------------------------------- the ceiling page
def with_experts(by_region: pd.DataFrame, run: str, noise_level: float,
                 runs_dir: str | Path | None = None) -> tuple[pd.DataFrame, bool]:
    """``by_region`` (:meth:`Ceiling.by_region`) with MVP-1.0's per-bin R² beside it.

    Adds ``r2_expert``, ``r2_global`` and ``expert_fraction = r2_expert / r2_max_set`` when
    the run's MVP-1.0 record exists at the same noise level; returns ``(table, found)``.
    """
    try:
        rec = results.load_record(run, "MVP-1.0", runs_dir)
        same = np.isclose(float(rec["params"]["noise_level"]), noise_level)
        per_bin = results.table(rec, "per_bin") if same else None
    except (FileNotFoundError, results.RecordCorruptError, KeyError):
        per_bin = None
    if per_bin is None:
        return by_region, False
    out = by_region.merge(per_bin[["bin", "r2_expert", "r2_global"]], on="bin", how="left")
    out["expert_fraction"] = out["r2_expert"] / out["r2_max_set"]
    return out, True


def best_deployable(frac: pd.DataFrame, level: float) -> pd.Series | None:
    """Best model not given true labels at one noise level (None when none is recorded).

    The maximum-likelihood fit with the true grid model (:data:`ML_GRID_MODEL`) is a check
    of the ceiling, given the exact physics of the data, and is never the best deployable.
    """
    if not len(frac):
        return None
    sub = frac[np.isclose(frac["noise_level"], level) & ~frac["uses_true_labels"]
               & (frac["model"] != ML_GRID_MODEL)]
    return None if sub.empty else sub.loc[sub["r2"].idxmax()]


def headline_levels(by_noise: pd.DataFrame, frac: pd.DataFrame, levels: list[float]
                    ) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Ceiling, best deployable model and the gap at each headline level.

    Returns ``(numbers, best_names)`` keyed by the level as text (``"0.2"``): numbers are
    ``r2_max_set, r2_max_median, r2_bayes_set, best_r2, gap, gap_bayes, fraction,
    fraction_bayes`` (NaN where no model is recorded; ``gap`` NaN also where the unbiased
    ceiling is ≤ 0: it then bounds nothing a shrinking model cares about).
    """
    numbers, names = {}, {}
    for lv in levels:
        row = by_noise[np.isclose(by_noise["noise_level"], lv)]
        if row.empty:
            continue
        best = best_deployable(frac, lv)
        r2_max = float(row["r2_max_set"].iloc[0])
        bayes = float(row["r2_bayes_set"].iloc[0])
        none = best is None
        numbers[f"{lv:g}"] = {
            "r2_max_set": r2_max, "r2_max_median": float(row["r2_max_median"].iloc[0]),
            "r2_bayes_set": bayes,
            "best_r2": np.nan if none else float(best["r2"]),
            "gap": np.nan if none or r2_max <= 0 else float(r2_max - best["r2"]),
            "gap_bayes": np.nan if none else float(bayes - best["r2"]),
            "fraction": np.nan if none else float(best["fraction"]),
            "fraction_bayes": np.nan if none else float(best["fraction_bayes"])}
        names[f"{lv:g}"] = "not run yet" if none else f"{best['model']} ({best['mvp_id']})"
    return numbers, names


def headline_sentence(level: str, h: dict[str, float], best_name: str) -> str:
    """The page's one-line summary of :func:`headline_levels` at one level (Markdown)."""
    from moehelpers.book.report import fmt

    gap = fmt(h["gap"]) if h["r2_max_set"] > 0 else "undefined (unbiased ceiling ≤ 0)"
    return (f"**Noise {level}:** ceiling $R^2_\\max$ = {fmt(h['r2_max_set'])} (set-level), "
            f"{fmt(h['r2_max_median'])} (median star), shrinkage ceiling "
            f"{fmt(h['r2_bayes_set'])}; best deployable model: {best_name}, "
            f"$R^2$ = {fmt(h['best_r2'])}, gap to the ceiling {gap} "
            f"(to the shrinkage ceiling {fmt(h['gap_bayes'])}).")


_BY_NOISE_METRICS = ("r2_max_set", "r2_max_median", "r2_cond_set", "r2_free_scale_set",
                     "r2_free_continuum_set", "r2_bayes_set", "snr_l2_median")
_HEADLINE_KEYS = ("r2_max_set", "r2_max_median", "r2_bayes_set", "best_r2", "gap",
                  "gap_bayes", "fraction", "fraction_bayes")


def ceiling_metrics(by_noise: pd.DataFrame, headline: dict[str, dict[str, float]],
                    levels: list[float], *, mc_ratio: float, flux_residual: float
                    ) -> dict[str, Any]:
    """The ceiling record's metrics: per-level columns and the headline-level numbers."""
    return {"noise_levels": levels,
            **{k: by_noise[k].tolist() for k in _BY_NOISE_METRICS if k in by_noise},
            **{f"headline_{k}": [h[k] for h in headline.values()] for k in _HEADLINE_KEYS},
            "headline_levels": [float(k) for k in headline], "mc_ratio": mc_ratio,
            "flux_residual": flux_residual}


def ceiling_headline_rows(by_noise: pd.DataFrame) -> list[dict[str, Any]]:
    """Headline rows of the ceiling record: set-level ceiling (with CI), shrinkage ceiling."""
    from moehelpers.evaluation.ceiling import BAYES_CEILING_MODEL, CEILING_MODEL

    return [*(results.headline_row(CEILING_MODEL, r["noise_level"], r["r2_max_set"],
                                   (r.get("r2_max_set_lo", np.nan),
                                    r.get("r2_max_set_hi", np.nan)))
              for _, r in by_noise.iterrows()),
            *(results.headline_row(BAYES_CEILING_MODEL, r["noise_level"], r["r2_bayes_set"])
              for _, r in by_noise.iterrows())]


def headline_levels_table(headline: dict[str, dict[str, float]]) -> pd.DataFrame:
    """:func:`headline_levels` numbers as a table with a float ``noise_level`` column."""
    return (pd.DataFrame.from_dict(headline, orient="index").rename_axis("noise_level")
            .reset_index().astype({"noise_level": "float64"}))


#: Records that are not MoE / conditional experiments: the global baseline and the peers page.
NOT_MOE_IDS = ("MVP-0", "BEYOND-peers")


def best_recorded(run: str, levels: list[float], runs_dir: str | Path | None = None, *,
                  exclude_ids: tuple[str, ...] = NOT_MOE_IDS) -> pd.DataFrame:
    """Best recorded MoE / conditional model per level, deployable and oracle, and the ceiling.

    Reads the run's headline tables (:func:`recorded_r2`) and ceiling record: at each level
    the best model not given true labels ("deployable"), the best given the true Teff and
    [M/H] ("oracle"), both from the experiments' own records (records in ``exclude_ids``, the
    global-Ridge baselines other records carry and the ML fit with the true grid model left
    out), and the Fisher ceiling itself. Their R²
    intervals are those their notebooks recorded (same test stars and noise draw); a paired
    interval against another model needs its predictions, which records do not keep.

    Returns
    -------
    DataFrame
        ``model, noise_level, r2, r2_lo, r2_hi, share_of_ceiling, source`` (``source``: the
        model and its record id; ``share_of_ceiling`` divides an oracle by the conditional
        ceiling, the others by the marginal one). Empty when nothing is recorded.
    """
    models, _ = recorded_r2(run, runs_dir)
    models = models[~models["mvp_id"].isin(exclude_ids) & (models["model"] != ML_GRID_MODEL)
                    & ~models["model"].str.startswith("global Ridge")]
    frac = fraction_of_ceiling(models, run=run, runs_dir=runs_dir)
    ceiling = ceiling_table(run, runs_dir)
    rows = []
    for lv in levels:
        at = frac[np.isclose(frac["noise_level"], lv)] if len(frac) else frac
        for oracle, what in ((False, "deployable"), (True, "oracle: true Teff/[M/H]")):
            sub = at[at["uses_true_labels"] == oracle] if len(at) else at
            if len(sub):
                b = sub.loc[sub["r2"].idxmax()]
                rows.append({"model": f"best MoE/conditional ({what})", "noise_level": lv,
                             "r2": b["r2"], "r2_lo": b["r2_lo"], "r2_hi": b["r2_hi"],
                             "share_of_ceiling": b["fraction"],
                             "source": f"{b['model']} ({b['mvp_id']})"})
        c = None if ceiling is None else ceiling[np.isclose(ceiling["noise_level"], lv)]
        if c is not None and len(c):
            r = c.iloc[0]
            rows.append({"model": CEILING_MODEL, "noise_level": lv, "r2": r["r2_max_set"],
                         "r2_lo": r.get("r2_max_set_lo", np.nan),
                         "r2_hi": r.get("r2_max_set_hi", np.nan),
                         "share_of_ceiling": 1.0 if r["r2_max_set"] > 0 else np.nan,
                         "source": f"Fisher / Cramér–Rao bound ({CEILING_ID})"})
    return pd.DataFrame(rows, columns=["model", "noise_level", "r2", "r2_lo", "r2_hi",
                                       "share_of_ceiling", "source"])


def with_recorded(scores: pd.DataFrame, run: str, runs_dir: str | Path | None = None, *,
                  baseline: str = "global Ridge") -> tuple[pd.DataFrame, bool]:
    """Scores of models fitted on a page beside the run's recorded best models and ceiling.

    ``scores`` (``model, noise_level, r2, r2_lo, r2_hi, delta_r2, delta_lo, delta_hi, …``)
    gains ``ceiling`` (the marginal Fisher ceiling R²_max of its level), ``share_of_ceiling``
    and ``source`` ("fitted here"); :func:`best_recorded` rows follow, each with ``delta_r2``
    against ``baseline``'s R² at its level (no paired interval: records keep no predictions).

    Returns
    -------
    table : DataFrame
    has_ceiling : bool
        False when the run has no ceiling record (shares are then NaN).
    """
    ceiling = ceiling_table(run, runs_dir)
    out = scores.copy()
    out["ceiling"] = np.nan if ceiling is None else at_levels(ceiling, "r2_max_set",
                                                              out["noise_level"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_of_ceiling"] = np.where(out["ceiling"] > 0, out["r2"] / out["ceiling"],
                                           np.nan)
    out["source"] = "fitted here"
    levels = sorted(set(out["noise_level"].astype(float)))
    rec = best_recorded(run, levels, runs_dir)
    base = out[out["model"] == baseline].set_index("noise_level")["r2"]
    rec["delta_r2"] = [r - base.get(lv, np.nan) if not m.startswith("Fisher") else np.nan
                       for m, lv, r in zip(rec["model"], rec["noise_level"], rec["r2"],
                                           strict=True)]
    parts = [out, rec] if len(rec) else [out]
    return pd.concat(parts, ignore_index=True), ceiling is not None
