"""The hub pages: the framework document's §1–§6 generated from result records.

The prose lives in ``book/hub/*.md`` (committed); each of those pages includes computed
fragments that :func:`write_hub` writes into ``book/_generated/hub/`` at every book build:

=====================  ==============================================================
fragment               content
=====================  ==============================================================
``hypotheses.md``      §1.2 hypotheses, each status computed from record verdicts
``questions.md``       §1.3 questions with computed answers (original study beside)
``insights.md``        §1.4 insights re-tested on our records
``phases.md``          §2.1 phases with computed status
``diagram.md``         §2 MVP dependency diagram (static SVG, coloured by status)
``tracker.md``         §3 one row per experiment: status, page, computed conclusion
``matrix.md``          §4.1 cross-experiment result matrix (primary run)
``verification.md``    §4.2 every rule behind every hypothesis
``core.md``            §5.1 the two kinds of MoE, judged
``conclusions.md``     §5.2 design principles with their evidence
``decision.md``        §6.1 decision tree with the branch taken
``summary.md``         §6.2 numeric summary tables
``runs.md``            every run, cross-run table, R² vs noise figure
=====================  ==============================================================

Records missing → *not run yet*; a record lacking a field → a sentence naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import hub_text
from moehelpers.book.hub_facts import (
    CEILING_MODEL,
    conclusion,
    headline,
    is_ceiling,
    m,
    verdict_summary,
)
from moehelpers.book.hub_figures import dependency_svg, r2_vs_noise_html
from moehelpers.book.hub_state import (
    ICONS,
    NOT_EVALUABLE,
    NOT_IN_RUN,
    NOT_RUN,
    HubState,
    all_statuses,
    evidence,
    load_state,
)
from moehelpers.book.report import fmt
from moehelpers.records import references
from moehelpers.records.registry import HYPOTHESES, MVPS, PHASES, mvp, notebook_title

__all__ = ["HUB_DIR", "conclusions_across_runs", "cross_run_table", "mvp_status", "write_hub"]

HUB_DIR = Path("book") / "_generated" / "hub"
_PAGES = {"diagram.md": "book/hub/roadmap"}  # docnames of pages embedding raw HTML
_table = hub_text._table


def _link(state: HubState, mvp_id: str, run: str | None = None) -> str:
    run_state = state.runs.get(run or state.primary or "")
    doc = run_state.notebooks.get(mvp_id) if run_state else None
    return f"{{doc}}`{mvp_id} </{doc}>`" if doc else mvp_id


def mvp_status(state: HubState, mvp_id: str, run: str | None = None) -> str:
    """Status of one experiment in a run: a key of :data:`hub_figures.STATUS_COLORS`."""
    rs = state.runs.get(run or state.primary or "")
    rec = rs.records.get(mvp_id) if rs else None
    if rec is not None:
        judged = [v["passed"] for v in rec["verdicts"].values() if v["passed"] is not None]
        if judged and all(judged):
            return "all rules hold"
        return "no rule holds" if judged and not any(judged) else "some rules fail"
    stem = state.source_notebooks.get(mvp_id)
    if rs and stem and stem in rs.failed:
        return "notebook failed"
    return "not run yet" if stem else "no notebook yet"


def _title(state: HubState, mvp_id: str) -> str:
    entry = mvp(mvp_id)
    if entry:
        return entry.title
    stem = state.source_notebooks.get(mvp_id)
    from moehelpers.paths import notebooks_dir

    return notebook_title(notebooks_dir() / f"{stem}.ipynb") if stem else mvp_id


# ------------------------------------------------------------------------- fragments
def hypotheses_md(state: HubState) -> str:
    """§1.2 tables (sub-hypotheses and the Phase 7 key hypotheses)."""
    statuses = all_statuses(state.records)
    out = []
    for group, caption in (("sub", "Sub-hypotheses"), ("key", "Key hypotheses of Phase 7")):
        rows = [[h.id, h.statement, ", ".join(_link(state, i) for i in h.mvps),
                 f"{ICONS[statuses[h.id][0]]} {statuses[h.id][0]}"
                 + (f" ({statuses[h.id][1]})" if statuses[h.id][1] else "")]
                for h in HYPOTHESES if h.group == group]
        out.append(f"**{caption}**\n\n" + _table(["#", "hypothesis", "tested by", "status"],
                                                 rows))
    return "\n".join(out)


def phases_md(state: HubState) -> str:
    """§2.1 phases and their computed status."""
    rows = []
    for phase, purpose in PHASES.items():
        ids = [m.id for m in MVPS if m.phase == phase] if phase != "Beyond" else [
            i for i in state.mvp_ids() if mvp(i) is None]
        if not ids:
            continue
        done = sum(i in state.records for i in ids)
        status = ("✓ done" if done == len(ids) else "not run yet" if done == 0
                  else f"{done} of {len(ids)} run")
        rows.append([phase, purpose, ", ".join(_link(state, i) for i in ids), status])
    return _table(["phase", "purpose", "experiments", "status"], rows)


def diagram_md(state: HubState) -> str:
    """§2 dependency diagram as a raw-HTML block."""
    ids = state.mvp_ids()
    rs = state.runs.get(state.primary or "")
    svg = dependency_svg({i: mvp_status(state, i) for i in ids},
                         rs.notebooks if rs else {}, _PAGES["diagram.md"])
    return "```{raw} html\n" + svg + "\n```\n"


def tracker_md(state: HubState) -> str:
    """§3 experiment tracker of the primary run."""
    rows = []
    for i in state.mvp_ids():
        entry = mvp(i)
        rec = state.records.get(i)
        status = mvp_status(state, i)
        rows.append([_link(state, i), _title(state, i), entry.phase if entry else "beyond",
                     status, verdict_summary(rec) if rec else "",
                     conclusion(rec) if rec else (entry.acceptance if entry else "")])
    return _table(["MVP", "experiment", "phase", "status", "rules", "conclusion (computed) "
                   "or acceptance rule (not run)"], rows)


def _r2_text(row: Mapping[str, Any]) -> str:
    if np.isfinite(row["r2_lo"]) and np.isfinite(row["r2_hi"]):
        return f"{fmt(row['r2'])} [{fmt(row['r2_lo'])}, {fmt(row['r2_hi'])}]"
    return fmt(row["r2"])


def matrix_md(state: HubState) -> str:
    """§4.1 result matrix: every headline model of the primary run, original beside."""
    frames = [headline(state.records[i]) for i in state.mvp_ids() if i in state.records]
    frames = [f for f in frames if len(f)]
    if not frames:
        return "*not run yet*\n"
    df = pd.concat(frames, ignore_index=True)
    rows = [[_link(state, r["mvp_id"]), r["model"], fmt(r["noise_level"], 2), r["subset"],
             _r2_text(r), fmt(r["original"])] for _, r in df.iterrows()]
    return _table(["MVP", "model", "noise", "test stars", "R² [95% CI]",
                   f"R², {references.LABEL}"], rows)


def verification_md(state: HubState) -> str:
    """§4.2 every rule behind every hypothesis, with its measured value."""
    rows = []
    for h in HYPOTHESES:
        ev = evidence(h, state.records)
        if not ev:
            rows.append([h.id, ", ".join(h.mvps), "—", "", "", "not run yet"])
        for e in ev:
            outcome = {True: "holds", False: "fails", None: "not evaluable"}[e["passed"]]
            rows.append([h.id, _link(state, e["mvp_id"]), e["rule"], fmt(e["value"], 4),
                         f"{e['op']} {fmt(e['threshold'], 4)}", outcome])
    return _table(["hypothesis", "MVP", "rule", "measured", "threshold", "outcome"], rows)


def _df_md(df: pd.DataFrame, digits: int = 4) -> str:
    rows = [[fmt(v, digits) if isinstance(v, float | np.floating) else v for v in r]
            for r in df.itertuples(index=False)]
    return _table([str(c) for c in df.columns], rows)


def summary_md(state: HubState) -> str:
    """§6.2 numeric summary tables taken from the records' own tables."""
    from moehelpers.records.store import table

    wanted = [("MVP-1.0", "summary", "Main metrics, piecewise Ridge"),
              ("MVP-1.1", "summary", "Rigorous validation and ablation"),
              ("MVP-1.0", "per_bin", "Per-bin statistics"),
              ("MVP-2.0", "by_level", "Noise-conditioned experts vs the mixed model")]
    out = []
    for mvp_id, name, caption in wanted:
        rec = state.records.get(mvp_id)
        out.append(f"**{caption}** ({_link(state, mvp_id)})\n")
        if rec is None or name not in rec["tables"]:
            out.append("*not run yet*\n")
            continue
        df = table(rec, name)
        if name == "per_bin":
            df = df[[c for c in ("bin", "name", "n_train", "n_test", "alpha", "r2_expert",
                                 "r2_global", "delta_r2", "delta_r2_lo", "delta_r2_hi")
                     if c in df.columns]].copy()
            orig = references.ORIGINAL["mvp1.per_bin_r2"]
            if len(df) == len(orig):
                df[f"r2_expert, {references.LABEL}"] = list(orig)
        out.append(_df_md(df))
    out.extend(large_data_md(state))
    return "\n".join(out)


