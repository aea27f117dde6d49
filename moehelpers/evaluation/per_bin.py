"""Evaluation of piecewise Ridge for MVP-1.0 / MVP-1.1: per-bin tables and one seed's run.

Every comparison scores both models on the same test stars (the stars an expert serves,
``covered``) with :func:`moehelpers.metrics.paired_bootstrap`, so a ΔR² can never mix a
model scored on the covered subset with one scored on all stars — except in the one value
that shows the size of that mistake (``delta_misaligned``, the original study's lesson 1).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data import splits as experiment
from moehelpers.metrics import PairedBootstrapResult, paired_bootstrap, r2
from moehelpers.models.bins import BinScheme, mh_only, physical_3x3, teff_only
from moehelpers.models.piecewise import PiecewiseRidge, fit_together

__all__ = ["ABLATIONS", "TITLES", "SeedResult", "bin_axes", "interior_share", "per_bin_table",
           "piecewise_summary", "rigorous_labels", "rigorous_seed", "rigorous_summary",
           "seed_table"]

#: Ablation schemes of MVP-1.1 (key → scheme factory), besides the 9-bin physical scheme.
ABLATIONS = {"mh_only": mh_only, "teff_only": teff_only}
#: Display names of the compared models (keys of :attr:`SeedResult.comparisons`).
TITLES = {"nine_bin": "9-bin", "mh_only": "[M/H]-only", "teff_only": "Teff-only",
          "fallback": "9-bin + global fallback"}


def bin_axes(scheme: BinScheme) -> tuple[list[str], list[str]]:
    """Interval names of a two-axis scheme: (rows = first axis, columns = second axis)."""
    return [f"{scheme.axes[0].column} {n}" for n in scheme.axes[0].names], \
        [f"{scheme.axes[1].column} {n}" for n in scheme.axes[1].names]


def per_bin_table(model: PiecewiseRidge, labels: pd.DataFrame, y: np.ndarray,
                  pred_moe: np.ndarray, pred_global: np.ndarray, *, n_boot: int,
                  seed: int, reference: Sequence[float] | None = None) -> pd.DataFrame:
    """Per-bin R² of the bin's expert vs the global model on the same test stars.

    Parameters
    ----------
    model : fitted PiecewiseRidge
    labels, y : test labels (routing) and targets
    pred_moe, pred_global : test predictions of the piecewise and the global model
    n_boot, seed : paired bootstrap of each bin's ΔR²
    reference : per-bin R² of the original study, optional (column ``r2_reference``)

    Returns
    -------
    DataFrame
        One row per bin: counts (train/val/test), expert, α and where it was chosen,
        ``r2_expert``, ``r2_global``, ``delta_r2`` with ``delta_r2_lo``/``delta_r2_hi``
        (NaN where a bin has < 3 test stars or constant log g).
    """
    bins = model.scheme_.assign(labels)
    served = model.route(labels)
    rows = []
    for k, row in model.counts_[model.counts_["bin"] >= 0].iterrows():
        idx = np.flatnonzero((bins == k) & (served >= 0))
        expert = int(row["expert"])
        out = {"bin": int(row["bin"]), "name": row["name"], "expert": expert,
               "n_train": int(row["n_train"]), "n_val": int(row["n_val"]), "n_test": idx.size,
               "alpha": model.alpha_per_expert_[expert] if expert >= 0 else np.nan,
               "alpha_from": model.alpha_source_[expert] if expert >= 0 else "fallback",
               "r2_expert": np.nan, "r2_global": np.nan, "delta_r2": np.nan,
               "delta_r2_lo": np.nan, "delta_r2_hi": np.nan}
        if idx.size >= 3 and np.ptp(y[idx]) > 0:
            res = paired_bootstrap(y, pred_moe, pred_global, index=idx, n_boot=n_boot,
                                   seed=seed)
            out.update(r2_expert=res.score_a, r2_global=res.score_b, delta_r2=res.difference,
                       delta_r2_lo=res.ci_low, delta_r2_hi=res.ci_high)
        if reference is not None:
            out["r2_reference"] = float(reference[k]) if k < len(reference) else np.nan
        rows.append(out)
    return pd.DataFrame(rows)


@dataclass
class SeedResult:
    """One seed of the rigorous protocol: new split, new noise, every scheme fitted once.

    ``comparisons`` maps a key of :data:`TITLES` to a paired bootstrap against the global
    model: ``"nine_bin"`` and each ablation on the covered stars, ``"fallback"`` (9-bin with
    the global model for uncovered stars) on all test stars.
    """

    seed: int
    sizes: dict[str, int]
    n_covered: int
    r2_global_all: float
    r2_moe_covered: float
    delta_misaligned: float
    comparisons: dict[str, PairedBootstrapResult]
    alphas: dict[str, list[float]]
    plan: dict[str, list[str]]
    seconds: float
    counts: pd.DataFrame = field(repr=False)


def rigorous_seed(splits: experiment.Splits, seed: int, *, noise_level: float,
                  alphas: Sequence[float], n_boot: int, boot_seed: int,
                  min_bin_train: int = 100, min_bin_val: int = 20, ablation: bool = True,
                  sizes: dict[str, int] | None = None) -> SeedResult:
    """Resplit the pooled stars with ``seed``, draw noise with ``seed``, fit and compare.

    The noisy training matrix is drawn once; the 9-bin model and (with ``ablation``) the
    [M/H]-only and Teff-only models are fitted from one statistics pass and share one
    global model (:func:`moehelpers.models.piecewise.fit_together`). All comparisons use the same
    bootstrap seed, so they resample the same stars.
    """
    start = time.perf_counter()
    sp = experiment.resplit(splits, seed, **(sizes or {}))
    X = experiment.noisy_splits(sp, noise_level, seed)
    y = {s: sp[s].y for s in experiment.SPLITS}
    lab = {s: sp[s].labels for s in experiment.SPLITS}
    models = {"nine_bin": PiecewiseRidge(physical_3x3(), alphas, min_bin_train=min_bin_train,
                                      min_bin_val=min_bin_val)}
    if ablation:
        models.update({name: PiecewiseRidge(make(), alphas, min_bin_train=min_bin_train,
                                            min_bin_val=min_bin_val)
                       for name, make in ABLATIONS.items()})
    fit_together(list(models.values()), X["train"], y["train"], lab["train"], X["val"],
                 y["val"], lab["val"])
    del X["train"]
    yt, g = y["test"], models["nine_bin"].global_.predict(X["test"])
    covered = models["nine_bin"].route(lab["test"]) >= 0
    preds = {name: m.predict(X["test"], lab["test"]) for name, m in models.items()}
    kw = {"n_boot": n_boot, "seed": boot_seed}
    comparisons = {name: paired_bootstrap(yt, p, g, index=covered, **kw)
                   for name, p in preds.items()}
    comparisons["fallback"] = paired_bootstrap(yt, preds["nine_bin"], g, **kw)
    r2_all = float(r2(yt, g))
    return SeedResult(
        seed=int(seed), sizes=sp.sizes(), n_covered=int(covered.sum()), r2_global_all=r2_all,
        r2_moe_covered=comparisons["nine_bin"].score_a,
        delta_misaligned=comparisons["nine_bin"].score_a - r2_all, comparisons=comparisons,
        alphas={"global": [models["nine_bin"].global_.alpha_],
                **{n: m.alpha_per_expert_.tolist() for n, m in models.items()}},
        plan={n: list(m.bin_plan_.statement) for n, m in models.items()},
        seconds=time.perf_counter() - start, counts=models["nine_bin"].counts_)


def seed_table(results: Sequence[SeedResult]) -> pd.DataFrame:
    """One row per seed: R² of both models on the covered stars, ΔR² with its CI, the
    misaligned ΔR², the fallback ΔR² and each ablation's ΔR² and share of the 9-bin gain."""
    rows = []
    for res in results:
        c = res.comparisons["nine_bin"]
        fb = res.comparisons["fallback"]
        row: dict[str, Any] = {
            "seed": res.seed, "n_test": res.sizes["test"], "n_covered": res.n_covered,
            "r2_global": c.score_b, "r2_moe": c.score_a, "delta_r2": c.difference,
            "delta_r2_lo": c.ci_low, "delta_r2_hi": c.ci_high,
            "delta_misaligned": res.delta_misaligned, "r2_global_all": res.r2_global_all,
            "r2_fallback_all": fb.score_a, "delta_fallback": fb.difference,
            "delta_fallback_lo": fb.ci_low, "delta_fallback_hi": fb.ci_high}
        for name in ABLATIONS:
            a = res.comparisons.get(name)
            row[f"delta_{name}"] = np.nan if a is None else a.difference
            row[f"share_{name}"] = np.nan if a is None else a.difference / c.difference
        rows.append(row)
    return pd.DataFrame(rows)




