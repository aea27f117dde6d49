"""Bin schemes: which expert is responsible for which star.

A :class:`BinScheme` is a product of per-label interval lists (e.g. Teff × [M/H]).
``scheme.assign(labels)`` maps each star to a bin id in ``0 … n_bins−1`` (row-major,
first axis slowest: the physical 3×3 scheme numbers bins Teff-major as the original
study did) or ``−1`` when the star lies outside every bin ("uncovered").

Interval closure follows the framework document (§2.2 MVP-1.0): Teff ∈ [3750, 4500),
[4500, 5250), [5250, 6000]; [M/H] ∈ [−2, −1), [−1, 0], (0, 0.5].

Too-small bins are handled by :func:`resolve_small_bins`, which either merges a bin
with its most populous neighbour or hands its stars to the global fallback, and
states what it did. :func:`merge_sparse_bins` merges adjacent intervals of a one-axis
scheme (e.g. quantile bins, MVP-3.0) while any holds too few stars of a reference sample.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from moehelpers.errors import BinTooSmallError, InvalidParameterError, MissingLabelError

__all__ = [
    "MH_EDGES",
    "TEFF_EDGES",
    "AxisBins",
    "BinPlan",
    "BinScheme",
    "Interval",
    "merge_sparse_bins",
    "mh_only",
    "physical_3x3",
    "quantile_scheme",
    "resolve_small_bins",
    "teff_only",
]

TEFF_EDGES = (3750.0, 4500.0, 5250.0, 6000.0)
MH_EDGES = (-2.0, -1.0, 0.0, 0.5)


@dataclass(frozen=True)
class Interval:
    """One interval ``lo … hi`` with explicit closure at each end."""

    lo: float
    hi: float
    closed_lo: bool = True
    closed_hi: bool = False

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask of ``values`` inside the interval."""
        v = np.asarray(values, dtype=float)
        left = v >= self.lo if self.closed_lo else v > self.lo
        right = v <= self.hi if self.closed_hi else v < self.hi
        return left & right

    def __str__(self) -> str:
        lo = "−∞" if np.isneginf(self.lo) else f"{self.lo:g}"
        hi = "+∞" if np.isposinf(self.hi) else f"{self.hi:g}"
        return f"{'[' if self.closed_lo else '('}{lo}, {hi}{']' if self.closed_hi else ')'}"


