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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lab_command(extra: str) -> str:
    """The command line `make lab` runs, for the venv running these tests."""
    import os
    import subprocess

    venv = os.path.relpath(sys.prefix, repo_root())
    out = subprocess.run(["make", "-n", "-o", f"{venv}/.installed", "lab", f"VENV={venv}",
                          f"LAB_ARGS={extra}"], cwd=repo_root(), capture_output=True,
                         text=True, timeout=60, check=True).stdout
    lines = [line for line in out.splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, out
    return lines[0]


def test_make_lab_serves_the_notebooks_with_the_project_kernel(tmp_path: Path) -> None:
    import os
    import secrets
    import shutil
    import signal
    import subprocess
    import time
    import urllib.error
    import urllib.request

    if shutil.which("make") is None or not (Path(sys.prefix) / "bin" / "jupyter").is_file():
        pytest.skip("needs make and the venv's jupyter")
    if not (Path(sys.prefix) / "share/jupyter/kernels/python3/kernel.json").is_file():
        pytest.skip("the venv has no python3 kernel yet (make venv installs it)")
    port, token = _free_port(), secrets.token_hex(16)
    command = _lab_command(f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 "
                           f"--ServerApp.token={token} --ServerApp.port_retries=0")
    assert ("--allow-root" in command) == (os.geteuid() == 0)  # only where it is needed
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTERLAB_WORKSPACES_DIR":
           str(tmp_path / "workspaces")}
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(["bash", "-c", command], cwd=repo_root(), env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def get(path: str) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        deadline, listing = time.monotonic() + 120, None
        while listing is None and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n"
                            + (tmp_path / "lab.log").read_text())
            try:
                listing = get("/api/contents")  # the server's root is notebooks/
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert listing is not None, (tmp_path / "lab.log").read_text()
        served = sorted(c["name"] for c in listing["content"] if c["type"] == "notebook")
        assert served == sorted(p.name for p in (repo_root() / "notebooks").glob("*.ipynb"))
        specs = get("/api/kernelspecs")["kernelspecs"]
        argv0 = Path(specs["python3"]["spec"]["argv"][0])
        assert argv0.resolve() == Path(sys.executable).resolve()  # the venv's kernel
        first = get(f"/api/contents/{served[0]}?content=1")
        assert first["content"]["metadata"]["kernelspec"]["name"] == "python3"
        with pytest.raises(urllib.error.HTTPError):  # the token is required
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=10)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()
    assert proc.returncode is not None