#: The document's large-data check (§6.2) trained on this many stars (100k / 10k).
LARGE_N_TRAIN = 100_000


def large_data_md(state: HubState) -> list[str]:
    """§6.2's large-data check: MVP-1.1 of every run trained on ≥ 100k stars, beside the
    original's 100k / 10k numbers (the record's own ``summary`` table, whose reference
    column :func:`moehelpers.records.references.reference_for` chose by size and noise)."""
    from moehelpers.records.store import table

    out = ["**Large-data check, §6.2** (MVP-1.1 at 100k train / 10k test)\n"]
    found = False
    for name, rs in sorted(state.runs.items()):
        rec = rs.records.get("MVP-1.1")
        if rec is None or rec["params"].get("n_train", 0) < LARGE_N_TRAIN:
            continue
        found = True
        p = rec["params"]
        out.append(f"Run `{name}`: {p['n_train']} train / {p.get('n_test')} test, noise "
                   f"{p.get('noise_level')}, {len(p.get('seeds', []))} seeds.\n")
        out.append(_df_md(table(rec, "summary")))
    if not found:
        out.append("*not run yet*: `python -m moehelpers data --out data/large --n-train "
                   "100000 --n-test 10000`, then `python -m moehelpers run --name large-0.2 "
                   "--notebooks 03 -p data_path=data/large -p n_train=100000 -p n_test=10000`"
                   " (and `-p noise_level=0.5` as `large-0.5`).\n")
    return out


