"""Stages on a volume table: variants for comparison, reloading results, plot and report."""

from __future__ import annotations

import json

import pytest

from exsyfit.cli import main
from exsyfit.config import load_config
from exsyfit.workflow.pipeline import load_fit, model_variants

from conftest import c8_volume_table

CONFIG = """\
[data]
volumes = "volumes.csv"

[sites.A]
ppm = 1.3

[sites.B]
ppm = 2.3

[model]
temperature_model = "arrhenius"

[sampler]
seed = 3
steps = 600

[report]
alternatives = ["spin_diffusion"]

[diffusion]
length_nm = 50
length_sd_nm = 5
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("job")
    c8_volume_table(temperatures_K=(263.0, 303.0, 343.0)).to_csv(folder / "volumes.csv",
                                                                  index=False)
    (folder / "config.toml").write_text(CONFIG)
    assert main(["run", str(folder / "config.toml"), "-q"]) == 0
    return folder


def test_variants_are_fitted_and_written(job):
    out = job / "results"
    config = load_config(job / "config.toml")
    assert model_variants(config) == ["free", "spin_diffusion"]
    for stem in ("", "free_", "spin_diffusion_"):
        for name in ("summary.json", "summary.csv", "posterior.nc"):
            assert (out / f"{stem}{name}").exists()
    sd = json.loads((out / "spin_diffusion_summary.json").read_text())
    assert "k_sd_per_s" in sd
    free = json.loads((out / "free_summary.json").read_text())
    assert free["temperature_model"] == "free" and "Ea_eV" not in free
    assert not list(out.glob("*checkpoint*"))


def test_report_compares_every_fitted_model(job):
    md = (job / "results" / "report.md").read_text()
    assert "## Model comparison" in md
    for model in ("arrhenius, first-order", "free, first-order",
                  "arrhenius, first-order, + spin diffusion"):
        assert f"| {model} |" in md
    assert "## Cross-check: matrix logarithm per spectrum" in md
    assert (job / "results" / "matrixlog.csv").exists()


def test_diffusion_coefficients_in_summary(job):
    s = json.loads((job / "results" / "summary.json").read_text())
    entry = s["temperatures"][1]
    # slowest sphere mode equal to k_ex: D = k_ex a^2 / pi^2 (a = 50 nm), in cm^2/s
    expected = entry["k_ex_per_s"]["median"] * (50e-7) ** 2 / 9.8696044
    assert entry["D_cm2_per_s"]["median"] == pytest.approx(expected, rel=0.05)
    assert entry["h_m_per_s"]["median"] == pytest.approx(
        entry["k_ex_per_s"]["median"] * 50e-9 / 3, rel=0.05)
    assert s["D_Ea_eV"]["median"] == pytest.approx(s["Ea_eV"]["median"], abs=0.01)


def test_reloaded_results_equal_the_written_summary(job):
    config = load_config(job / "config.toml")
    results = load_fit(config, job / "results")
    assert set(results) == {"main", "free", "spin_diffusion"}
    written = json.loads((job / "results" / "summary.json").read_text())
    again = results["main"].summary_dict()
    assert again["Ea_eV"] == pytest.approx(written["Ea_eV"])
    assert again["temperatures"][0]["k_ex_per_s"] == pytest.approx(
        written["temperatures"][0]["k_ex_per_s"])


def test_plot_and_report_stages_rerun_from_files(job, capsys):
    for name in ("report.md", "report.html"):
        (job / "results" / name).unlink()
    assert main(["plot", str(job / "config.toml"), "-q", "--force"]) == 0
    assert main(["report", str(job / "config.toml"), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "arrhenius.png" in printed and "report.html" in printed
    assert (job / "results" / "report.html").exists()


def test_run_refuses_to_overwrite(job, capsys):
    assert main(["run", str(job / "config.toml"), "-q"]) == 2
    assert "exists" in capsys.readouterr().err


def test_three_sites_with_one_exchanging_pair_are_keyed_by_pair():
    """The interface keys pair quantities by pair whenever there are more than two sites."""
    import warnings

    import numpy as np
    import pandas as pd

    from exsyfit.config import config_from_dict
    from exsyfit.fit.likelihood import problem_from_config
    from exsyfit.fit.results import FitResult
    from exsyfit.fit.sampling import SamplerSettings, sample_posterior
    from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

    p = np.array([0.6, 0.3, 0.1])
    rows = []
    for T in (280.0, 320.0):
        K = exchange_rate_matrix([3.0 * T / 300], p, [(0, 1)])
        V = predict_volumes(mixing_matrix(K, [1.0, 0.5, 2.0], [0.05, 0.2], populations=p), p)
        for m, tm in enumerate((0.05, 0.2)):
            for i, a in enumerate("ABC"):
                for j, b in enumerate("ABC"):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T, mixing_time_s=tm,
                                     from_site=b, to_site=a, volume=V[m, i, j], sigma=1e-3))
    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}, "C": {"ppm": 3.0}},
           "model": {"temperature_model": "arrhenius", "exchange": ["A<->B"]}}
    problem = problem_from_config(pd.DataFrame(rows), config_from_dict(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sample_posterior(problem, SamplerSettings(seed=1, steps=200))
    s = FitResult.from_sampling(problem, out).summary_dict()
    assert set(s["Ea_eV"]) == {"A<->B"}
    assert set(s["temperatures"][0]["k_ex_per_s"]) == {"A<->B"}
    assert set(s["temperatures"][0]["k_per_s"]) == {"A->B", "B->A"}


# ---------------------------------------------------------------------- warnings, resume, exclude
SMALL = """\
[data]
volumes = "volumes.csv"
{exclude}
[sites.A]
ppm = 1.3

