"""Tests of ``exsyfit init``: finding a series, picking diagonal peaks, the starter config."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exsyfit.config import load_config
from exsyfit.errors import ExsyfitError, OutputExistsError, SeriesError
from exsyfit.io.series import experiment_table
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import peak_2d
from exsyfit.starter.config import (
    find_experiments,
    propose_sites,
    read_reference_spectrum,
    write_starter_config,
)
from exsyfit.starter.peakpick import diagonal_profile, pick_diagonal_peaks, spectrum_noise
from exsyfit.starter.spinning import Acquisition, acquisition_of, decide_spinning

from conftest import SHARED_REAL

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "spectra" / "argyrodite_li2s_bruker_processed"
VARIAN = REPO / "spectra" / "argyrodite_li2s_varian"
RAW = REPO / "spectra" / "argyrodite_li2s_bruker_raw"
THREE_SITE = REPO / "spectra" / "three_site_bruker_processed"
# truth of the bundled series (spectra/README.md)
ARGYRODITE_PPM, LI2S_PPM = 1.3, 2.3
MAS_PPM = 5000.0 / 155.5


def checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exsyfit", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def copy_expnos(target: Path, expnos) -> Path:
    target.mkdir(parents=True)
    for e in expnos:
        shutil.copytree(BUNDLED / str(e), target / str(e))
    return target


# ------------------------------------------------------------------------------ peak picking
def test_picks_the_two_bundled_sites_and_not_the_sidebands():
    exps = find_experiments(BUNDLED, REPO)
    spectrum, row = read_reference_spectrum(exps)
    assert float(row["mixing_time_s"]) == pytest.approx(0.005)
    assert float(row["temperature_K"]) == pytest.approx(263.0)
    peaks, spinning = propose_sites(spectrum, row)
    assert spinning.mas is True and "MAS at 5000 Hz" in spinning.reason
    # t1: TD1 = 256 (128 complex points, States-TPPI) at SW1 = 5000 Hz (acqu2s)
    assert peaks.aq1_s == pytest.approx(128 / 5000.0)
    assert [s.name for s in peaks.sites] == ["A", "B"]
    a, b = peaks.sites
    assert a.ppm == pytest.approx(ARGYRODITE_PPM, abs=0.1)
    assert b.ppm == pytest.approx(LI2S_PPM, abs=0.1)
    # p(argyrodite) / p(Li2S) = 0.88 / 0.12 in volume; heights also depend on line widths
    assert 0.15 < b.relative_height < 0.45
    assert a.snr > 300 and b.snr > 100
    # the argyrodite's F2 sidebands (5 % of its signal each side, 90 % in the centreband) are
    # seen in its row, at 5.6 % of its centreband, and not proposed as sites
    assert peaks.f2_sidebands_seen and a.f2_sidebands_seen and not b.f2_sidebands_seen
    assert a.f2_sideband_ratio == pytest.approx(0.05 / 0.9, rel=0.3)
    assert peaks.mas_rate_ppm == pytest.approx(MAS_PPM, rel=1e-6)
    for s in peaks.sites:
        assert abs(abs(s.ppm - ARGYRODITE_PPM) - MAS_PPM) > 5


@pytest.mark.parametrize(("folder", "fmt"), [(VARIAN, "varian"), (RAW, "bruker")])
def test_picks_the_sites_of_the_varian_and_raw_series(folder, fmt):
    """Spectra processed here from fid / ser (no 2rr), with the stored phases and windows."""
    exps = find_experiments(folder, REPO)
    spectrum, row = read_reference_spectrum(exps)
    assert row["format"] == fmt and float(row["mixing_time_s"]) == pytest.approx(0.01)
    peaks, spinning = propose_sites(spectrum, row)
    assert spinning.mas is True
    assert [s.ppm for s in peaks.sites] == pytest.approx([ARGYRODITE_PPM, LI2S_PPM], abs=0.1)
    assert peaks.f2_sidebands_seen


@pytest.mark.skipif(not THREE_SITE.is_dir(), reason="spectra/three_site_bruker_processed absent")
def test_three_site_series_gives_three_sites_and_sidebands(tmp_path):
    """PEO (-0.8 ppm), LLZO (1.6, 4 % F2 sidebands each side) and a weak LiOH (0.6) site."""
    out = write_starter_config(THREE_SITE, tmp_path / "cfg.toml")
    config = load_config(out)
    assert [s.ppm for s in config.sites] == pytest.approx([-0.8, 1.6, 0.6], abs=0.1)
    # LLZO's sidebands are 4 % of its line: well above the noise, below 2 % of the PEO peak
    assert config.integration.sidebands is True
    assert "default every pair: A<->B, A<->C, B<->C" in out.read_text()


def _synthetic(mas_rate_hz: float | None, noise: float = 1e-4, seed: int = 0) -> Spectrum2D:
    """Sites A (1.3 ppm, with strong sidebands in both dimensions), B (2.3), weak C (-8.0).

    F1 is not rotor-synchronised here (80 ppm wide), so A's sidebands of order (m, n) sit at
    (1.3 + m r, 1.3 + n r) and two of them lie on the diagonal, at 2 % of A's height: more than
    the genuine site C (1 %).
    """
    sf = 155.5
    r = 5000.0 / sf
    f1 = np.linspace(40.0, -40.0, 320)
    f2 = np.linspace(41.0, -39.0, 512)
    amp = {-1: 0.2, 0: 0.6, 1: 0.2}
    data = np.zeros((f1.size, f2.size))
    for m, am in amp.items():
        for n, an in amp.items():
            data += am * an * peak_2d(f1, f2, 1.3 + m * r, 1.3 + n * r, 0.6, 0.6, 0.4, 0.4)
    data += 0.1 * peak_2d(f1, f2, 2.3, 2.3, 0.5, 0.5, 0.3, 0.3)
    data += 0.01 * peak_2d(f1, f2, -8.0, -8.0, 0.6, 0.6, 0.5, 0.5)
    data += noise * np.random.default_rng(seed).standard_normal(data.shape)
    return Spectrum2D(data=data, ppm_f1=f1, ppm_f2=f2, sf_mhz=sf, mas_rate_hz=mas_rate_hz,
                      source="synthetic")


def test_diagonal_sidebands_are_rejected_but_a_weaker_genuine_site_is_kept():
    peaks = pick_diagonal_peaks(_synthetic(5000.0), mas_rate_hz=5000.0)
    assert [s.name for s in peaks.sites] == ["A", "B", "C"]
    assert [s.ppm for s in peaks.sites] == pytest.approx([1.3, 2.3, -8.0], abs=0.05)
    assert sorted(peaks.sidebands_ppm) == pytest.approx(
        [1.3 - MAS_PPM, 1.3 + MAS_PPM], abs=0.3)
    c_height = peaks.sites[2].height
    assert c_height < 0.6 * 0.2 * 0.2 * peaks.sites[0].height / (0.6 * 0.6)


def test_without_a_mas_rate_the_sidebands_look_like_sites():
    """The contrast case: the MAS rate is what tells sidebands from sites (they are genuine
    2D peaks on the diagonal)."""
    peaks = pick_diagonal_peaks(_synthetic(None))
    assert len(peaks.sites) == 5 and peaks.sidebands_ppm == ()
    assert peaks.mas_rate_ppm is None and not peaks.f2_sidebands_seen
    # the rate can also be given explicitly
    given = pick_diagonal_peaks(_synthetic(None), mas_rate_hz=5000.0)
    assert [s.ppm for s in given.sites] == pytest.approx([1.3, 2.3, -8.0], abs=0.05)


def test_noise_threshold_and_max_sites():
    # C peaks at 0.01 x 1.72 (unit-volume pseudo-Voigt, FWHM 0.6 ppm): about 4 noise sd
    spec = _synthetic(5000.0, noise=4e-3)
    peaks = pick_diagonal_peaks(spec, mas_rate_hz=5000.0)
    assert [s.ppm for s in peaks.sites] == pytest.approx([1.3, 2.3], abs=0.05)
    assert peaks.threshold == pytest.approx(8 * peaks.noise, rel=1e-12)
    assert peaks.noise == pytest.approx(4e-3, rel=0.05)
    two = pick_diagonal_peaks(_synthetic(5000.0), max_sites=2, mas_rate_hz=5000.0)
    assert len(two.sites) == 2 and two.weaker_ppm == pytest.approx((-8.0,), abs=0.05)
    with pytest.raises(ValueError, match="max_sites"):
        pick_diagonal_peaks(spec, max_sites=1)


def test_spectrum_noise_of_gaussian_noise_with_peaks():
    rng = np.random.default_rng(3)
    data = 0.5 * rng.standard_normal((256, 256))
    data[100:110, 100:110] += 1e3  # 0.15 % of the points hold strong signal
    assert spectrum_noise(data) == pytest.approx(0.5, rel=0.03)


def test_diagonal_profile_reads_the_diagonal():
    f1 = np.linspace(10, -10, 81)
    f2 = np.linspace(20, -20, 201)
    data = f1[:, None] * 100 + f2[None, :]  # bilinear: interpolation is exact
    spec = Spectrum2D(data=data, ppm_f1=f1, ppm_f2=f2)
    ppm, values = diagonal_profile(spec)
    assert ppm[0] == pytest.approx(10) and ppm[-1] == pytest.approx(-10, abs=0.2)
    np.testing.assert_allclose(values, 101 * ppm, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------ config file
def test_written_config_loads_and_describes_the_series(tmp_path):
    out = write_starter_config(BUNDLED, tmp_path / "cfg.toml")
    assert out == tmp_path / "cfg.toml"
    config = load_config(out)
    assert config.site_names == ("A", "B")
    assert [s.ppm for s in config.sites] == pytest.approx([ARGYRODITE_PPM, LI2S_PPM], abs=0.1)
    assert config.model.temperature_model == "arrhenius"
    assert config.integration.sidebands is True
    assert config.sampler.seed == 1
    assert len(config.data.paths) == 1 and config.data.paths[0].endswith("/*")
    table = experiment_table(list(config.data.paths), config.base_dir)
    assert len(table) == 20
    text = out.read_text()
    for fact in ("20 2D spectra", "7Li", "263, 288, 313, 338", "0.005, 0.02, 0.08, 0.3, 1",
                 "5000 Hz", "rename", "argyrodite", "# exchange =", "# spin_diffusion",
                 "# T1_s =", "# [temperature]", "# volumes =", "rotor-synchronised",
                 "AQ1 = 25.6 ms", "Spinning: MAS at 5000 Hz"):
        assert fact in text, fact


def test_config_beside_the_data_uses_a_relative_glob(tmp_path):
    data = copy_expnos(tmp_path / "run1" / "exsy", range(10, 15))  # one temperature
    out = write_starter_config(data, tmp_path / "run1" / "exsyfit.toml")
    config = load_config(out)
    assert config.data.paths == ("exsy/*",)
    # one temperature: no temperature law can be fitted
    assert config.model.temperature_model == "free"
    # the config keeps working when the whole folder moves
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "run1", moved)
    moved_config = load_config(moved / "exsyfit.toml")
    assert len(experiment_table(list(moved_config.data.paths), moved_config.base_dir)) == 5


def test_unusable_experiments_are_listed_and_left_out(tmp_path):
    data = copy_expnos(tmp_path / "data", [10, 11, 15, 16])
    stray = data / "99"  # a folder that looks like an expno but is not a 2D experiment
    stray.mkdir()
    (stray / "acqus").write_text("##TITLE= broken\n##$TD= 1024\n##END=\n")
    (stray / "fid").write_bytes(b"\0" * 64)
    out = write_starter_config(data, tmp_path / "cfg.toml")
    config = load_config(out)
    assert config.data.paths == ("data/10", "data/11", "data/15", "data/16")
    assert "#   left out data/99: " in out.read_text()
    assert config.model.temperature_model == "arrhenius"  # 263 and 288 K


def test_files_without_temperature_get_a_placeholder_to_edit(tmp_path):
    data = copy_expnos(tmp_path / "data", [10, 11, 12])
    for expno in (10, 11, 12):  # VT off: no TE in acqus
        acqus = data / str(expno) / "acqus"
        lines = acqus.read_text().splitlines(keepends=True)
        acqus.write_text("".join(line for line in lines if not line.startswith("##$TE=")))
    out = write_starter_config(data, tmp_path / "cfg.toml")
    text = out.read_text()
    assert "WARNING: 3 experiment(s) hold no temperature" in text
    assert "# EDIT: these files hold no temperature" in text
    config = load_config(out)
    assert config.temperature.per_experiment == {f"data/{e}": 298.15 for e in (10, 11, 12)}
    assert config.model.temperature_model == "free"
    table = experiment_table(list(config.data.paths), config.base_dir,
                             temperature_calibration=config.temperature.as_dict())
    assert list(table["temperature_source"]) == ["per-experiment value"] * 3


def test_single_experiment_folder(tmp_path):
    """A Varian arrayed experiment is a series by itself (3 mixing times)."""
    one = VARIAN / "exsy_283K.fid"
    out = write_starter_config(one, tmp_path / "cfg.toml")
    config = load_config(out)
    assert len(config.data.paths) == 1 and config.data.paths[0].endswith("exsy_283K.fid")
    assert config.model.temperature_model == "free"
    assert len(experiment_table(list(config.data.paths), config.base_dir)) == 3


def test_output_folder_gets_exsyfit_toml(tmp_path):
    out = write_starter_config(VARIAN, tmp_path)
    assert out == tmp_path / "exsyfit.toml" and load_config(out).site_names == ("A", "B")


def test_data_folder_is_not_modified(tmp_path):
    data = copy_expnos(tmp_path / "data", range(10, 15))
    before = checksums(data)
    write_starter_config(data, tmp_path / "cfg.toml")
    assert checksums(data) == before


# ------------------------------------------------------------------------------ refusals
def test_folder_without_experiments(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a spectrum")
    with pytest.raises(SeriesError, match=r"nothing_here: no experiment found; looked for "
                                          r"Bruker expno folders.*Varian \.fid folders"):
        write_starter_config(empty, tmp_path / "cfg.toml")
    assert not (tmp_path / "cfg.toml").exists()


def test_missing_folder(tmp_path):
    with pytest.raises(SeriesError, match=r"no_such_folder: no such folder"):
        write_starter_config(tmp_path / "no_such_folder", tmp_path / "cfg.toml")


def test_experiments_one_level_deeper_are_pointed_out(tmp_path):
    copy_expnos(tmp_path / "project" / "exsy_series", [10, 11])
    with pytest.raises(SeriesError, match=r"one level deeper, in exsy_series"):
        write_starter_config(tmp_path / "project", tmp_path / "cfg.toml")


def test_existing_output_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "cfg.toml"
    out.write_text("# my edited config\n")
    with pytest.raises(OutputExistsError, match=r"cfg\.toml: exists; use --force"):
        write_starter_config(VARIAN, out)
    assert out.read_text() == "# my edited config\n"
    write_starter_config(VARIAN, out, force=True)
    assert load_config(out).site_names == ("A", "B")


def test_never_writes_into_the_data_folder(tmp_path):
    data = copy_expnos(tmp_path / "data", [10, 11])
    before = checksums(data)
    with pytest.raises(ExsyfitError, match=r"inside the data folder"):
        write_starter_config(data, data / "exsyfit.toml")
    with pytest.raises(ExsyfitError, match=r"inside the data folder"):
        write_starter_config(data, data / "10" / "pdata")
    assert checksums(data) == before


def test_one_diagonal_peak_is_refused(tmp_path):
    from dataclasses import replace

    from exsyfit.simulate.series import example_truth, simulate_series

    truth = example_truth()
    a, b = truth.sites  # Li2S at 0.05 % of the lithium: far below the noise
    truth = replace(truth, sites=(replace(a, population=0.9995), replace(b, population=5e-4)))
    simulate_series(tmp_path / "data", truth, [300.0], [0.01, 0.1], seed=2)
    with pytest.raises(SeriesError, match=r"found 1 diagonal peak\(s\) above the noise "
                                          r"\(1\.30 ppm;.*needs two or more sites"):
        write_starter_config(tmp_path / "data", tmp_path / "cfg.toml")
    assert not (tmp_path / "cfg.toml").exists()


@pytest.mark.skipif(not (SHARED_REAL / "lcs-13c-cp-series").is_dir(),
                    reason="real data folder ../shared/data/real/lcs-13c-cp-series absent")
def test_real_1d_series_is_refused_with_the_reason(tmp_path):
    folder = SHARED_REAL / "lcs-13c-cp-series"
    with pytest.raises(SeriesError, match=r"none of its 15 experiment\(s\) is a 2D spectrum.*1D"):
        write_starter_config(folder, tmp_path / "cfg.toml")


# ------------------------------------------------------------------------------ command line
def test_cli_init_writes_a_config(tmp_path):
    proc = run_cli("init", str(VARIAN), "-o", "cfg.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "starter config written to cfg.toml" in proc.stderr
    assert load_config(tmp_path / "cfg.toml").site_names == ("A", "B")


def test_cli_init_default_output_is_in_the_working_folder(tmp_path):
    proc = run_cli("init", str(VARIAN), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "exsyfit.toml").is_file()
    assert not (VARIAN / "exsyfit.toml").exists()


def test_cli_init_refusals_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("init", str(empty), "-o", "cfg.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "empty: no experiment found" in proc.stderr
    assert "Traceback" not in proc.stderr

    (tmp_path / "cfg.toml").write_text("# keep me\n")
    proc = run_cli("init", str(VARIAN), "-o", "cfg.toml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert "cfg.toml: exists; use --force" in proc.stderr
    assert (tmp_path / "cfg.toml").read_text() == "# keep me\n"

    proc = run_cli("init", str(VARIAN), "-o", "cfg.toml", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------ artefacts
def _truncated(lw2_hz: float = 400.0, ridge: float = 0.0, seed: int = 0, n_inc: int = 24):
    """Site A (0 ppm) and B (12 ppm, 10 %): 24 t1 increments over 40 ppm at 100 MHz (AQ1 = 6 ms),
    no window, a line of 5 Hz in t1, so A's F1 line is a sinc with side lobes; F2 Lorentzian
    ``lw2_hz`` wide (after line broadening).  ``ridge``: t1 noise in A's columns, relative to A.
    """
    sf, sw_ppm = 100.0, 40.0
    sw_hz = sw_ppm * sf
    t = np.arange(n_inc) / sw_hz
    f1 = np.linspace(sw_ppm / 2, -sw_ppm / 2, 256, endpoint=False)
    f2 = np.linspace(sw_ppm / 2, -sw_ppm / 2, 512, endpoint=False)
    rng = np.random.default_rng(seed)
    data = np.zeros((f1.size, f2.size))
    for ppm, amp in ((0.0, 1.0), (12.0, 0.1)):
        fid = amp * np.exp(2j * np.pi * ppm * sf * t - np.pi * 5.0 * t)
        fid[0] *= 0.5
        line1 = (fid[None, :] * np.exp(-2j * np.pi * f1[:, None] * sf * t[None, :])).sum(1).real
        x = (f2 - ppm) * sf / (0.5 * lw2_hz)
        data += np.outer(line1 / sw_hz, 1.0 / (1.0 + x**2))
    top = data.max()
    if ridge:
        x = f2 * sf / (0.5 * lw2_hz)
        data += ridge * top * np.outer(rng.standard_normal(f1.size), 1.0 / (1.0 + x**2))
    data += 1e-3 * top * rng.standard_normal(data.shape)
    return Spectrum2D(data=data, ppm_f1=f1, ppm_f2=f2, sf_mhz=sf, source="truncated"), \
        n_inc / sw_hz


def test_truncation_wiggles_are_not_sites():
    spectrum, aq1 = _truncated()
    peaks = pick_diagonal_peaks(spectrum, aq1_s=aq1)
    assert [s.ppm for s in peaks.sites] == pytest.approx([0.0, 12.0], abs=0.05)
    # the positive side lobes of A's sinc, at (k + 1/4)/AQ1 = 2.08 and 3.75 ppm each side
    lobes = sorted(r.ppm for r in peaks.rejected if r.kind == "truncation")
    assert lobes == pytest.approx([-3.75, -2.08, 2.08, 3.75], abs=0.1)
    assert all("AQ1 = 6 ms" in r.reason for r in peaks.rejected)
    # without AQ1 the same candidates are still rejected, as F1 artefacts of A
    blind = pick_diagonal_peaks(spectrum)
    assert len(blind.sites) == 2 and {r.kind for r in blind.rejected} == {"ridge"}


def test_t1_ridge_is_not_a_site():
    """t1 noise in A's columns (5 % of A) makes diagonal maxima near A; none is a site."""
    spectrum, aq1 = _truncated(lw2_hz=300.0, ridge=0.05, seed=1, n_inc=256)
    peaks = pick_diagonal_peaks(spectrum, aq1_s=aq1)
    assert [s.ppm for s in peaks.sites] == pytest.approx([0.0, 12.0], abs=0.05)
    assert len(peaks.rejected) >= 4
    assert all("(site A)" in r.reason for r in peaks.rejected)
    assert sum("t1 ridge" in r.reason for r in peaks.rejected) >= 4