# ------------------------------------------------------------------------ across runs
#: Models drawn from the start in the R²-vs-noise figure (the others: click the legend).
#: Models of experiments without an entry here (new notebooks) are drawn too.
MAIN_MODELS = {"MVP-0": ("global Ridge",), "MVP-1.0": ("piecewise Ridge",),
               "MVP-2.0": ("expert per noise level", "mixed-noise Ridge"),
               "MVP-3.2": ("conditional Ridge, order 1, true",),
               "MVP-6.0": ("3x3 · mixture soft", "3x3 · logistic soft"),
               "MVP-7.3": ("noise-conditioned [x, n̂·x]",),
               "BEYOND-GATE": ("combined gate",),
               "BEYOND-ceiling": ("Fisher ceiling",)}
_KNOWN = {"MVP-1.1", "MVP-3.0", "MVP-3.1", "MVP-4.0", "MVP-6.1", "MVP-7.1", "MVP-7.2",
          "MVP-7.4"}


def main_model(mvp_id: str, model: str) -> bool:
    """True when the figure draws this model without a click."""
    if mvp_id in MAIN_MODELS:
        return model.startswith(MAIN_MODELS[mvp_id])
    return mvp_id not in _KNOWN


def cross_run_table(state: HubState) -> pd.DataFrame:
    """Long table of every headline model in every run (``run, label, noise_level, r2…``)."""
    frames = []
    for name, rs in state.runs.items():
        for mvp_id, rec in rs.records.items():
            df = headline(rec)
            if len(df):
                df.insert(0, "run", name)
                df["label"] = df["mvp_id"] + " · " + df["model"]
                df["n_train"] = rec["params"].get("n_train", np.nan)
                df["main"] = [main_model(mvp_id, m) for m in df["model"]]
                frames.append(df)
    cols = ["run", "mvp_id", "model", "label", "noise_level", "subset", "r2", "r2_lo", "r2_hi",
            "original", "n_train", "main"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def conclusions_across_runs(state: HubState) -> pd.DataFrame:
    """Status of every registered hypothesis in every run (rows: hypotheses; columns: runs).

    ``agree`` is ``"same"`` when every run that judged the hypothesis (status neither
    *not run yet* nor *not evaluable*) reached the same status, ``"differs"`` when two such
    runs disagree, and ``""`` when fewer than two runs judged it. Runs differ by their
    parameters (noise level, ``flux_kind``, sizes): a conclusion that holds on the physical
    and on the distorted-continuum run does not rest on the continuum shape. A run that
    holds records, but none that judges the hypothesis (a run of some notebooks only, e.g.
    the §6.2 large-data runs of MVP-1.1), says :data:`NOT_IN_RUN` instead of *not run yet*.
    """

    runs = list(state.runs)
    rows = []
    for h in HYPOTHESES:
        row: dict[str, Any] = {"hypothesis": h.id}
        judged = []
        for name in runs:
            status = all_statuses(state.runs[name].records)[h.id][0]
            row[name] = NOT_IN_RUN if status == NOT_RUN and state.runs[name].records else status
            if status not in (NOT_EVALUABLE, NOT_RUN):
                judged.append(status)
        row["agree"] = "" if len(judged) < 2 else ("same" if len(set(judged)) == 1
                                                   else "differs")
        rows.append(row)
    return pd.DataFrame(rows, columns=["hypothesis", *runs, "agree"])


def ceiling_fractions(long: pd.DataFrame) -> pd.DataFrame:
    """Every headline model's R² divided by the Fisher ceiling of its run and noise level.

    ``long`` is :func:`cross_run_table`. Rows without a positive ceiling at the same run and
    noise level (no ceiling record, another level, or a ceiling ≤ 0) are dropped.
    """
    if not len(long):
        return long
    ceil = long[long["model"] == CEILING_MODEL][["run", "noise_level", "r2"]]
    models = long[~long["model"].map(is_ceiling)]
    key = ["run", "noise_level"]
    ceil = ceil.assign(noise_level=ceil["noise_level"].astype(float).round(6))
    models = models.assign(noise_level=models["noise_level"].astype(float).round(6))
    out = models.merge(ceil.rename(columns={"r2": "ceiling"}), on=key, how="inner")
    out = out[out["ceiling"] > 0].copy()
    for col in ("r2", "r2_lo", "r2_hi"):
        out[col] = out[col] / out["ceiling"]
    return out.reset_index(drop=True)


def runs_md(state: HubState) -> str:
    """Every run present, the cross-run table and the R²-vs-noise figure."""
    if not state.runs:
        return "No run has been executed yet (`python -m moehelpers run`).\n"
    rows = []
    for name, rs in state.runs.items():
        count = f"{len(rs.pages)} page{'' if len(rs.pages) == 1 else 's'}"
        first = f"{{doc}}`{count} </{rs.pages[0]}>`" if rs.pages else count
        over = {k: v for k, v in rs.params.items() if v is not None}
        rows.append([f"`{name}`", fmt(rs.noise, 2) if rs.noise is not None else "defaults",
                     f"`{json.dumps(over, sort_keys=True)}`", first, len(rs.records),
                     len(rs.failed), ", ".join(rs.bad_records) or ""])
    out = [_table(["run", "noise", "overrides", "executed notebooks", "records",
                   "failed notebooks", "unreadable records"], rows)]
    if len(state.runs) > 1:
        conc = conclusions_across_runs(state)
        out.append("**Conclusions across runs** (status of each hypothesis in each run; "
                   "*same*: every run that could judge it reached the same status, "
                   "*differs*: two runs disagree)\n")
        out.append(_table(["#", *(f"`{r}`" for r in state.runs), "agree"],
                          [[r["hypothesis"],
                            *(f"{ICONS[r[n]]} {r[n]}" for n in state.runs),
                            r["agree"]] for _, r in conc.iterrows()]))
    long = cross_run_table(state)
    if len(long):
        shown = long.sort_values(["run", "noise_level"], kind="stable")
        shown = shown.assign(col=shown["noise_level"].map(lambda x: fmt(x, 2)) + " · "
                             + shown["run"])
        wide = shown.pivot_table(index=["mvp_id", "model"], columns="col", values="r2",
                                 aggfunc="first", sort=False)
        wide = wide[list(dict.fromkeys(shown["col"]))]
        wide = wide.loc[list(dict.fromkeys(zip(long["mvp_id"], long["model"], strict=True)))]
        rows = [[*idx, *(fmt(v) for v in r)] for idx, r in zip(wide.index, wide.to_numpy(),
                                                                strict=True)]
        out.append("**Test R² of every headline model, by noise level · run**\n")
        out.append(_table(["MVP", "model", *map(str, wide.columns)], rows))
        out.append("**R² vs noise level across all runs** (hover for run and training size; "
                   "the grey dashed line is the original study's global Ridge)\n")
        html = r2_vs_noise_html(long, references.original_r2_by_noise())
        out.append("```{raw} html\n" + html.replace("\n", " ") + "\n```\n")
        frac = ceiling_fractions(long)
        if len(frac):
            out.append("**R² as a fraction of the Fisher ceiling** (each model's test R² divided "
                       "by the set-level Cramér–Rao ceiling R²_max of the same run and noise "
                       "level, where that ceiling is positive; see the ceiling page. A model "
                       "given true labels is compared with the ceiling that does not know them, "
                       "so it may exceed 1.)\n")
            html = r2_vs_noise_html(frac, {}, y_title="test R² / ceiling R²_max")
            out.append("```{raw} html\n" + html.replace("\n", " ") + "\n```\n")
    return "\n".join(out)


def core_md(state: HubState) -> str:
    """§5.1 the two kinds of MoE of the document, judged on the primary run."""
    o = references.ORIGINAL
    rows = []
    for name, split, mvp_id, h in (("MoE-1, piecewise", "(Teff, [M/H]) bins", "MVP-1.1", "H1.2"),
                                   ("MoE-2, noise experts", "noise level", "MVP-2.0", "H1.3")):
        rec = state.records.get(mvp_id)
        if rec is None:
            rows.append([name, split, _link(state, mvp_id), "*not run yet*", "", ""])
            continue
        key = ("delta_r2", "delta_lo", "delta_hi") if h == "H1.2" else (
            "mean_delta_r2", "mean_delta_lo", "mean_delta_hi")
        try:
            gain = f"{fmt(m(rec, key[0]))} [{fmt(m(rec, key[1]))}, {fmt(m(rec, key[2]))}]"
        except KeyError:  # an old record without the declared facts
            gain = "n/a"
        status = dict(all_statuses(state.records))[h]
        ref = (f"{fmt(o['mvp1.delta_r2'])} {list(o['mvp1.delta_r2_ci'])}" if h == "H1.2" else
               fmt(float(np.mean(np.subtract(o["mvp2.r2_expert"], o["mvp2.r2_mixed"])))))
        rows.append([name, split, _link(state, mvp_id), gain,
                     f"{ICONS[status[0]]} {h} {status[0]}", ref])
    return _table(["MoE", "experts split by", "record", "ΔR² [95% CI]", "verdict",
                   f"ΔR², {references.LABEL}"], rows)


def write_hub(root: Path, runs_dir: Path | None = None) -> list[Path]:
    """Write every fragment of the hub pages into ``<root>/book/_generated/hub/``."""
    state = load_state(root, runs_dir)
    recs = state.records
    fragments = {
        "hypotheses.md": hypotheses_md(state), "questions.md": hub_text.questions_md(recs),
        "insights.md": hub_text.insights_md(recs), "phases.md": phases_md(state),
        "diagram.md": diagram_md(state), "tracker.md": tracker_md(state),
        "matrix.md": matrix_md(state), "verification.md": verification_md(state),
        "conclusions.md": hub_text.principles_md(recs), "core.md": core_md(state),
        "decision.md": hub_text.decision_md(recs), "summary.md": summary_md(state),
        "runs.md": runs_md(state),
        "primary.md": (f"Single-run tables describe run `{state.primary}`."
                       if state.primary else "No run yet.") + "\n",
    }
    out_dir = root / HUB_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in fragments.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
