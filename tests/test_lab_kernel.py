"""`make lab` opens the notebooks with the venv's kernel (the name papermill runs them with)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from moehelpers.paths import repo_root


def test_notebooks_name_the_kernel_that_make_lab_provides(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    kernels = Path(sys.prefix) / "share" / "jupyter"
    if not (kernels / "kernels" / "python3" / "kernel.json").is_file():
        pytest.skip("the venv has no python3 kernel yet (make venv installs it)")
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", str(kernels))  # what the Makefile's lab target sets
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
    names = {json.loads(p.read_text())["metadata"]["kernelspec"]["name"]
             for p in (repo_root() / "notebooks").glob("*.ipynb")}
    assert names == {"python3"}
    assert "JUPYTER_PATH=" in (repo_root() / "Makefile").read_text()