# ------------------------------------------------------------------------------ spinning
def _with_probe(tmp_path: Path, probe: str | None) -> Path:
    """Five spectra of the bundled MAS series with the probe head of every acqus replaced
    (``None``: removed)."""
    data = copy_expnos(tmp_path / "series", range(10, 15))  # one temperature
    for acqus in data.glob("*/acqus"):
        lines = [ln for ln in acqus.read_text().splitlines() if not ln.startswith("##$PROBHD=")]
        if probe is not None:
            lines.insert(1, f"##$PROBHD= <{probe}>")
        acqus.write_text("\n".join(lines) + "\n")
    return data


def test_stale_masr_on_a_solution_probe_gets_no_mas_advice(tmp_path):
    data = _with_probe(tmp_path, "5 mm PABBO BB/19F-1H/D Z-GRD Z108618/0001")
    out = write_starter_config(data, tmp_path / "cfg.toml")
    text = out.read_text()
    assert "Spinning: not MAS (static or solution): MASR = 5000 Hz is stale: probe head " \
           "'5 mm PABBO" in text
    assert "sidebands" not in text.split("[integration]")[1]
    assert "rotor-synchronised" not in text and "f1_rotor_synchronised" not in text
    config = load_config(out)
    assert [s.ppm for s in config.sites] == pytest.approx([ARGYRODITE_PPM, LI2S_PPM], abs=0.1)
    assert config.integration.sidebands is False