@dataclass(frozen=True)
class AxisBins:
    """Disjoint intervals of one label column."""

    column: str
    intervals: tuple[Interval, ...]

    def __post_init__(self) -> None:
        for a, b in zip(self.intervals, self.intervals[1:], strict=False):
            if a.hi > b.lo or (a.hi == b.lo and a.closed_hi and b.closed_lo):
                raise InvalidParameterError(
                    f"Intervals {a} and {b} of {self.column!r} overlap; give ascending, "
                    "disjoint intervals.")

    @classmethod
    def from_edges(cls, column: str, edges: Sequence[float], *,
                   closed: Sequence[tuple[bool, bool]] | None = None) -> AxisBins:
        """Intervals between consecutive ``edges``: ``[e0, e1), …, [e_{n−1}, e_n]`` by default."""
        e = np.asarray(edges, dtype=float)
        if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
            raise InvalidParameterError(
                f"Edges of {column!r} must be ≥ 2 strictly increasing numbers; got {list(edges)}.")
        n = e.size - 1
        if closed is None:
            closed = [(True, i == n - 1) for i in range(n)]
        if len(closed) != n:
            raise InvalidParameterError(f"{n} intervals need {n} closure pairs; got {len(closed)}.")
        return cls(column, tuple(Interval(float(e[i]), float(e[i + 1]), *closed[i])
                                 for i in range(n)))

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Interval index per value, −1 where none contains it."""
        v = np.asarray(values, dtype=float)
        out = np.full(v.shape, -1, dtype=np.int64)
        for i, iv in enumerate(self.intervals):
            out[iv.contains(v)] = i
        return out

    @property
    def names(self) -> list[str]:
        """Readable interval names, e.g. ``'[−2, −1)'``."""
        return [str(iv) for iv in self.intervals]


@dataclass(frozen=True)
class BinScheme:
    """Product of per-label interval lists; bins numbered row-major (first axis slowest)."""

    name: str
    axes: tuple[AxisBins, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of intervals per axis."""
        return tuple(len(a.intervals) for a in self.axes)

    @property
    def n_bins(self) -> int:
        """Total number of bins."""
        return int(np.prod(self.shape))

    @property
    def columns(self) -> list[str]:
        """Label columns the scheme reads."""
        return [a.column for a in self.axes]

    def assign(self, labels: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Bin id per star (−1 = uncovered).

        Parameters
        ----------
        labels : DataFrame or mapping of column → array of shape (n_samples,)
            Must hold every column in :attr:`columns` (true or predicted labels).
        """
        missing = [c for c in self.columns if c not in labels]
        if missing:
            found = list(labels.columns) if isinstance(labels, pd.DataFrame) else list(labels)
            raise MissingLabelError(
                f"Bin scheme {self.name!r} needs label column(s) {missing}; found {found}. "
                "Pass true or predicted labels under these names.")
        per_axis = [a.assign(np.asarray(labels[a.column])) for a in self.axes]
        covered = np.all([p >= 0 for p in per_axis], axis=0)
        flat = np.ravel_multi_index([np.where(covered, p, 0) for p in per_axis], self.shape)
        return np.where(covered, flat, -1).astype(np.int64)

    def bin_names(self) -> list[str]:
        """Names like ``'T_eff [3750, 4500) × M_H [−2, −1)'`` in bin-id order."""
        names = []
        for idx in np.ndindex(*self.shape):
            names.append(" × ".join(f"{a.column} {a.names[i]}" for a, i in zip(self.axes, idx,
                                                                                 strict=True)))
        return names

    def counts(self, bin_ids: np.ndarray) -> pd.DataFrame:
        """Stars per bin (plus the uncovered count) as a table."""
        b = np.asarray(bin_ids)
        rows = [{"bin": k, "name": n, "count": int(np.sum(b == k))}
                for k, n in enumerate(self.bin_names())]
        rows.append({"bin": -1, "name": "uncovered", "count": int(np.sum(b == -1))})
        return pd.DataFrame(rows)

    def neighbours(self, k: int) -> list[int]:
        """Bins sharing a face with bin ``k``."""
        idx = np.unravel_index(k, self.shape)
        out = []
        for ax in range(len(self.shape)):
            for step in (-1, 1):
                j = list(idx)
                j[ax] += step
                if 0 <= j[ax] < self.shape[ax]:
                    out.append(int(np.ravel_multi_index(j, self.shape)))
        return out


def physical_3x3() -> BinScheme:
    """The study's 3×3 (Teff, [M/H]) scheme (framework document §2.2 MVP-1.0)."""
    teff = AxisBins.from_edges("T_eff", TEFF_EDGES)
    mh = AxisBins.from_edges("M_H", MH_EDGES,
                             closed=[(True, False), (True, True), (False, True)])
    return BinScheme("physical 3×3", (teff, mh))


def mh_only() -> BinScheme:
    """Three [M/H] bins with the physical edges (ablation of MVP-1.1)."""
    return BinScheme("[M/H]-only", (physical_3x3().axes[1],))


def teff_only() -> BinScheme:
    """Three Teff bins with the physical edges (ablation of MVP-1.1)."""
    return BinScheme("Teff-only", (physical_3x3().axes[0],))


def quantile_scheme(values: np.ndarray, k: int, *, column: str = "M_H") -> BinScheme:
    """``k`` equal-count bins of ``column`` with edges from ``values`` (training stars).

    The outer edges are ±∞, so every star is covered.

    Raises
    ------
    InvalidParameterError
        If ``k < 1`` or the data hold fewer than ``k`` distinct values.
    """
    v = np.asarray(values, dtype=float)
    if not isinstance(k, int | np.integer) or k < 1:
        raise InvalidParameterError(f"Quantile K must be an integer ≥ 1; got {k!r}.")
    inner = np.quantile(v, np.linspace(0, 1, k + 1)[1:-1]) if k > 1 else np.array([])
    if np.unique(v).size < k or np.any(np.diff(inner) <= 0):
        raise InvalidParameterError(
            f"Quantile K={k} is larger than the {np.unique(v).size} distinct {column} values "
            "allow (edges would coincide); use a smaller K.")
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    return BinScheme(f"{column} quantiles K={k}", (AxisBins.from_edges(column, edges),))


@dataclass
class BinPlan:
    """Which expert serves each bin after small bins were handled.

    Attributes
    ----------
    expert_of_bin : ndarray of shape (n_bins,)
        Expert id per bin, or −1 where the bin's stars go to the global fallback.
    statement : list of str
        What was merged or handed to the fallback, and why (shown in notebooks).
    """

    expert_of_bin: np.ndarray
    statement: list[str] = field(default_factory=list)

    @property
    def n_experts(self) -> int:
        """Number of distinct experts."""
        return int(self.expert_of_bin.max()) + 1 if np.any(self.expert_of_bin >= 0) else 0

    def experts(self, bin_ids: np.ndarray) -> np.ndarray:
        """Expert id per star (−1 for uncovered stars and fallback bins)."""
        b = np.asarray(bin_ids)
        return np.where(b >= 0, self.expert_of_bin[np.clip(b, 0, None)], -1)


def resolve_small_bins(scheme: BinScheme, bin_ids: np.ndarray, min_count: int, *,
                       strategy: str = "merge") -> BinPlan:
    """Deal with bins holding fewer than ``min_count`` (training) stars.

    Parameters
    ----------
    strategy : {"merge", "fallback", "raise"}
        ``merge``: join the smallest offending group with its most populous
        face-neighbour group, repeatedly; ``fallback``: its stars are predicted by
        the global model; ``raise``: raise :class:`BinTooSmallError`.
    """
    if strategy not in ("merge", "fallback", "raise"):
        raise InvalidParameterError(
            f"strategy must be 'merge', 'fallback' or 'raise'; got {strategy!r}.")
    counts = np.bincount(np.asarray(bin_ids)[np.asarray(bin_ids) >= 0],
                         minlength=scheme.n_bins)
    names = scheme.bin_names()
    group = np.arange(scheme.n_bins)
    statement: list[str] = []
    small = [k for k in range(scheme.n_bins) if counts[k] < min_count]
    if small and strategy == "raise":
        detail = ", ".join(f"{names[k]}: {counts[k]}" for k in small)
        raise BinTooSmallError(
            f"Bins with fewer than {min_count} training stars: {detail}. Use more training "
            "stars, a coarser scheme, or strategy='merge'/'fallback'.")
    if strategy == "fallback":
        for k in small:
            group[k] = -1
            statement.append(f"{names[k]} has {counts[k]} < {min_count} stars: "
                             "predicted by the global model")
    else:
        while True:
            ids = [g for g in np.unique(group) if g >= 0]
            if len(ids) <= 1:
                break
            sizes = {g: int(counts[group == g].sum()) for g in ids}
            offenders = [g for g in ids if sizes[g] < min_count]
            if not offenders:
                break
            g = min(offenders, key=lambda x: sizes[x])
            members = np.flatnonzero(group == g)
            adjacent = {int(group[n]) for m in members for n in scheme.neighbours(int(m))} - {g}
            if not adjacent:
                break
            target = max(adjacent, key=lambda x: sizes[x])
            statement.append(
                f"merged {' + '.join(names[m] for m in members)} ({sizes[g]} stars < {min_count})"
                f" into the group of {names[int(np.flatnonzero(group == target)[0])]}")
            group[group == g] = target
    # renumber experts 0..E−1 in bin order
    expert = np.full(scheme.n_bins, -1, dtype=np.int64)
    mapping: dict[int, int] = {}
    for k in range(scheme.n_bins):
        if group[k] >= 0:
            expert[k] = mapping.setdefault(int(group[k]), len(mapping))
    if not statement:
        statement.append(f"every bin has ≥ {min_count} training stars; one expert per bin")
    return BinPlan(expert, statement)


def merge_sparse_bins(scheme: BinScheme, labels: pd.DataFrame | Mapping[str, np.ndarray],
                      min_count: int = 30) -> tuple[BinScheme, list[str]]:
    """Merge adjacent intervals of a one-axis scheme while any holds < ``min_count`` stars.

    The document's hard threshold for quantile bins (§2.2 MVP-3.0: "n_test_bin < 30 →
    merge adjacent bins"): the stars counted are those of ``labels`` (the test stars).
    Repeatedly, the interval with the fewest stars (first on ties) is joined with its
    adjacent interval holding fewer stars (the lower one on ties), until every interval
    holds ≥ ``min_count`` stars or one interval is left. The merged scheme covers exactly
    what ``scheme`` covers (all stars for quantile bins, whose outer edges are ±∞).

    Parameters
    ----------
    scheme : BinScheme
        One axis with contiguous intervals (each ``hi`` equals the next ``lo``).
    labels : DataFrame or mapping of column → array
        The reference stars (their ``scheme.columns[0]`` values are counted).
    min_count : int, default=30

    Returns
    -------
    merged : BinScheme
        ``scheme`` itself when nothing was merged; else a scheme named
        ``"<name>, merged to k"``.
    statement : list of str
        What was merged and why (or that nothing was).
    """
    if len(scheme.axes) != 1:
        raise InvalidParameterError(
            f"merge_sparse_bins needs a one-axis scheme; {scheme.name!r} has "
            f"{len(scheme.axes)} axes. Use resolve_small_bins for product schemes.")
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer) or min_count < 0:
        raise InvalidParameterError(f"min_count must be an integer ≥ 0; got {min_count!r}.")
    axis = scheme.axes[0]
    ivs = list(axis.intervals)
    for a, b in itertools.pairwise(ivs):
        if a.hi != b.lo:
            raise InvalidParameterError(
                f"Intervals {a} and {b} of {axis.column!r} are not adjacent; only contiguous "
                "intervals can be merged.")
    ids = scheme.assign(labels)
    counts = [int(c) for c in np.bincount(ids[ids >= 0], minlength=len(ivs))]
    statement: list[str] = []
    while len(ivs) > 1 and min(counts) < min_count:
        i = int(np.argmin(counts))
        nbrs = [j for j in (i - 1, i + 1) if 0 <= j < len(ivs)]
        j = min(nbrs, key=lambda k: (counts[k], k))
        lo, hi = min(i, j), max(i, j)
        merged = Interval(ivs[lo].lo, ivs[hi].hi, ivs[lo].closed_lo, ivs[hi].closed_hi)
        statement.append(f"merged {axis.column} {ivs[i]} ({counts[i]} stars < {min_count}) "
                         f"with {ivs[j]} ({counts[j]} stars) into {merged}")
        ivs[lo:hi + 1] = [merged]
        counts[lo:hi + 1] = [counts[lo] + counts[hi]]
    if not statement:
        return scheme, [f"every {axis.column} bin holds ≥ {min_count} reference stars; "
                        "no merging"]
    out = BinScheme(f"{scheme.name}, merged to {len(ivs)}",
                    (AxisBins(axis.column, tuple(ivs)),))
    return out, statement
