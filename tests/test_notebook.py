"""The example notebook runs from top to bottom, on the public API, and produces its figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"


def _kernel_available(name: str) -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return False
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return True


def test_example_notebook_runs(monkeypatch):
    # the kernel inherits the environment: a non-interactive MPLBACKEND (as set on servers)
    # would stop the notebook from showing its figures inline
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    if not _kernel_available("python3"):
        pytest.skip("no 'python3' Jupyter kernel installed (pip install ipykernel)")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # a tutorial on the public API: nothing imported from exsyfit's modules
    assert "import exsyfit" in source and not re.search(r"from exsyfit[.\w]* import", source)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    # jupyter_client starts a kernel whose argv[0] is "python" with sys.executable, so the
    # notebook runs in this environment and imports the exsyfit under test
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # overview of the spectra, posterior of Ea, Arrhenius plot, build-up figure
    assert len(images) == 4
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    ea = float(re.search(r"Ea\s+=\s+([0-9.]+) eV", text).group(1))
    assert ea == pytest.approx(0.30, abs=0.01)  # the simulated truth
    assert any("k_ex_per_s" in str(o.get("data", {}).get("text/plain", "")) for o in outputs)
