"""Series assembly: globs, vendors, temperature calibration and grouping, refusals."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exsyfit.errors import ConfigError, DataFormatError, SeriesError
from exsyfit.io import series
from exsyfit.io.series import (
    calibrate_temperatures,
    check_sites,
    experiment_table,
    group_temperatures,
    read_series,
)
from exsyfit.processing.transforms import ProcessingOptions
from exsyfit.simulate import series as sim

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
QSINE = ProcessingOptions(window_f1="qsine", ssb_f1=2.0)

# a well-separated, noise-free two-site variant: Gaussian lines 8 ppm apart, no sidebands
_BASE = sim.example_truth("argyrodite_li2s", noise_rms=0.0, t1_noise=0.0)
SEPARATED = replace(_BASE, sites=(
    replace(_BASE.sites[0], ppm=-2.0, eta=0.0, sidebands=()),
    replace(_BASE.sites[1], ppm=6.0, eta=0.0),
))
SMALL = sim.Acquisition(n_f1=128, n_f2=256, td1=32, td2=128, sw_ppm_f2=40.0, carrier_ppm=2.0)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _box_volumes(sp, truth: sim.Truth) -> dict[tuple[str, str], float]:
    out = {}
    for sj in truth.sites:
        for si in truth.sites:
            m1 = np.abs(sp.ppm_f1 - sj.ppm) < 3.0
            m2 = np.abs(sp.ppm_f2 - si.ppm) < 3.0
            out[(sj.name, si.name)] = float(sp.data[np.ix_(m1, m2)].sum()
                                           * sp.ppm_step_f1 * sp.ppm_step_f2)
    return out


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One small simulated series per format (2 temperatures x 2 mixing times)."""
    root = tmp_path_factory.mktemp("series")
    out = {}
    for fmt in sim.FORMATS:
        d = root / fmt
        truth = _quiet(sim.simulate_series, d, SEPARATED, [263.0, 303.0], [0.01, 0.2],
                       format=fmt, seed=3, acquisition=SMALL)
        out[fmt] = (d, truth)
    return out


@pytest.mark.parametrize("fmt", sim.FORMATS)
def test_each_format_reads_back_on_one_scale(made, fmt):
    folder, truth = made[fmt]
    before = _checksums(folder)
    s = _quiet(read_series, ["*"], folder, options=QSINE)
    assert len(s.spectra) == 4
    assert s.read_as == ("processed" if fmt == "bruker-processed" else "raw")
    assert list(s.temperatures_K) == [263.0, 263.0, 303.0, 303.0]
    assert list(s.table["mixing_time_s"]) == pytest.approx([0.01, 0.2, 0.01, 0.2])
    for sp, row in zip(s.spectra, s.table.itertuples(), strict=True):
        assert sp.source == row.experiment
        vols = _box_volumes(sp, SEPARATED)
        expected = truth[truth["experiment"] == row.experiment]
        assert len(expected) == 4
        for r in expected.itertuples():
            got = vols[(r.from_site, r.to_site)]
            assert got == pytest.approx(r.volume, rel=0.01, abs=2e-4), (row.experiment, r)
    assert _checksums(folder) == before  # input folders are never written


def test_table_columns_and_relative_experiments(made):
    folder, _ = made["varian"]
    table = experiment_table(["varian/*.fid"], folder.parent)
    assert list(table.columns[:14]) == series._TABLE_COLUMNS
    assert list(table["experiment"]) == ["varian/exsy_263K.fid[1]", "varian/exsy_263K.fid[2]",
                                         "varian/exsy_303K.fid[1]", "varian/exsy_303K.fid[2]"]
    assert set(table["format"]) == {"varian"}
    assert list(table["temperature_source"]) == ["set value, uncalibrated (file temp)"] * 4
    assert list(table["size"]) == ["32x128"] * 4
    assert not table["has_processed"].any() and table["has_raw"].all()


