"""Peak tables of other programs (NMRPipe .tab, Sparky lists) as input of the fit."""

from __future__ import annotations

import json
import warnings

import nmrglue
import numpy as np
import pandas as pd
import pytest

from exsyfit.config import load_config
from exsyfit.errors import ConfigError, VolumeTableError
from exsyfit.integrate.peaktables import LORENTZ_FACTOR, peak_tables_to_volumes
from exsyfit.io.peaklists import PeakListError, read_nmrpipe_table, read_sparky_list
from exsyfit.workflow.pipeline import fit, load_volumes, volume_table_path

from conftest import c8_volume_table

SITES = {"A": 1.3, "B": 2.3}
TEMPS = (263.0, 303.0)
MIXING = (0.01, 0.05, 0.2)
KEY = ["experiment", "from_site", "to_site"]


def _truth() -> pd.DataFrame:
    """The two-site, 2-temperature x 3-mixing-time volume table the files are written from."""
    t = c8_volume_table(temperatures_K=TEMPS, mixing_times_s=MIXING, seed=3)
    t["experiment"] = [f"T{T:g}_tm{tm:g}.tab" for T, tm in zip(t.temperature_K,
                                                                t.mixing_time_s, strict=True)]
    return t


def _peaks(rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Peak positions within 0.05 ppm of the sites, in a shuffled order."""
    rows = rows.sample(frac=1.0, random_state=int(rng.integers(1000))).reset_index(drop=True)
    rows["f1"] = rows.from_site.map(SITES) + rng.uniform(-0.05, 0.05, len(rows))
    rows["f2"] = rows.to_site.map(SITES) + rng.uniform(-0.05, 0.05, len(rows))
    return rows


def _write_pipe(folder, truth: pd.DataFrame) -> None:
    """NMRPipe tables written by nmrglue's own writer, one per spectrum."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, rows in truth.groupby("experiment"):
        rows = _peaks(rows, rng)
        rec = np.rec.fromarrays(
            [np.arange(1, len(rows) + 1), rows.f2, rows.f1, rows.volume, rows.sigma,
             rows.volume / 3.0, [f"{a}{b}".encode() for a, b in zip(rows.from_site,
                                                                    rows.to_site, strict=True)]],
            names=["INDEX", "X_PPM", "Y_PPM", "VOL", "DVOL", "HEIGHT", "ASS"])
        nmrglue.pipe.write_table(str(folder / name), ["REMARK exsy peaks\n"],
                                 ["%5d", "%9.4f", "%9.4f", "%.15e", "%.15e", "%.15e", "%s"],
                                 rec)


SPARKY_HEADER = ("      Assignment         w1         w2   Data Height   lw1 (hz)   "
                 "lw2 (hz)\n\n")


def _write_sparky_heights(folder, truth: pd.DataFrame) -> None:
    """Sparky lists of heights with line widths (the layout of Sparky's lt window)."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, rows in truth.groupby("experiment"):
        rows = _peaks(rows, rng)
        lw1 = rng.uniform(80, 400, len(rows))
        lw2 = rng.uniform(80, 400, len(rows))
        height = rows.volume.to_numpy() / (LORENTZ_FACTOR * lw1 * lw2)
        lines = [f"{a}-{b}".rjust(16) + f" {w1:10.4f} {w2:10.4f} {h:13.15e}"
                 f" {x:10.15g} {y:10.15g}\n"
                 for a, b, w1, w2, h, x, y in zip(rows.from_site, rows.to_site, rows.f1, rows.f2,
                                                  height, lw1, lw2, strict=True)]
        (folder / name.replace(".tab", ".list")).write_text(SPARKY_HEADER + "".join(lines))


def _config(folder, pattern: str, suffix: str = ".tab", extra: str = "") -> object:
    truth = _truth()
    names = truth.drop_duplicates("experiment")
    mixing = ", ".join(f'"{e.replace(".tab", suffix)}" = {tm}'
                       for e, tm in zip(names.experiment, names.mixing_time_s, strict=True))
    temps = ", ".join(f'"{e.replace(".tab", suffix)}" = {T}'
                      for e, T in zip(names.experiment, names.temperature_K, strict=True))
    (folder / "config.toml").write_text(f"""\
[data]
peak_tables = ["{pattern}"]
mixing_time = {{{mixing}}}
{extra}
[temperature]
per_experiment = {{{temps}}}

[sites.A]
ppm = 1.3

[sites.B]
ppm = 2.3

[sampler]
seed = 4
steps = 300

[report]
compare_models = false
matrix_log = false
""")
    return load_config(folder / "config.toml")


def _compare(table: pd.DataFrame, truth: pd.DataFrame, rtol: float) -> None:
    got = table.sort_values(KEY).reset_index(drop=True)
    want = truth.sort_values(KEY).reset_index(drop=True)
    assert list(got.experiment.map(lambda e: e.split("/")[-1])) == list(want.experiment)
    for column in ("from_site", "to_site"):
        assert list(got[column]) == list(want[column])
    for column in ("temperature_K", "mixing_time_s", "volume", "sigma"):
        np.testing.assert_allclose(got[column], want[column], rtol=rtol, atol=0)


# ---------------------------------------------------------------------- readers
def test_nmrpipe_table_written_by_nmrglue_is_read(tmp_path):
    truth = _truth()
    _write_pipe(tmp_path / "tabs", truth)
    peaks = read_nmrpipe_table(tmp_path / "tabs" / "T263_tm0.05.tab")
    assert len(peaks) == 4
    assert set(peaks.label) == {"AA", "AB", "BA", "BB"}
    row = peaks[peaks.label == "AB"].iloc[0]  # from A (F1 = Y) to B (F2 = X)
    assert abs(row.f1_ppm - 1.3) < 0.06 and abs(row.f2_ppm - 2.3) < 0.06
    want = truth[(truth.experiment == "T263_tm0.05.tab") & (truth.from_site == "A")
                 & (truth.to_site == "B")].volume.iloc[0]
    assert row.volume == pytest.approx(want, rel=1e-14)
    assert row.height == pytest.approx(want / 3.0, rel=1e-14)
    assert row.line == 4 + list(peaks.label).index("AB")  # VARS, FORMAT, REMARK first


def test_sparky_list_with_volume_and_method_code(tmp_path):
    path = tmp_path / "peaks.list"
    path.write_text("      Assignment         w1         w2   Data Height        Volume  \n\n"
                    "            A-A      1.301      1.298      2.01e+06      5.26e+07 ga\n"
                    "            A-B      1.305      2.302      4.20e+05      1.10e+07 lo\n")
    peaks = read_sparky_list(path)
    np.testing.assert_allclose(peaks.volume, [5.26e7, 1.10e7])
    np.testing.assert_allclose(peaks.height, [2.01e6, 4.20e5])
    np.testing.assert_allclose(peaks.f1_ppm, [1.301, 1.305])
    np.testing.assert_allclose(peaks.f2_ppm, [1.298, 2.302])
    assert list(peaks.line) == [3, 4]
    assert peaks.sigma.isna().all()


@pytest.mark.parametrize(("text", "pattern"), [
    ("      Assignment         w1         w2   Volume\n\n   A-A   1.3   abc   5.0\n",
     r"peaks.list: line 3, column 'w2': found 'abc'; expected a number"),
    ("      Assignment         w1         w2   Volume   Colour\n",
     r"line 1: unknown column title\(s\) 'Colour'"),
    ("      Assignment         w1         w2\n\n   A-A   1.3   1.3\n",
     r"neither 'Volume' nor 'Data Height'"),
    ("      Assignment         w1         w2   Volume\n   A-A   1.3   1.3\n",
     r"line 2: no value for column 'Volume'"),
])
def test_sparky_errors_name_file_line_and_column(tmp_path, text, pattern):
    path = tmp_path / "peaks.list"
    path.write_text(text)
    with pytest.raises(PeakListError, match=pattern):
        read_sparky_list(path)


def test_nmrpipe_errors_name_file_line_and_column(tmp_path):
    path = tmp_path / "bad.tab"
    path.write_text("VARS INDEX X_PPM Y_PPM VOL\nFORMAT %5d %9.3f %9.3f %e\n"
                    "1 1.3 1.3 1e5\n2 2.3 1.3 lots\n")
    with pytest.raises(PeakListError, match=r"bad.tab: line 4, column 'VOL': found 'lots'"):
        read_nmrpipe_table(path)
    path.write_text("VARS INDEX X_PPM Y_PPM\nFORMAT %5d %9.3f %9.3f\n1 1.3 1.3\n")
    with pytest.raises(PeakListError, match="neither VOL nor HEIGHT"):
        read_nmrpipe_table(path)


# ---------------------------------------------------------------------- conversion
def test_nmrpipe_tables_convert_to_the_exact_volume_table(tmp_path):
    truth = _truth()
    _write_pipe(tmp_path / "tabs", truth)
    config = _config(tmp_path, "tabs/*.tab")
    path = volume_table_path(config, tmp_path / "out")
    assert path == tmp_path / "out" / "volumes.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # volumes: no height warning
        table = load_volumes(config, path)
    assert len(table) == 24
    _compare(table, truth, rtol=1e-13)
    assert set(table.intensity) == {"volume"}
    written = pd.read_csv(path)
    _compare(written, truth, rtol=1e-9)


def test_sparky_heights_give_a_warning_and_the_lorentzian_volume(tmp_path):
    truth = _truth()
    _write_sparky_heights(tmp_path / "lists", truth)
    config = _config(tmp_path, "lists/*.list", suffix=".list", extra='peak_sigma = 0.002')
    with pytest.warns(UserWarning, match=r"no volumes, peak heights used.*\(pi/2\)\^2 x lw1"):
        table = load_volumes(config, volume_table_path(config, tmp_path / "out"))
    table["experiment"] = table.experiment.str.replace(".list", ".tab")
    _compare(table, truth, rtol=1e-12)


def test_heights_without_widths_warn_that_they_are_uncorrected(tmp_path):
    folder = tmp_path / "l"
    folder.mkdir()
    body = "".join(f"   {a}-{b}   {SITES[a]:.3f}   {SITES[b]:.3f}   {v:g}\n"
                   for (a, b), v in zip([("A", "A"), ("A", "B"), ("B", "A"), ("B", "B")],
                                        [10.0, 2.0, 2.0, 8.0], strict=True))
    (folder / "x.list").write_text("  Assignment  w1  w2  Data Height\n\n" + body)
    with pytest.warns(UserWarning, match="gives no line widths to correct them"):
        table = peak_tables_to_volumes(["l/x.list"], tmp_path, SITES, mixing_time=0.1,
                                       temperatures_K={"x.list": 300.0}, peak_sigma="5%")
    np.testing.assert_allclose(table.volume, [10.0, 2.0, 2.0, 8.0])
    np.testing.assert_allclose(table.sigma, 0.5)  # 5 % of the largest volume, 10


def _one_file(tmp_path, body: str, **kw):
    folder = tmp_path / "l"
    folder.mkdir(exist_ok=True)
    (folder / "x.list").write_text("  Assignment  w1  w2  Volume\n\n" + body)
    args = {"mixing_time": 0.1, "temperatures_K": {"x.list": 300.0}, "peak_sigma": 1.0} | kw
    return peak_tables_to_volumes(["l/x.list"], tmp_path, SITES, **args)


FOUR = "AA 1.3 1.3 10\nAB 1.3 2.3 2\nBA 2.3 1.3 2\nBB 2.3 2.3 8\n"


def test_ambiguous_peak_is_an_error_naming_it_and_both_distances(tmp_path):
    body = FOUR.replace("AB 1.3 2.3 2", "AB 1.3 1.85 2")
    with pytest.raises(VolumeTableError,
                       match=r"x.list: line 4: peak 'AB' at 1.85 ppm in F2 is ambiguous: "
                             r"0.45 ppm from site 'B' and 0.55 ppm from site 'A'"):
        _one_file(tmp_path, body, tolerance_ppm=0.6)


def test_far_peak_and_missing_pair_are_errors_naming_them(tmp_path):
    with pytest.raises(VolumeTableError, match=r"peak 'AB' at 3.1 ppm in F2 is 0.8 ppm from "
                                               r"the nearest site 'B'"):
        _one_file(tmp_path, FOUR.replace("AB 1.3 2.3 2", "AB 1.3 3.1 2"))
    with pytest.raises(VolumeTableError, match=r"x.list: no peak of the site pair A->B"):
        _one_file(tmp_path, FOUR.replace("AB 1.3 2.3 2\n", ""))
    with pytest.raises(VolumeTableError, match=r"peaks 'AB', 'A2'.*are all the peak A->B"):
        _one_file(tmp_path, FOUR + "A2 1.31 2.29 3\n")


def test_missing_mixing_time_temperature_or_sigma_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"\[data\] mixing_time: found 'auto'; expected a "
                                          r"table peak-table file -> a mixing time"):
        _one_file(tmp_path, FOUR, mixing_time="auto")
    with pytest.raises(ConfigError, match=r"\[temperature\] per_experiment: 'y.list' is not "
                                          r"an experiment of the series"):
        _one_file(tmp_path, FOUR, temperatures_K={"y.list": 300.0}, mixing_time={"x.list": 0.1})
    (tmp_path / "l" / "y.list").write_text("  Assignment  w1  w2  Volume\n\n" + FOUR)
    with pytest.raises(ConfigError, match=r"\[temperature\] per_experiment: no value for the "
                                          r"peak table 'l/y.list'"):
        peak_tables_to_volumes(["l/*.list"], tmp_path, SITES, mixing_time=0.1,
                               temperatures_K={"x.list": 300.0}, peak_sigma=1.0)
    with pytest.raises(ConfigError, match=r"\[data\] peak_sigma: not set and l/x.list gives no "
                                          r"uncertainty"):
        _one_file(tmp_path, FOUR, peak_sigma=None)


def test_config_refuses_peak_tables_beside_a_volume_table(tmp_path):
    (tmp_path / "c.toml").write_text('[data]\npeak_tables = ["*.tab"]\nvolumes = "v.csv"\n'
                                     'peak_sigma = "200%"\n[sites.A]\nppm = 1\n'
                                     '[sites.B]\nppm = 2\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.toml")
    assert "only one of data.paths, data.volumes and data.peak_tables" in str(info.value)
    assert "data.peak_sigma" in str(info.value)


# ---------------------------------------------------------------------- fit
def test_fit_on_peak_tables_equals_the_fit_on_the_volume_table(tmp_path):
    truth = _truth()
    _write_pipe(tmp_path / "tabs", truth)
    config = _config(tmp_path, "tabs/*.tab")
    from_tables = fit(config, tmp_path / "out", workers=1)["main"].summary_dict()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["Ea_eV"]
    truth.to_csv(tmp_path / "volumes.csv", index=False)
    text = (tmp_path / "config.toml").read_text()
    (tmp_path / "v.toml").write_text(text.replace('peak_tables = ["tabs/*.tab"]',
                                                  'volumes = "volumes.csv"'))
    from_csv = fit(load_config(tmp_path / "v.toml"), tmp_path / "out2",
                   workers=1)["main"].summary_dict()
    assert from_tables["n_volumes"] == from_csv["n_volumes"] == 24
    for a, b in zip(from_tables["temperatures"], from_csv["temperatures"], strict=True):
        ka, kb = a["k_ex_per_s"], b["k_ex_per_s"]  # equal up to the rounding of the files
        assert abs(ka["median"] - kb["median"]) < 1e-3 * (kb["q84"] - kb["q16"])


def test_cli_check_and_fit_read_peak_tables(tmp_path, capsys):
    from exsyfit.cli import main

    _write_pipe(tmp_path / "tabs", _truth())
    _config(tmp_path, "tabs/*.tab")
    assert main(["check", str(tmp_path / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert "volume table of data.peak_tables: 24 volumes" in out
    assert main(["fit", str(tmp_path / "config.toml"), "-o", str(tmp_path / "res"),
                 "--workers", "1"]) == 0
    assert json.loads((tmp_path / "res" / "summary.json").read_text())["n_volumes"] == 24
    (tmp_path / "tabs" / "T263_tm0.01.tab").unlink()
    assert main(["fit", str(tmp_path / "config.toml"), "-o", str(tmp_path / "res2")]) == 2
    assert "[data] mixing_time: 'T263_tm0.01.tab' is not an experiment" in capsys.readouterr().err


def test_exclude_and_temperature_sigma_apply_to_peak_tables(tmp_path):
    _write_pipe(tmp_path / "tabs", _truth())
    _config(tmp_path, "tabs/*.tab", extra='exclude = ["T263_tm0.01.tab"]')
    text = (tmp_path / "config.toml").read_text()
    (tmp_path / "config.toml").write_text(text.replace("[temperature]\n",
                                                       "[temperature]\nsigma_K = 1.5\n"))
    config = load_config(tmp_path / "config.toml")
    table = load_volumes(config, volume_table_path(config, tmp_path / "out"))
    assert len(table) == 20  # one spectrum of 4 peaks left out
    assert "tabs/T263_tm0.01.tab" not in set(table.experiment)
    np.testing.assert_allclose(table.temperature_sigma_K, 1.5)