[sites.B]
ppm = 2.3

[sampler]
seed = 4
steps = 300
checkpoint_every = 100

[report]
compare_models = {compare}
matrix_log = false
"""


def _small_job(folder, exclude="", compare="false", seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    c8_volume_table(temperatures_K=(263.0, 303.0, 343.0), seed=seed).to_csv(
        folder / "volumes.csv", index=False)
    (folder / "config.toml").write_text(SMALL.format(exclude=exclude, compare=compare))
    return load_config(folder / "config.toml")


def test_summary_holds_every_warning_of_every_stage(tmp_path):
    """integration.json's warnings (of a table written by 'integrate') reach summary.json."""
    from exsyfit.workflow.pipeline import fit

    config = _small_job(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "volumes.csv").write_bytes((tmp_path / "volumes.csv").read_bytes())
    (out / "integration.json").write_text(json.dumps(
        {"method": "box", "warnings": ["263 K: cross peaks A->B and B->A differ beyond the "
                                       "noise", "263 K: cross peaks A->B and B->A differ "
                                       "beyond the noise"]}))
    from dataclasses import replace

    config = replace(config, data=replace(config.data, volumes=None, paths=("x",)))
    fit(config, out, workers=1)
    warnings_ = json.loads((out / "summary.json").read_text())["warnings"]
    # one plain sentence each, without duplicates; the short chain's convergence warning too
    assert warnings_.count("263 K: cross peaks A->B and B->A differ beyond the noise.") == 1
    assert any("converge" in w for w in warnings_)
    assert all(not w[0].islower() and w.endswith(".") for w in warnings_)


