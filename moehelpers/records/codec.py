"""JSON encoding of result records (private to :mod:`moehelpers.records.store`).

Sorted keys, floats via ``repr``, numpy scalars/arrays → numbers/lists, tuples → lists,
paths → POSIX strings; a non-finite float is ``{"$float": "nan" | "inf" | "-inf"}``;
DataFrames keep column order, dtypes and index.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import InvalidParameterError

_FLOAT_TAG = "$float"

def _encode(obj: Any, where: str, numeric: bool = False) -> Any:
    """Convert ``obj`` to JSON-safe values; ``numeric`` allows only numbers at the leaves."""
    if isinstance(obj, Mapping):
        out = {}
        for key, val in obj.items():
            if not isinstance(key, str) or (numeric and ("." in key or "[" in key)):
                raise InvalidParameterError(f"{where}: key {key!r} is not allowed; keys must be str"
                                            + (" without '.' or '['" if numeric else ""))
            out[key] = _encode(val, f"{where}.{key}", numeric)
        return out
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple):
        return [_encode(v, f"{where}[{i}]", numeric) for i, v in enumerate(obj)]
    if isinstance(obj, bool | np.bool_ | str | None) and not numeric:
        return bool(obj) if isinstance(obj, np.bool_) else obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, bool | np.bool_):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else {_FLOAT_TAG: repr(x)}
    if isinstance(obj, PurePath) and not numeric:
        return obj.as_posix()
    kind = "a number or array" if numeric else "str, int, float, bool, None, list or dict"
    raise InvalidParameterError(f"{where} = {obj!r} ({type(obj).__name__}) cannot be stored in a "
                                f"result record; convert it to {kind}.")


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1 and _FLOAT_TAG in obj:
            return float(obj[_FLOAT_TAG])
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))


def _encode_column(values: pd.Series, where: str) -> tuple[dict[str, Any], list[Any]]:
    """Column spec (dtype, categories) and its JSON-safe values."""
    dtype = values.dtype
    if dtype.kind not in "biufO" and not isinstance(dtype, pd.StringDtype):
        raise InvalidParameterError(f"{where} has dtype {dtype}, which result tables do not "
                                    f"store; convert it with .astype(str) or .astype(float).")
    spec: dict[str, Any] = {"dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        spec["categories"] = _encode(list(dtype.categories), where)
        spec["ordered"] = bool(dtype.ordered)
    cells = [None if v is pd.NA else _encode(v, where) for v in values.tolist()]
    return spec, cells


def _decode_column(spec: Mapping[str, Any], cells: list[Any]) -> pd.Series:
    dtype: Any = spec["dtype"]
    if dtype == "category":
        dtype = pd.CategoricalDtype(_decode(spec["categories"]), ordered=spec["ordered"])
    return pd.Series(_decode(cells), dtype=dtype)


def _encode_table(df: Any, name: str) -> dict[str, Any]:
    where = f"tables[{name!r}]"
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterError(f"{where} is a {type(df).__name__}; pass a pandas DataFrame.")
    cols = list(df.columns)
    if (isinstance(df.columns, pd.MultiIndex) or isinstance(df.index, pd.MultiIndex)
            or not all(isinstance(c, str) for c in cols) or len(set(cols)) != len(cols)):
        raise InvalidParameterError(f"{where} needs unique str column names and a flat index; "
                                    f"got {cols!r}. Fix: reset_index() and rename the columns.")
    columns, data = [], []
    for i, col in enumerate(cols):
        spec, cells = _encode_column(df.iloc[:, i], f"{where}.{col}")
        columns.append({"name": col, **spec})
        data.append(cells)
    index = None
    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
        if idx.name is not None and not isinstance(idx.name, str):
            raise InvalidParameterError(f"{where}: index name {idx.name!r} must be str or None.")
        spec, cells = _encode_column(idx.to_series(), f"{where}.index")
        index = {"name": idx.name, **spec, "values": cells}
    rows = [list(r) for r in zip(*data, strict=True)]
    return {"columns": columns, "index": index, "n_rows": len(df), "rows": rows}


def _decode_table(payload: Mapping[str, Any]) -> pd.DataFrame:
    data = {c["name"]: _decode_column(c, [r[j] for r in payload["rows"]])
            for j, c in enumerate(payload["columns"])}
    df = pd.DataFrame(data, index=pd.RangeIndex(payload["n_rows"]))
    if payload["index"] is not None:
        spec = payload["index"]
        df.index = pd.Index(_decode_column(spec, spec["values"]), name=spec["name"])
    return df