def test_stray_files_are_skipped_but_empty_patterns_refused(made, tmp_path):
    folder, _ = made["bruker-processed"]
    copy = tmp_path / "s"
    shutil.copytree(folder, copy)
    (copy / "notes.txt").write_text("x")
    (copy / "figures").mkdir()
    table = experiment_table(["s/*"], tmp_path)
    assert list(table["experiment"]) == ["s/10", "s/11", "s/12", "s/13"]
    with pytest.raises(SeriesError, match=r"'s/9\*' matches no file or folder"):
        experiment_table(["s/9*"], tmp_path)
    with pytest.raises(SeriesError, match=r"'s/notes.txt' is a file"):
        experiment_table(["s/notes.txt"], tmp_path)
    with pytest.raises(DataFormatError, match=r"s/figures: not a Bruker or Varian experiment"):
        experiment_table(["s/figures"], tmp_path)


def test_calibration_slope_offset_and_per_experiment(made):
    folder, _ = made["bruker-processed"]
    cal = {"slope": 1.02, "offset_K": 3.0, "sigma_K": 1.5,
           "per_experiment": {"11": 290.0}}
    t = experiment_table(["*"], folder, temperature_calibration=cal)
    assert list(t["set_temperature_K"]) == [263.0, 263.0, 303.0, 303.0]
    assert list(t["temperature_K"]) == pytest.approx([1.02 * 263 + 3, 290.0,
                                                      1.02 * 303 + 3, 1.02 * 303 + 3])
    assert list(t["temperature_source"]) == ["calibration slope/offset", "per-experiment value",
                                             "calibration slope/offset",
                                             "calibration slope/offset"]
    assert list(t["temperature_sigma_K"]) == [1.5] * 4
    plain = experiment_table(["*"], folder)
    assert list(plain["temperature_source"]) == ["set value, uncalibrated (file TE)"] * 4


def test_calibration_errors_name_the_key(made):
    folder, _ = made["bruker-processed"]
    with pytest.raises(ConfigError, match=r"\[temperature.slop\]: unknown key \(did you mean "
                                          r"'slope'\?\)"):
        experiment_table(["*"], folder, temperature_calibration={"slop": 1.0})
    with pytest.raises(ConfigError, match=r"\[temperature.sigma_K\]: found -1; expected a number "
                                          r"in \[0, 100\]"):
        experiment_table(["*"], folder, temperature_calibration={"sigma_K": -1})
    with pytest.raises(ConfigError, match=r"per_experiment: '12x' is not an experiment of the "
                                          r"series \(did you mean '12'\?\)"):
        experiment_table(["*"], folder, temperature_calibration={"per_experiment": {"12x": 300}})


def test_grouping_within_tolerance(made):
    # groups start at their coldest member: 301.5 is 2.3 K above 299.2, so it starts a group
    groups, means = group_temperatures([300.0, 301.5, 310.0, 299.2, 311.0], 2.0)
    assert list(groups) == [0, 1, 2, 0, 2]
    assert means == pytest.approx([299.6, 301.5, 310.5, 299.6, 310.5])
    folder, _ = made["bruker-processed"]
    cal = {"per_experiment": {"10": 262.0, "11": 263.5, "12": 302.2, "13": 303.4}}
    s = _quiet(read_series, ["*"], folder, temperature_calibration=cal)
    assert list(s.table["temperature_group"]) == [0, 0, 1, 1]
    assert s.temperatures_K == pytest.approx([262.75, 262.75, 302.8, 302.8])
    with pytest.raises(SeriesError, match=r"same temperature .* and mixing time"):
        _quiet(read_series, ["*"], folder, temperature_calibration=cal,
               temperature_tolerance_K=50.0)


def test_duplicates_refused_unless_replicates_allowed(made, tmp_path):
    folder, _ = made["bruker-processed"]
    shutil.copytree(folder / "10", tmp_path / "10")
    shutil.copytree(folder / "10", tmp_path / "20")
    with pytest.raises(SeriesError, match=r"10 and 20 have the same temperature \(263.0 K\) "
                                          r"and mixing time \(0.01 s\)"):
        read_series(["*"], tmp_path)
    s = read_series(["*"], tmp_path, replicates_allowed=True)
    assert len(s.spectra) == 2


