"""The bundled examples run as documented (a wrong folder name or key cannot ship)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/config.toml"))


def exsyfit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exsyfit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_checks(example):
    proc = exsyfit("check", str(example / "config.toml"))
    assert proc.returncode == 0, proc.stderr
    assert (example / "README.md").exists()


def test_volume_table_example_recovers_its_truth(tmp_path):
    proc = exsyfit("run", "examples/volume_table/config.toml", "-o", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["diagnostics"]["converged"]
    assert summary["Ea_eV"]["q025"] < 0.30 < summary["Ea_eV"]["q975"]
    k303 = [e for e in summary["temperatures"] if e["temperature_K"] == 303.0][0]
    assert k303["k_ex_per_s"]["q025"] < 5.0 < k303["k_ex_per_s"]["q975"]


def test_demo_runs_the_bundled_spectra(tmp_path):
    """The README's main command: integrate the simulated series, fit, figures, report."""
    proc = exsyfit("demo", "-o", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = tmp_path / "demo"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diagnostics"]["converged"]
    assert summary["Ea_eV"]["q025"] < 0.30 < summary["Ea_eV"]["q975"]  # simulator's truth
    for name in ("volumes.csv", "report.html", "report.md", "matrixlog.csv",
                 "figures/arrhenius.png", "figures/qc_263K.png"):
        assert (out / name).exists(), name