def test_results_appear_together_with_a_manifest(tmp_path):
    from exsyfit.workflow.pipeline import fit
    from exsyfit.workflow.runfolder import SWITCH_MARKER, WORK_FOLDER, file_sha256

    config = _small_job(tmp_path)
    out = tmp_path / "out"
    fit(config, out, workers=1)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["files"]["posterior.nc"] == file_sha256(out / "posterior.nc")
    assert manifest["volume_table_sha256"] == file_sha256(tmp_path / "volumes.csv")
    assert not (out / WORK_FOLDER).exists() and not list(out.glob("*checkpoint*"))
    # a summary from another run beside this posterior is refused, not reported
    summary = json.loads((out / "summary.json").read_text())
    summary["seed"] = 99
    (out / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(Exception, match="differs from the file of the run"):
        load_fit(config, out)
    (out / "summary.json").write_text("{}")
    (out / "run.json").unlink()
    (out / SWITCH_MARKER).write_text("")
    with pytest.raises(Exception, match="interrupted while its results were put in place"):
        load_fit(config, out)


def test_resume_only_what_is_current(tmp_path, capsys):
    from exsyfit.workflow.runfolder import RunFolder, job_fingerprint

    _small_job(tmp_path)
    cfg = str(tmp_path / "config.toml")
    out = tmp_path / "out"
    assert main(["fit", cfg, "-o", str(out), "-q", "--workers", "1"]) == 0
    before = (out / "posterior.nc").read_bytes()
    # same inputs: the finished results are current and kept
    assert main(["fit", cfg, "-o", str(out), "--resume", "--workers", "1"]) == 0
    assert "complete and current" in capsys.readouterr().err
    assert (out / "posterior.nc").read_bytes() == before
    # the volume table changed: refused, nothing touched
    _small_job(tmp_path, seed=1)
    assert main(["fit", cfg, "-o", str(out), "--resume", "-q"]) == 2
    err = capsys.readouterr().err
    assert "different version of the input data" in err and err.startswith("error:")
    assert (out / "posterior.nc").read_bytes() == before
    # an interrupted fit of other inputs is not continued either
    RunFolder(out, job_fingerprint(None, {"other": 1}, [])).start()
    assert main(["fit", cfg, "-o", str(out), "--resume", "-q"]) == 2
    assert "would mix two posteriors" in capsys.readouterr().err
    # --force starts afresh
    assert main(["fit", cfg, "-o", str(out), "--resume", "--force", "-q", "--workers",
                 "1"]) == 0
    assert (out / "posterior.nc").read_bytes() != before


def test_exclude_drops_spectra_by_name(tmp_path):
    from exsyfit.errors import ConfigError
    from exsyfit.workflow.pipeline import load_volumes

    config = _small_job(tmp_path, exclude='exclude = ["T303_tm0.01", "T263_tm1"]')
    table = load_volumes(config, tmp_path / "volumes.csv")
    full = c8_volume_table(temperatures_K=(263.0, 303.0, 343.0))
    assert len(table) == len(full) - 8
    assert not table["experiment"].isin(["T303_tm0.01", "T263_tm1"]).any()
    config = _small_job(tmp_path, exclude='exclude = ["T999"]')
    with pytest.raises(ConfigError, match=r"\[data.exclude\]: found 'T999'.*T263_tm0.01"):
        load_volumes(config, tmp_path / "volumes.csv")


def test_parallel_fits_equal_serial_fits(tmp_path):
    from exsyfit.workflow.pipeline import fit

    config = _small_job(tmp_path, compare="true")
    serial = fit(config, tmp_path / "serial", workers=1)
    parallel = fit(config, tmp_path / "parallel", workers=2)
    assert set(serial) == set(parallel) == {"main", "free", "spin_diffusion"}
    for name in serial:
        assert (serial[name].theta == parallel[name].theta).all()
    a = json.loads((tmp_path / "serial" / "summary.json").read_text())
    b = json.loads((tmp_path / "parallel" / "summary.json").read_text())
    for s in (a, b):
        s["diagnostics"].pop("sampling_seconds")
    assert a["Ea_eV"] == b["Ea_eV"] and a["temperatures"] == b["temperatures"]


def test_interrupted_fit_resumes_from_its_checkpoint(tmp_path):
    from exsyfit.workflow.pipeline import fit
    from exsyfit.workflow.runfolder import WORK_FOLDER

    config = _small_job(tmp_path)
    out = tmp_path / "out"

    class Stop:  # a progress bar that stops the fit after its first chunk (like Ctrl-C)
        def __init__(self, *_):
            self.n = self.total = 0

        def refresh(self):
            if 0 < self.n < self.total:
                raise KeyboardInterrupt

        def close(self):
            pass

    with pytest.raises(KeyboardInterrupt):
        fit(config, out, workers=1, progress=Stop)
    assert list((out / WORK_FOLDER).glob("*checkpoint*"))  # kept for --resume
    assert not (out / "summary.json").exists()  # nothing half-done is visible
    results = fit(config, out, workers=1, resume=True)
    assert 0 < results["main"].diagnostics["resumed_from_step"] < 300
    assert results["main"].diagnostics["n_steps"] == 300
    assert (out / "summary.json").exists() and not (out / WORK_FOLDER).exists()


def test_a_failed_run_leaves_the_earlier_results_alone(tmp_path, monkeypatch):
    import exsyfit.workflow.pipeline as pipeline
    from exsyfit.errors import OutputError
    from exsyfit.workflow.runfolder import WORK_FOLDER

    config = _small_job(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"from": "the earlier run"}')

    def disk_full(*args, **kwargs):
        raise OutputError(f"{out}/figures/arrhenius.png: cannot write (the disk is full)")

    monkeypatch.setattr(pipeline, "plot", disk_full)
    with pytest.raises(OutputError, match="disk is full"):
        pipeline.run(config, out, force=True, workers=1)
    assert (out / "summary.json").read_text() == '{"from": "the earlier run"}'
    assert not (out / WORK_FOLDER).exists() and not (out / "posterior.nc").exists()
