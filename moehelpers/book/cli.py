"""Command line: ``python -m moehelpers {data,run,book,check-html,list,fit-stream}``.

Examples
--------
``python -m moehelpers data``                 write the default dataset (if missing)
``python -m moehelpers data --out data/large --n-train 100000 --n-test 10000``  a larger one
``python -m moehelpers run --name n035 --noise 0.35``
``python -m moehelpers run --name quick --notebooks 01 -p n_train=2000``
``python -m moehelpers book``                 data → default run → HTML book
``python -m moehelpers fit-stream --train /data/train_shards --val /data/val_1k``
``python -m moehelpers fit-stream ... --model piecewise --scheduler tcp://host:8786``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moehelpers.errors import MoEHelpersError

__all__ = ["main", "parse_param", "run_name"]


def parse_param(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is read as JSON when it is valid JSON, else a string.

    ``n_train=2000`` → int, ``noise_levels=[0.2,1.0]`` → list, ``data_path=/x.h5`` → str.
    """
    if "=" not in text:
        raise MoEHelpersError(f"Parameter {text!r} must look like key=value (e.g. n_train=2000).")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def run_name(name: str | None, noise: float | None,
             params: dict[str, Any] | None = None) -> str:
    """The run's folder name: ``name``, else one made of what differs from the default run.

    ``--noise 0.35`` → ``noise0.35``; ``-p flux_kind=distorted`` → ``distorted`` (both:
    ``noise0.35-distorted``); nothing → ``default``. So a run at other data settings never
    overwrites the default run by accident.
    """
    if name:
        return name
    parts = [] if noise is None else [f"noise{noise:g}"]
    kind = (params or {}).get("flux_kind", "physical")
    if kind != "physical":
        parts.append(str(kind))
    return "-".join(parts) or "default"


