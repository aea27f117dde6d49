"""Exception types of :mod:`moehelpers`.

Every error that a user can cause by giving bad input derives from
:class:`MoEHelpersError`, so a caller can catch the whole family at once.
Each message names the problem, the value received and the fix.
"""

from __future__ import annotations

__all__ = [
    "BinTooSmallError",
    "DataFileNotFoundError",
    "DataTypeError",
    "DuplicateStarIdError",
    "GridRangeError",
    "IndexMismatchError",
    "InvalidErrorArrayError",
    "InvalidParameterError",
    "LabelRangeError",
    "MissingDependencyError",
    "MissingLabelError",
    "MoEHelpersError",
    "NonFiniteDataError",
    "RecordCorruptError",
    "ResultsWriteError",
    "RunLockedError",
    "RunnerError",
    "ShapeMismatchError",
    "UndeclaredFactError",
    "UnknownLayoutError",
    "UnsafeFileError",
    "UnsortedWavelengthWarning",
    "WavelengthGridError",
]


class MoEHelpersError(Exception):
    """Base class of every error raised deliberately by :mod:`moehelpers`."""


class DataFileNotFoundError(MoEHelpersError, FileNotFoundError):
    """A data path does not exist."""


class UnknownLayoutError(MoEHelpersError, KeyError):
    """An HDF5 file has neither the nested BOSZ layout nor the flat layout."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class ShapeMismatchError(MoEHelpersError, ValueError):
    """Arrays that must agree in shape do not."""


class NonFiniteDataError(MoEHelpersError, ValueError):
    """NaN or inf found in flux, error or labels."""


class InvalidErrorArrayError(MoEHelpersError, ValueError):
    """The per-pixel error array has zero or negative entries."""


class MissingLabelError(MoEHelpersError, KeyError):
    """A required label column is absent."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnsafeFileError(MoEHelpersError, ValueError):
    """A file would need code execution (e.g. unpickling) to be read."""


class InvalidParameterError(MoEHelpersError, ValueError):
    """A parameter value is outside its allowed range or has the wrong type."""


class GridRangeError(MoEHelpersError, ValueError):
    """Requested labels lie outside the spectral grid."""


class BinTooSmallError(MoEHelpersError, ValueError):
    """A bin holds too few stars to fit or score an expert."""


class ResultsWriteError(MoEHelpersError, OSError):
    """A result record or dataset could not be written (disk full, read-only)."""


class RunnerError(MoEHelpersError, RuntimeError):
    """A notebook run could not be prepared or failed."""


class RecordCorruptError(MoEHelpersError, ValueError):
    """A result record cannot be read: invalid JSON, wrong place, newer schema, or edited."""


class IndexMismatchError(MoEHelpersError, ValueError):
    """Two models' predictions do not cover the same test indices."""


class MissingDependencyError(MoEHelpersError, ImportError):
    """An optional dependency (e.g. PyTorch for the NN notebooks) is not installed."""


class WavelengthGridError(MoEHelpersError, ValueError):
    """The wavelength grid cannot be put in increasing order (duplicates, broken edges)."""


class UnsortedWavelengthWarning(UserWarning):
    """A file's wavelengths were not increasing; the loader sorted every pixel array."""


class LabelRangeError(MoEHelpersError, ValueError):
    """A stellar label (T_eff, log g, [M/H]) lies outside its physical range."""


class DuplicateStarIdError(MoEHelpersError, ValueError):
    """A star-id column of a dataset holds the same id in more than one row."""


class RunLockedError(RunnerError):
    """Another live process is executing the same run."""


class DataTypeError(MoEHelpersError, TypeError):
    """A dataset in a file has a type that cannot hold its values (text, complex, compound)."""


class UndeclaredFactError(MoEHelpersError, LookupError):
    """A page read a record metric that the registry does not declare as a fact.

    Not a ``KeyError``: the hub's tolerant readers (which turn a missing field of an old
    record into a sentence) must not hide it — it is a bug in the page, not in the record.
    """
