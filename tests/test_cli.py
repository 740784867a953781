"""The command line: exit codes, error messages, outputs, overwrite protection, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from exsyfit.cli import main

from conftest import c8_volume_table

CONFIG = """\
[data]
volumes = "volumes.csv"

[sites.A]
ppm = 1.3

[sites.B]
ppm = 2.3

[model]
temperature_model = "{model}"

[sampler]
seed = 1
{sampler}

[report]
compare_models = false
"""


def write_job(folder: Path, table=None, model="arrhenius", sampler="steps = 400") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (table if table is not None else c8_volume_table()).to_csv(folder / "volumes.csv",
                                                               index=False)
    path = folder / "config.toml"
    path.write_text(CONFIG.format(model=model, sampler=sampler))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exsyfit", *args], capture_output=True,
                          text=True, timeout=600)


def test_version_is_fast():
    start = time.perf_counter()
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip().startswith("exsyfit ")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("edit", "model", "expected"),
    [
        (lambda t: t.drop(columns="sigma"), "arrhenius", r"volumes.csv: missing column"),
        (lambda t: t.assign(sigma=-t["sigma"]), "arrhenius", r"column 'sigma'"),
        (lambda t: t.assign(from_site=t["from_site"].replace("B", "Li2S")), "arrhenius",
         r"column 'from_site' names site\(s\) 'Li2S'"),
        (lambda t: t[t.temperature_K == 303.0], "arrhenius",
         r"two or more temperatures.*'temperature_K'"),
        (lambda t: t.assign(volume=np.where(t.index == 7, np.nan, t["volume"])), "arrhenius",
         r"column 'volume', row 8"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, edit, model, expected, capsys):
    config = write_job(tmp_path, edit(c8_volume_table()), model=model)
    status = main(["fit", str(config), "-q"])
    err = capsys.readouterr().err
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    import re

    assert re.search(expected, lines[0])
    assert "Traceback" not in err


def test_bad_config_in_a_subprocess_has_no_traceback(tmp_path):
    config = write_job(tmp_path)
    config.write_text(config.read_text().replace("temperature_model", "temprature_model"))
    proc = run_cli("fit", str(config))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "did you mean 'temperature_model'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fit_writes_interface_files_and_refuses_to_overwrite(tmp_path, capsys):
    config = write_job(tmp_path, sampler="steps = 300")
    assert main(["fit", str(config), "-q"]) == 0
    out = tmp_path / "results"
    summary = json.loads((out / "summary.json").read_text())
    for key in ("temperature_model", "sites", "Ea_eV", "ln_A_per_s", "temperatures",
                "diagnostics"):
        assert key in summary
    assert set(summary["Ea_eV"]) == {"median", "q025", "q16", "q84", "q975"}
    entry = summary["temperatures"][0]
    assert set(entry["k_per_s"]) == {"A->B", "B->A"}
    assert set(entry["populations"]) == {"A", "B"} and set(entry["T1_s"]) == {"A", "B"}
    for key in ("converged", "n_walkers", "n_steps", "tau_max", "acceptance_fraction",
                "ess_min", "sampling_seconds", "n_log_prob_evaluations"):
        assert key in summary["diagnostics"]
    assert summary["diagnostics"]["n_steps"] == 300
    import pandas as pd

    csv = pd.read_csv(out / "summary.csv")
    assert len(csv) == 5 and "k_ex_per_s_q975" in csv
    import arviz as az

    idata = az.from_netcdf(out / "posterior.nc")
    assert idata.posterior["k_ex_per_s"].dims == ("chain", "draw", "pair", "temperature")
    assert "volume" in idata.log_likelihood
    capsys.readouterr()
    assert main(["fit", str(config), "-q"]) == 2
    assert "use --force" in capsys.readouterr().err


def _committed_chain(checkpoint: Path) -> np.ndarray | None:
    """The steps a checkpoint holds (None while it is being created or appended to).

    A copy is read, so the running fit never finds its checkpoint locked by this reader.
    """
    import shutil

    import h5py

    copy = checkpoint.parents[2] / "copy-of-the-checkpoint.h5"  # outside OUTDIR
    try:
        shutil.copyfile(checkpoint, copy)
        with h5py.File(copy, "r") as h5:
            return np.array(h5["chain"][: int(h5.attrs["n_steps"])])
    except (OSError, KeyError, ValueError):
        return None
    finally:
        copy.unlink(missing_ok=True)


def test_fit_resumes_after_sigkill(tmp_path):
    from exsyfit.workflow.runfolder import WORK_FOLDER

    config = write_job(tmp_path, sampler="steps = 5000\ncheckpoint_every = 100")
    out = tmp_path / "results"
    checkpoint = out / WORK_FOLDER / "checkpoint.h5"
    proc = subprocess.Popen([sys.executable, "-m", "exsyfit", "fit", str(config), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        chain = _committed_chain(checkpoint) if checkpoint.exists() else None
        if chain is not None and len(chain) >= 1000:
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"the fit ended before the kill: {proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    saved = _committed_chain(checkpoint)
    assert saved is not None and len(saved) >= 1000
    assert not (out / "summary.json").exists()
    resumed = run_cli("fit", str(config), "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((out / "summary.json").read_text())
    d = summary["diagnostics"]
    assert d["n_steps"] == 5000
    assert d["resumed_from_step"] >= len(saved) >= 1000
    # draws from the steps before the kill are in the posterior file, unchanged
    import arviz as az

    theta = az.from_netcdf(out / "posterior.nc").posterior["theta"].values
    burn, thin = d["burn_in"], d["thin"]
    early = [k for k in range(theta.shape[1]) if burn + k * thin < len(saved)]
    assert early, "no saved step survives burn-in and thinning"
    for k in early:
        np.testing.assert_array_equal(theta[:, k, :], saved[burn + k * thin])
    assert not checkpoint.exists() and not (out / WORK_FOLDER).exists()


def test_run_on_a_simulated_volume_table_recovers_the_truth(tmp_path):
    """Default (automatic) sampling puts the truth inside the 95 % interval."""
    config = write_job(tmp_path, c8_volume_table(sigma=0.002, seed=21),
                       sampler="")
    proc = run_cli("run", str(config), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary["diagnostics"]["converged"] is True
    ea = summary["Ea_eV"]
    assert ea["q025"] < 0.30 < ea["q975"]
    assert (tmp_path / "results" / "report.html").exists()
    assert (tmp_path / "results" / "figures" / "arrhenius.png").exists()


def test_init_into_a_new_project_folder(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "spectra"), "-q"]) == 0
    config = tmp_path / "new" / "project" / "config.toml"
    assert main(["init", str(tmp_path / "spectra"), "-o", str(config), "-q"]) == 0
    assert main(["check", str(config)]) == 0
    assert "12 experiments; 3 temperature(s)" in capsys.readouterr().out
    assert main(["init", str(tmp_path / "spectra"), "-o", str(config.parent)]) == 2
    assert "is a folder; expected the name of the config file" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "nothing"), "-o", str(tmp_path / "x" / "c.toml")]) == 2
    assert not (tmp_path / "x").exists()


def test_check_marks_the_experiments_left_out_by_exclude(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "spectra"), "-q"]) == 0
    config = tmp_path / "config.toml"
    assert main(["init", str(tmp_path / "spectra"), "-o", str(config), "-q"]) == 0
    first = sorted(p.name for p in (tmp_path / "spectra").iterdir() if p.is_dir())[0]
    text = config.read_text().replace("[data]\n", f'[data]\nexclude = ["{first}"]\n', 1)
    config.write_text(text)
    capsys.readouterr()
    assert main(["check", str(config)]) == 0
    out = capsys.readouterr().out
    assert "11 experiments (1 more left out by data.exclude)" in out
    assert "excluded" in out.splitlines()[0]
    config.write_text(text.replace(f'exclude = ["{first}"]', 'exclude = ["no-such-folder"]'))
    assert main(["check", str(config)]) == 2
    assert "[data.exclude]: found 'no-such-folder'" in capsys.readouterr().err


def test_check_applies_exclude_to_a_volume_table(tmp_path, capsys):
    table = c8_volume_table()
    config = write_job(tmp_path, table)
    text = config.read_text()
    first = str(table["experiment"].iloc[0])
    spectra = table["experiment"].nunique()
    config.write_text(text.replace("[data]\n", f'[data]\nexclude = ["{first}"]\n', 1))
    assert main(["check", str(config)]) == 0
    out = capsys.readouterr().out
    shown = sum(int(line.split()[1]) for line in out.splitlines()[3:])
    assert shown == spectra - 1
    config.write_text(text.replace("[data]\n", '[data]\nexclude = ["no-such-spectrum"]\n', 1))
    assert main(["check", str(config)]) == 2
    assert "[data.exclude]: found 'no-such-spectrum'" in capsys.readouterr().err