def test_single_spectrum_and_mixed_nuclei_refused(made, tmp_path):
    folder, _ = made["bruker-processed"]
    with pytest.raises(SeriesError, match=r"at least 2 spectra; found 1 \(10\)"):
        read_series(["10"], folder)
    other = replace(SEPARATED, nucleus="6Li", sf_mhz=58.9)
    _quiet(sim.simulate_series, tmp_path / "li6", other, [263.0], [0.05], seed=1,
           acquisition=SMALL, first_expno=50)
    shutil.copytree(folder / "10", tmp_path / "li6" / "10")
    with pytest.raises(SeriesError, match=r"mixes nuclei \(6Li: li6/50; 7Li: li6/10\)"):
        read_series(["li6/*"], tmp_path)


def test_never_mix_processed_and_raw(made, tmp_path):
    proc, _ = made["bruker-processed"]
    raw, _ = made["bruker-raw"]
    shutil.copytree(proc / "10", tmp_path / "10")  # processed only (no ser)
    shutil.copytree(raw / "13", tmp_path / "13")  # raw only
    with pytest.raises(SeriesError, match=r"no raw data: 10 \(looked for \S+/10/pdata/1/2rr "
                                          r"and \S+/10/ser\); check \[data\] procno"):
        _quiet(read_series, ["*"], tmp_path)
    # a wrong procno: neither experiment has pdata/2/2rr, and 10 has no ser either
    with pytest.raises(SeriesError, match=r"10 \(looked for \S+/10/pdata/2/2rr"):
        _quiet(read_series, ["*"], tmp_path, procno=2)
    # raw data for both, a 2rr for one only: everything is processed from raw
    shutil.rmtree(tmp_path / "10")
    shutil.copytree(raw / "10", tmp_path / "10")
    shutil.copytree(proc / "10" / "pdata", tmp_path / "10" / "pdata", dirs_exist_ok=True)
    with pytest.warns(UserWarning, match="processed from its raw data"):
        s = read_series(["*"], tmp_path, options=QSINE)
    assert s.read_as == "raw" and set(s.table["read_as"]) == {"raw"}
    assert len(s.notes) == 1 and "1 of 2 experiments have no processed spectrum" in s.notes[0]


def test_1d_refused_in_series():
    folder = REAL / "nmrpy-varian-31p-1d"
    if not folder.is_dir():
        pytest.skip(f"real test data {folder} not present")
    with pytest.raises(SeriesError, match=r"test2.fid: is a 1D experiment \(ni = 1\)"):
        experiment_table(["*.fid"], folder)


def test_missing_temperature_needs_per_experiment_value(tmp_path):
    folder = REAL / "ssnake-87rb-satrec-varian"
    if not folder.is_dir():
        pytest.skip(f"real test data {folder} not present")
    import pandas as pd

    table = pd.DataFrame({"experiment": ["satrec2D.fid"], "format": ["varian"],
                          "set_temperature_K": [None], "folder": [str(folder / "satrec2D.fid")],
                          "element": [None]})
    with pytest.raises(SeriesError, match=r"satrec2D.fid: the file holds no temperature"):
        calibrate_temperatures(table, None, folder)
    done = calibrate_temperatures(table, {"per_experiment": {"satrec2D.fid": 301.0}}, folder)
    assert done["temperature_K"].iloc[0] == 301.0


def test_check_sites_names_site_and_window(made):
    folder, _ = made["bruker-processed"]
    s = _quiet(read_series, ["*"], folder)
    check_sites(s, {"A": -2.0, "B": 6.0})
    with pytest.raises(SeriesError, match=r"site C at 30 ppm lies outside the F2 window"):
        check_sites(s, {"A": -2.0, "C": 30.0})
    with pytest.raises(SeriesError, match=r"site C at 19 ppm lies outside the F1 window"):
        check_sites(s, {"C": 19.0})


def test_progress_callback(made):
    folder, _ = made["varian"]
    calls = []
    read_series(["*.fid"], folder, options=QSINE,
                progress=lambda done, total, exp: calls.append((done, total, exp)))
    assert calls == [(1, 2, "exsy_263K.fid[1]"), (2, 2, "exsy_303K.fid[1]")]