def _cmd_data(args: argparse.Namespace) -> int:
    from moehelpers.data.sampler import default_dataset

    paths = default_dataset(Path(args.out) if args.out else None, n_train=args.n_train,
                            n_val=args.n_val, n_test=args.n_test, force=args.force,
                            compression=None if args.compression == "none" else args.compression)
    for split, path in paths.items():
        print(f"{split:6s} {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from moehelpers.book.runner import execute_run

    params = dict(parse_param(p) for p in args.param)
    summary = execute_run(run_name(args.name, args.noise, params), notebooks=args.notebooks,
                          noise=args.noise, params=params, force=args.force)
    print(summary.to_text())
    return 0 if summary.ok else 1


def _cmd_book(args: argparse.Namespace) -> int:
    from moehelpers.book.build import build_book
    from moehelpers.book.runner import execute_run
    from moehelpers.data.sampler import default_dataset

    rc = 0
    if not args.no_execute:
        default_dataset()
        summary = execute_run(args.run, notebooks=args.notebooks, force=args.force)
        print(summary.to_text())
        rc = 0 if summary.ok else 1
    index = build_book(strict=args.strict)
    print(f"book: {index}")
    if rc:
        print("some notebooks failed; their pages show the error", file=sys.stderr)
    return rc


def _cmd_check_html(args: argparse.Namespace) -> int:
    from moehelpers.book.htmlcheck import DEFAULT_PAGES, check_book, find_chromium
    from moehelpers.paths import repo_root

    if find_chromium() is None:
        print("check-html: no Chromium on this machine (apt-get install chromium); skipped",
              file=sys.stderr)
        return 3
    html = repo_root() / "_build" / "html"
    shots = repo_root() / "_build" / "check-html"
    checks = check_book(html, tuple(args.pages or DEFAULT_PAGES), shots)
    bad = 0
    for c in checks:
        state = "ok  " if not c.problems else "FAIL"
        print(f"{state} {Path(c.page).relative_to(html)}: {c.figures_drawn}/{c.figures} "
              f"figures drawn, {c.math_typeset} math typeset ({c.math} math spans), "
              f"{len(c.console_errors)} console errors; screenshot {c.screenshot}")
        for problem in c.problems:
            print(f"     {problem}")
        bad += bool(c.problems)
    return 1 if bad else 0


def _cmd_list(args: argparse.Namespace) -> int:
    from moehelpers.paths import runs_dir

    root = runs_dir()
    runs = sorted(p.parent.name for p in root.glob("*/run.json")) if root.exists() else []
    for run in runs:
        summary = json.loads((root / run / "run.json").read_text())
        states = [nb["status"] for nb in summary.get("notebooks", [])]
        print(f"{run:24s} {states.count('ok')} ok, {states.count('cached')} cached, "
              f"{states.count('failed')} failed")
    return 0


_STREAM_MODELS = ("global", "piecewise", "conditional", "noise-experts")


def _stream_model(args: argparse.Namespace) -> Any:
    from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeRegressor
    from moehelpers.models.conditional import ConditionalRidge
    from moehelpers.models.noise_experts import NoiseExperts
    from moehelpers.models.piecewise import PiecewiseRidge

    alphas = DEFAULT_ALPHAS if args.alphas is None else json.loads(args.alphas)
    if args.model == "piecewise":
        return PiecewiseRidge(alphas=alphas)
    if args.model == "conditional":
        return ConditionalRidge(order=args.order, alphas=alphas, condition=args.condition)
    if args.model == "noise-experts":
        levels = [0.0, 0.1, 0.2, 0.5, 1.0] if args.levels is None else json.loads(args.levels)
        return NoiseExperts(levels=levels, alphas=alphas, seed=args.seed)
    return RidgeRegressor(alphas=alphas)


def _cmd_fit_stream(args: argparse.Namespace) -> int:
    import time

    from moehelpers.models.stream_fit import fit_stream

    model = _stream_model(args)
    t0 = time.perf_counter()
    fit_stream(model, args.train, args.val, target=args.target, noise_level=args.noise,
               seed=args.seed, chunk_size=args.chunk_size, scheduler=args.scheduler,
               rows_per_task=args.rows_per_task)
    seconds = time.perf_counter() - t0
    alpha = getattr(model, "alpha_", None)
    if alpha is None:
        alpha = getattr(model, "alpha_per_expert_", getattr(model, "expert_alphas_", None))
    summary = {"model": args.model, "rows": int(model.stream_n_rows_), "seconds": seconds,
               "alpha": alpha.tolist() if hasattr(alpha, "tolist") else alpha,
               "scheduler": args.scheduler}
    if args.out is not None:
        import joblib

        joblib.dump(model, args.out)
        summary["model_file"] = str(args.out)
    print(json.dumps(summary, indent=1))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m moehelpers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="write the default dataset from the committed grid")
    d.add_argument("--force", action="store_true", help="rewrite even if settings match")
    d.add_argument("--out", default=None,
                   help="folder of train/val/test (default: data/default); e.g. data/large")
    d.add_argument("--n-train", type=int, default=32000, help="training stars (32000)")
    d.add_argument("--n-val", type=int, default=1000, help="validation stars (1000)")
    d.add_argument("--n-test", type=int, default=1000, help="test stars (1000)")
    d.add_argument("--compression", choices=("none", "gzip"), default="none",
                   help="storage filter: none (fast reads, default) or gzip (~1.6x smaller)")
    d.set_defaults(func=_cmd_data)

    r = sub.add_parser("run", help="execute notebooks for a named run")
    r.add_argument("--name", default=None,
                   help="run name, folder under runs/ (default: noise<level> with --noise, "
                        "else 'default')")
    r.add_argument("--noise", type=float, default=None, help="noise level for this run")
    r.add_argument("--notebooks", nargs="+", default=None, help="notebook stems or numbers")
    r.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter override (repeatable)")
    r.add_argument("--force", action="store_true",
                   help="execute every notebook, even those the execution cache would reuse")
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("book", help="default data → execute the run → build the HTML book")
    b.add_argument("--run", default="default")
    b.add_argument("--notebooks", nargs="+", default=None)
    b.add_argument("--no-execute", action="store_true", help="only rebuild the HTML")
    b.add_argument("--strict", action="store_true", help="Sphinx warnings are errors")
    b.add_argument("--force", action="store_true",
                   help="execute every notebook, even those the execution cache would reuse")
    b.set_defaults(func=_cmd_book)

    c = sub.add_parser("check-html", help="open the built book offline in headless Chromium")
    c.add_argument("pages", nargs="*", help="pages under _build/html (default: hub + MVP-0)")
    c.set_defaults(func=_cmd_check_html)

    fs = sub.add_parser("fit-stream", help="fit a Ridge-family model streamed from shards")
    fs.add_argument("--train", required=True, help="training file, split folder or shards")
    fs.add_argument("--val", default=None, help="validation split (α is chosen on it)")
    fs.add_argument("--model", choices=_STREAM_MODELS, default="global")
    fs.add_argument("--target", default="log_g")
    fs.add_argument("--noise", type=float, default=0.2, help="training/validation noise")
    fs.add_argument("--seed", type=int, default=42, help="noise seed")
    fs.add_argument("--alphas", default=None, help="JSON list of α (default 1e-3 … 1e5)")
    fs.add_argument("--order", type=int, default=1, help="conditional model order")
    fs.add_argument("--condition", default="M_H", help="conditioning label")
    fs.add_argument("--levels", default=None, help="JSON list of noise levels (noise-experts)")
    fs.add_argument("--chunk-size", type=int, default=4096, help="rows per chunk")
    fs.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://...)")
    fs.add_argument("--rows-per-task", type=int, default=None,
                    help="Dask task size in rows (default: one task per shard)")
    fs.add_argument("--out", default=None, help="write the fitted model (joblib)")
    fs.set_defaults(func=_cmd_fit_stream)

    ls = sub.add_parser("list", help="list runs and their status")
    ls.set_defaults(func=_cmd_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MoEHelpersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
