"""A new user's day, end to end, through the command line: init -> check -> run.

Every command runs as a subprocess (``python -m exsyfit ...``) exactly as a user would type it;
the only edits to the config that ``exsyfit init`` writes are the ones the user is told to make
(the site names) plus faster sampler settings (see ``FAST_SAMPLER``).  The data folders are
checked byte for byte (sha256 of every file) before and after: input folders are only read.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from exsyfit.cli import main
from exsyfit.simulate.series import example_truth

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "spectra" / "argyrodite_li2s_bruker_processed"

# The default sampler runs until the chain is 50 autocorrelation times long (up to 20000
# steps): 10-30 s per fit on a busy two-core machine, and ``run`` fits twice (the chosen
# temperature law and the free model it is compared with).  The tests fix 1500 steps and judge
# convergence at 20 autocorrelation times (tau is about 25-45 steps here), which keeps each
# workflow near half a minute while the answers stay well inside their intervals.
FAST_SAMPLER = "tau_multiple = 20\nsteps = 1500"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exsyfit", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def init_and_edit(data: Path, work: Path, names: dict[str, str]) -> Path:
    """``exsyfit init DATA -o cfg.toml``, then rename the sites and speed up the sampler."""
    proc = run_cli("init", str(data.relative_to(work)), "-o", "cfg.toml", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "starter config written to cfg.toml" in proc.stderr
    config = work / "cfg.toml"
    text = config.read_text()
    for old, new in names.items():
        assert f"[sites.{old}]" in text
        text = text.replace(f"[sites.{old}]", f"[sites.{new}]")
    assert "[sampler]\nseed = 1\n" in text
    text = text.replace("[sampler]\nseed = 1\n", f"[sampler]\nseed = 1\n{FAST_SAMPLER}\n")
    config.write_text(text)
    return config


def check_table(config: Path, cwd: Path, n_spectra: int, temperatures, mixing_times) -> None:
    """``exsyfit check`` exits 0, prints one row per spectrum with T and mixing time, then a
    one-line summary of the series."""
    proc = run_cli("check", str(config), cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    table, _, summary = proc.stdout.strip("\n").partition("\n\n")
    lines = table.splitlines()
    header, rows = lines[0], lines[1:]
    assert len(rows) == n_spectra
    assert summary.startswith(f"{n_spectra} experiments; {len(temperatures)} temperature(s): ")

    def column(name: str) -> set[float]:
        # pandas right-aligns: a value ends where its column name ends
        end = header.index(f" {name}") + 1 + len(name)
        return {float(row[:end].split()[-1]) for row in rows}

    assert sorted(column("temperature_K")) == pytest.approx(sorted(temperatures))
    assert sorted(column("mixing_time_s")) == pytest.approx(sorted(mixing_times))


def check_outputs(out: Path, sites: list[str], n_spectra: int, temperatures) -> dict:
    """The files ``run`` promises; returns summary.json."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sites"] == sites
    volumes = pd.read_csv(out / "volumes.csv")
    assert len(volumes) == n_spectra * len(sites) ** 2
    assert set(volumes["from_site"]) == set(sites) == set(volumes["to_site"])
    assert (volumes["sigma"] > 0).all() and volumes["volume"].notna().all()
    figures = out / "figures"
    pngs = sorted(p.name for p in figures.glob("*.png"))
    for T in temperatures:  # one integration QC figure per temperature
        assert f"qc_{T:.0f}K.png" in pngs, pngs
    assert any(not n.startswith("qc_") for n in pngs), pngs  # fit figures besides the QC
    assert all((figures / n).stat().st_size > 1000 for n in pngs)
    for name in ("report.md", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert all(s in text for s in sites), name
    return summary


def interval(stats: dict, low: str = "q025", high: str = "q975") -> tuple[float, float]:
    return stats[low], stats[high]


# ------------------------------------------------------------------------------ (b) simulated
def test_new_series_simulated_then_init_check_run(tmp_path):
    """A series the user has never seen: simulate, init, rename, check, run; truth recovered."""
    work = tmp_path / "project"
    work.mkdir()
    temperatures, mixing_times = [263.0, 303.0, 343.0], [0.01, 0.05, 0.2, 0.8]
    proc = run_cli("simulate", "spectra", "--format", "bruker-processed",
                   "--temperatures", ",".join(f"{t:g}" for t in temperatures),
                   "--mixing-times", ",".join(f"{t:g}" for t in mixing_times),
                   "--seed", "7", cwd=work)
    assert proc.returncode == 0, proc.stderr
    data = work / "spectra"
    before = checksums(data)

    config = init_and_edit(data, work, {"A": "argyrodite", "B": "Li2S"})
    text = config.read_text()
    assert 'paths = ["spectra/*"]' in text
    assert 'temperature_model = "arrhenius"' in text and "\nsidebands = true" in text
    # check from another folder: paths are relative to the config, not to the shell
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check_table(config, elsewhere, 12, temperatures, mixing_times)

    proc = run_cli("run", "cfg.toml", "-o", "results", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = check_outputs(work / "results", ["argyrodite", "Li2S"], 12, temperatures)

    truth = example_truth("argyrodite_li2s")
    ea = summary["Ea_eV"]
    lo, hi = interval(ea)
    assert lo < truth.exchanges[0].Ea_eV < hi, ea
    assert hi - lo < 0.03  # 12 spectra at S/N ~1000 pin Ea to about +-0.005 eV
    assert summary["diagnostics"]["converged"] is True
    at_303 = next(t for t in summary["temperatures"] if t["temperature_K"] == 303.0)
    lo, hi = interval(at_303["k_ex_per_s"])
    assert lo < truth.exchanges[0].k_ex_ref_per_s < hi, at_303["k_ex_per_s"]
    lo, hi = interval(at_303["populations"]["argyrodite"])
    assert lo - 0.002 < truth.sites[0].population < hi + 0.002

    assert checksums(data) == before


# ------------------------------------------------------------------------------ (a) bundled
def test_copy_of_bundled_series_init_check_run(tmp_path):
    """The bundled processed series (20 spectra), copied to a new place, as a user's own data."""
    work = tmp_path / "lab"
    data = work / "exsy_2024" / "argyrodite_li2s"
    shutil.copytree(BUNDLED, data)
    before = checksums(data)

    config = init_and_edit(data, work, {"A": "argyrodite", "B": "Li2S"})
    assert 'paths = ["exsy_2024/argyrodite_li2s/*"]' in config.read_text()
    check_table(config, work, 20, [263.0, 288.0, 313.0, 338.0],
                [0.005, 0.02, 0.08, 0.3, 1.0])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "results_bundled"
    proc = run_cli("run", str(config), "-o", str(out), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    summary = check_outputs(out, ["argyrodite", "Li2S"], 20, [263.0, 288.0, 313.0, 338.0])
    ea = summary["Ea_eV"]
    assert all(math.isfinite(ea[q]) for q in ("q025", "median", "q975"))
    assert ea["q025"] < ea["median"] < ea["q975"]
    assert summary["diagnostics"]["converged"] is True
    # the bundled spectra were simulated with Ea = 0.30 eV (spectra/README.md)
    assert ea["q025"] < 0.30 < ea["q975"], ea
    # the phases TopSpin applied to each 2rr are recorded with the experiment
    phases = pd.read_csv(out / "experiments.csv")["phases"]
    assert phases.str.contains("applied by TopSpin").all()
    assert checksums(data) == before
    assert not list(elsewhere.iterdir())  # nothing written in the working folder either


# ------------------------------------------------------------------------------ config errors
BASE = {
    "data": ['paths = ["data/*"]'],
    "sites.A": ["ppm = 1.3"],
    "sites.B": ["ppm = 2.3"],
    "model": ['temperature_model = "arrhenius"'],
    "sampler": ["seed = 1"],
}

# (changed sections: lines that replace the section's lines, None = section removed; key path)
BAD_CONFIGS = [
    ({"dat": ["x = 1"]}, "dat"),
    ({"data": ['paths = ["data/*"]', "procnum = 2"]}, "data.procnum"),
    ({"data": ['paths = ["data/*"]', "procno = 0"]}, "data.procno"),
    ({"data": ['paths = ["data/*"]', 'prefer = "best"']}, "data.prefer"),
    ({"data": ['paths = ["data/*"]', "mixing_time = -0.1"]}, "data.mixing_time"),
    ({"data": ["paths = 3"]}, "data.paths"),
    ({"sites.A": ["ppm = 1.3", "shift = 1.3"]}, "sites.A.shift"),
    ({"sites.A": ['ppm = "1.3"']}, "sites.A.ppm"),
    ({"sites.A": ["population = 0.5"]}, "sites.A.ppm"),
    ({"sites.A": ["ppm = 1.3", "population = 1.5"]}, "sites.A.population"),
    ({"sites.B": ["ppm = 2.3", "T1_s = { mean = 1.0, sd = -1.0 }"]}, "sites.B.T1_s"),
    ({"sites.B": None}, "sites"),
    ({"model": ['temperature_law = "arrhenius"']}, "model.temperature_law"),
    ({"model": ['temperature_model = "arrhenious"']}, "model.temperature_model"),
    ({"model": ['exchange = ["A<->C"]']}, "model.exchange"),
    ({"model": ['spin_diffusion = "yes"']}, "model.spin_diffusion"),
    ({"priors": ["Ea = [0.0, 1.0]"]}, "priors.Ea"),
    ({"priors": ["Ea_eV = [1.0, 0.5]"]}, "priors.Ea_eV"),
    ({"sampler": ["seed = 1", "step = 10"]}, "sampler.step"),
    ({"sampler": ["seed = 1", "walkers = 2"]}, "sampler.walkers"),
    ({"sampler": ["seed = -1"]}, "sampler.seed"),
    ({"temperature": ["offset = 3.0"]}, "temperature.offset"),
    ({"temperature": ["slope = 0"]}, "temperature.slope"),
    ({"integration": ['methd = "box"']}, "integration.methd"),
    ({"integration": ['method = "boxes"']}, "integration.method"),
    ({"processing": ['window = "qsine"']}, "processing.window"),
    ({"plots": ['format = "png"']}, "plots.format"),
    ({"plots": ["dpi = -3"]}, "plots.dpi"),
    ({"report": ["compare_model = false"]}, "report.compare_model"),
    ({"diffusion": ["radius = 1.0"]}, "diffusion.radius"),
]


def config_text(changes: dict) -> str:
    sections = {**BASE, **changes}
    return "".join(f"[{name}]\n" + "".join(f"{line}\n" for line in lines) + "\n"
                   for name, lines in sections.items() if lines is not None)


@pytest.mark.parametrize(("changes", "key"), BAD_CONFIGS, ids=[key for _, key in BAD_CONFIGS])
def test_every_config_error_names_its_key(tmp_path, capsys, changes, key):
    path = tmp_path / "bad.toml"
    path.write_text(config_text(changes))
    status = main(["check", str(path)])
    err = capsys.readouterr().err
    assert status == 2, err
    first = err.splitlines()[0]
    assert first.startswith(f"error: {path}: "), err
    assert f"[{key}]" in first, err
    assert "Traceback" not in err


def test_all_problems_of_a_config_are_listed_together(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(config_text({"data": ['paths = ["data/*"]', "procno = 0"],
                                 "model": ['temperature_model = "arrhenious"'],
                                 "sampler": ["seed = 1", "walkrs = 32"]}))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: 3 problems"), err
    for key in ("data.procno", "model.temperature_model", "sampler.walkrs"):
        assert f"[{key}]" in err
    assert "did you mean 'walkers'?" in err


def test_config_error_in_a_real_process(tmp_path):
    (tmp_path / "bad.toml").write_text(config_text({"sites.A": ["ppm = 1.3", "shift = 1"]}))
    proc = run_cli("run", "bad.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: bad.toml: [sites.A.shift]: unknown key")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "results").exists()  # nothing written for a bad config