def rigorous_summary(results: Sequence[SeedResult],
                     per_seed: pd.DataFrame | None = None) -> dict[str, float]:
    """Headline numbers of the rigorous protocol (MVP-1.1).

    Parameters
    ----------
    results : sequence of SeedResult
        The seeds' runs, first seed first (its comparisons give the single-seed numbers).
    per_seed : pandas.DataFrame, optional
        :func:`seed_table` of ``results`` (computed when omitted).

    Returns
    -------
    dict
        ``r2_global``, ``r2_moe``, ``delta_r2``, ``delta_lo``, ``delta_hi`` (first seed, covered
        stars), ``seeds_mean`` and ``seeds_sd`` of ΔR² over seeds (sd NaN for one seed),
        ``delta_fallback`` and ``delta_misaligned`` (first seed), and ``delta_<name>`` /
        ``share_<name>`` per ablation: the mean over the seeds where it was fitted.
    """
    per_seed = seed_table(results) if per_seed is None else per_seed
    main = results[0]
    c = main.comparisons["nine_bin"]
    abl = per_seed.dropna(subset=[f"delta_{n}" for n in ABLATIONS])
    return {
        "r2_global": c.score_b, "r2_moe": c.score_a, "delta_r2": c.difference,
        "delta_lo": c.ci_low, "delta_hi": c.ci_high,
        "seeds_mean": float(per_seed["delta_r2"].mean()),
        "seeds_sd": float(per_seed["delta_r2"].std(ddof=1)) if len(results) > 1 else np.nan,
        "delta_fallback": main.comparisons["fallback"].difference,
        "delta_misaligned": main.delta_misaligned,
        **{f"{q}_{n}": float(abl[f"{q}_{n}"].mean()) for n in ABLATIONS
           for q in ("delta", "share")},
    }