def test_mas_probe_decides_mas(tmp_path):
    data = _with_probe(tmp_path, "4 mm MAS BB/1H H8906/0003")
    text = write_starter_config(data, tmp_path / "cfg.toml").read_text()
    assert "Spinning: MAS at 5000 Hz (MASR = 5000 Hz, probe head '4 mm MAS" in text
    assert "\nsidebands = true" in text


def _acq(rate, probe, program, spinning="MAS", reason="MASR = 5000 Hz"):
    return Acquisition(rate, probe, program, spinning, reason)


@pytest.mark.parametrize(
    ("acq", "sidebands", "mas", "words"),
    [
        (_acq(None, "", "noesyph", "static or solution", "no MAS rate recorded"), None, False,
         "no MAS rate"),
        (_acq(5000.0, "5 mm TXI", "noesyph", "static or solution", "MASR = 5000 Hz is stale"),
         True, False, "stale"),
        (_acq(20.0, "", "noesyph", reason="MASR = 20 Hz"), None, False, "solution sample"),
        (_acq(5000.0, "", "noesygpph"), None, False, "pulsed field gradients"),
        (_acq(5000.0, "", "noesyph"), None, None, "MASR = 5000 Hz, pulse program 'noesyph'"),
        (_acq(5000.0, "", "noesyph"), True, True, "sidebands"),
        (_acq(5000.0, "", "noesyph"), False, False, "treated as not spinning"),
        (_acq(12500.0, "3.2 mm MAS DVT", "cp"), False, True, "MAS at 12500 Hz"),
    ],
)
def test_spinning_decision(acq, sidebands, mas, words):
    got = decide_spinning(acq, sidebands_seen=sidebands)
    assert got.mas is mas and words in got.reason
    assert (got.rate_hz is not None) == (mas is not False)


