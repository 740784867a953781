"""The bundled examples run as documented (a wrong folder name or key cannot ship)."""

from __future__ import annotations

import json
import os
import shutil
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


def test_demo_uses_the_source_tree_example_here():
    from exsyfit.cli import _find_example
    from exsyfit.workflow.demo import demo_config

    with demo_config(_find_example) as path:
        assert path == ROOT / "examples" / "argyrodite_li2s" / "config.toml"


def test_packaged_demo_config_is_the_example(tmp_path):
    """The config shipped in the package is the source tree's example but for the data path."""
    import tomllib

    from exsyfit.workflow.demo import packaged_config_text

    packaged = tomllib.loads(packaged_config_text())
    example = tomllib.loads((ROOT / "examples/argyrodite_li2s/config.toml").read_text())
    assert packaged["data"].pop("paths") == ["spectra/argyrodite_li2s_bruker_processed/*"]
    example["data"].pop("paths")
    assert packaged == example


def test_regenerated_demo_spectra_equal_the_bundled_ones(tmp_path):
    from exsyfit.workflow.demo import DEMO_SERIES, write_demo

    write_demo(tmp_path)
    bundled = ROOT / "spectra" / DEMO_SERIES
    made = sorted(p.relative_to(tmp_path / "spectra" / DEMO_SERIES)
                  for p in (tmp_path / "spectra" / DEMO_SERIES).rglob("*") if p.is_file())
    assert len(made) == 20 * 5  # acqus, acqu2s, procs, proc2s, 2rr per experiment
    for rel in made:
        ours, theirs = (tmp_path / "spectra" / DEMO_SERIES / rel), bundled / rel
        if rel.name == "2rr":
            assert ours.read_bytes() == theirs.read_bytes(), rel
        else:  # parameter files: equal but for the comment naming the writer
            def params(p):
                return [x for x in p.read_text().splitlines() if not x.startswith("$$")]
            assert params(ours) == params(theirs), rel


def _install_wheel(tmp_path: Path) -> Path:
    """Build a wheel from a copy of the source and install it (not editable) into a folder."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "exsyfit", src / "exsyfit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp_path / "wheels"),
                            str(src)], timeout=600, capture_output=True, text=True)
    if built.returncode and "No matching distribution found for setuptools" in built.stderr:
        pytest.skip("no package index with the build backend (setuptools>=77) reachable")
    assert built.returncode == 0, built.stderr
    site = tmp_path / "site"
    wheel = next((tmp_path / "wheels").glob("exsyfit-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, timeout=600, capture_output=True)
    return site


def test_demo_runs_from_any_folder_after_a_wheel_install(tmp_path):
    """The README's first command, from a folder that holds no source tree."""
    site = _install_wheel(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch = tmp_path / "tmp"  # the temporary folder of the demo process
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TMPDIR": str(scratch)}
    env.pop("EXSYFIT_EXAMPLES", None)
    where = subprocess.run([sys.executable, "-c", "import exsyfit; print(exsyfit.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(site)
    proc = subprocess.run([sys.executable, "-m", "exsyfit", "demo", "-o", "demo"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "regenerating the simulated spectra" in proc.stderr
    out = elsewhere / "demo"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diagnostics"]["converged"]
    assert summary["Ea_eV"]["q025"] < 0.30 < summary["Ea_eV"]["q975"]  # simulator's truth
    assert summary["robustness"]["Ea_eV_systematic"] < 0.01
    for name in ("volumes.csv", "report.html", "report.md", "matrixlog.csv",
                 "figures/arrhenius.png", "figures/qc_263K.png"):
        assert (out / name).exists(), name
    assert not list(scratch.glob("exsyfit-demo-*"))  # the temporary spectra are removed