def rigorous_labels(n_seeds: int, n_ablation_seeds: int) -> dict[str, str]:
    """Display label of each key of :func:`rigorous_summary`, in table order.

    Parameters
    ----------
    n_seeds : int
        Number of seeds run (named in the mean's label).
    n_ablation_seeds : int
        Number of seeds at which the ablation schemes were fitted.
    """
    return {
        "r2_global": "R² global, covered stars (first seed)",
        "r2_moe": "R² 9-bin piecewise, covered stars (first seed)",
        "delta_r2": "ΔR², same stars (first seed)",
        "delta_lo": "ΔR² 95% CI low (first seed)", "delta_hi": "ΔR² 95% CI high (first seed)",
        "seeds_mean": f"ΔR² mean over {n_seeds} seeds", "seeds_sd": "ΔR² sd over seeds",
        "delta_fallback": "ΔR² with global fallback, all stars (first seed)",
        "delta_misaligned": "misaligned ΔR² (covered vs all stars; first seed)",
        **{f"delta_{n}": f"ΔR² {TITLES[n]} (mean over {n_ablation_seeds} seed(s))"
           for n in ABLATIONS},
        **{f"share_{n}": f"share of the 9-bin gain, {TITLES[n]}" for n in ABLATIONS},
    }


def interior_share(chosen: Mapping[str, Iterable[float]] | Iterable[float],
                   grid: Sequence[float]) -> float:
    """Share of the chosen α values strictly inside ``grid`` (not at either end).

    Parameters
    ----------
    chosen : mapping of iterables, or iterable of float
        The chosen α values; a mapping's lists (e.g. :attr:`SeedResult.alphas`) are pooled.
    grid : sequence of float
        The α grid searched.
    """
    groups = chosen.values() if isinstance(chosen, Mapping) else [chosen]
    values = [a for v in groups for a in v]
    return float(np.mean([min(grid) < a < max(grid) for a in values]))


def piecewise_summary(covered: np.ndarray, r2_global_all: float,
                      overall: PairedBootstrapResult, reference: Mapping[str, Any],
                      reference_label: str) -> pd.DataFrame:
    """MVP-1.0 summary: coverage, R² of both models and ΔR² with its CI, beside a reference.

    Parameters
    ----------
    covered : numpy.ndarray of bool
        Test stars inside the bins.
    r2_global_all : float
        R² of the global model on all test stars.
    overall : PairedBootstrapResult
        Piecewise (a) vs global (b) on the covered stars.
    reference : mapping
        Reference numbers keyed as :data:`moehelpers.records.references.ORIGINAL`
        (``mvp0.coverage``, ``mvp0.r2_all``, ``mvp0.r2_covered``, ``mvp1.r2_moe``,
        ``mvp1.delta_r2``, ``mvp1.delta_r2_ci``).
    reference_label : str
        Name of the reference column.

    Returns
    -------
    pandas.DataFrame
        Columns ``quantity``, ``ours``, ``reference_label``.
    """
    ref, ci = reference, reference["mvp1.delta_r2_ci"]
    rows = [("coverage (test stars inside the bins)", covered.mean(), ref["mvp0.coverage"]),
            ("R² global, all test stars", r2_global_all, ref["mvp0.r2_all"]),
            ("R² global, covered stars", overall.score_b, ref["mvp0.r2_covered"]),
            ("R² piecewise, covered stars", overall.score_a, ref["mvp1.r2_moe"]),
            ("ΔR² (same stars)", overall.difference, ref["mvp1.delta_r2"]),
            ("ΔR² 95% CI low", overall.ci_low, ci[0]),
            ("ΔR² 95% CI high", overall.ci_high, ci[1])]
    return pd.DataFrame([{"quantity": q, "ours": o, reference_label: r} for q, o, r in rows])