@pytest.mark.parametrize(
    ("dataset", "mas", "words"),
    [
        # a real solution 15N TROSY whose acqus keeps MASR = 4200 from an earlier MAS run
        ("nmrtools-15n-trosy-2d", False, "MASR = 4200 Hz is stale"),
        # a real 27Al{31P} D-HMQC under MAS at 5 kHz on a 4 mm MAS probe
        ("lcs-27al-31p-dhmqc-2d/1", True, "MAS at 5000 Hz"),
    ],
)
def test_spinning_of_real_experiments(dataset, mas, words):
    folder = SHARED_REAL / dataset
    if not folder.is_dir():
        pytest.skip(f"../shared/data/real/{dataset} absent")
    row = experiment_table([str(folder)], folder.parent).iloc[0]
    got = decide_spinning(acquisition_of(row), sidebands_seen=False)
    assert got.mas is mas and words in got.reason


def test_rate_alone_is_confirmed_by_sidebands(tmp_path):
    """No probe head recorded and pulse program noesyph (used both ways): the F2 sidebands at
    +-MASR in the spectrum decide."""
    data = _with_probe(tmp_path, None)
    text = write_starter_config(data, tmp_path / "cfg.toml").read_text()
    assert "Spinning: MAS at 5000 Hz: spinning sidebands at +-5000 Hz beside a site" in text
    assert "\nsidebands = true" in text
