"""TopSpin peak lists (peaklist.xml) as peak tables, with facts from their experiment."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import replace

import pytest

from exsyfit.config import config_from_dict
from exsyfit.errors import ConfigError
from exsyfit.io.peaklists import PeakListError, read_peak_list
from exsyfit.simulate import series as sim
from exsyfit.workflow.pipeline import load_volumes, peak_table_volumes

_BASE = sim.example_truth("argyrodite_li2s", noise_rms=0.0, t1_noise=0.0)
TRUTH = replace(_BASE, sites=(replace(_BASE.sites[0], ppm=-2.0, sidebands=()),
                              replace(_BASE.sites[1], ppm=6.0)))
SMALL = sim.Acquisition(n_f1=64, n_f2=128, sw_ppm_f2=40.0, carrier_ppm=2.0)
TEMPS = (300.0, 330.0)
MIXING = (0.01, 0.1)

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<PeakList modified="2026-01-01T00:00:00">
  <PeakList2D>
    <PeakList2DHeader creator="user" date="2026-01-01T00:00:00" expNo="10" name="exsy"
                      owner="user" procNo="1" source="/data">
      <PeakPickDetails>
      </PeakPickDetails>
    </PeakList2DHeader>
"""


def _peaklist(peaks: list[tuple[float, float, float, str]]) -> str:
    body = "".join(f'    <Peak2D F1="{f1}" F2="{f2}" annotation="{label}" '
                   f'intensity="{h}" type="0"/>\n' for f1, f2, h, label in peaks)
    return HEADER + body + "  </PeakList2D>\n</PeakList>\n"


def test_reader_takes_positions_heights_labels_and_lines(tmp_path):
    path = tmp_path / "peaklist.xml"
    path.write_text(_peaklist([(1.3, 1.31, 1256.0, ""), (2.3, 1.3, 12.5, "BA")]))
    table = read_peak_list(path)
    assert list(table.label) == ["#1", "BA"]
    assert list(table.f1_ppm) == [1.3, 2.3] and list(table.f2_ppm) == [1.31, 1.3]
    assert list(table.height) == [1256.0, 12.5]
    assert table.volume.isna().all() and table.sigma.isna().all()
    assert list(table.line) == [9, 10]  # the lines of the two Peak2D elements


@pytest.mark.parametrize(("text", "message"), [
    ("<PeakList><PeakList1D><Peak1D F1='1' intensity='3'/></PeakList1D></PeakList>",
     r"a 1D peak list \(Peak1D\); expected a TopSpin 2D peak list"),
    ("<?xml version='1.0'?>\n<PeakList>\n<PeakList2D>\n<Peak2D F1='1' F2='2' intensity='3'>\n"
     "</PeakList>", r"line 5: not well-formed XML"),
    ("<PeakList><PeakList2D>\n<Peak2D F1='x' F2='2' intensity='3'/></PeakList2D></PeakList>",
     r"line 2, column 'F1': found 'x'; expected a number"),
    ("<PeakList><PeakList2D>\n<Peak2D F1='1' F2='2'/></PeakList2D></PeakList>",
     r"line 2: a Peak2D without 'intensity'"),
    ("<PeakList><PeakList2D></PeakList2D></PeakList>", r"no Peak2D element"),
])
def test_reader_errors_name_the_file_and_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "peaklist.xml"
    path.write_text(text)
    with pytest.raises(PeakListError, match=message):
        read_peak_list(path)


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    """A simulated Bruker series with a peaklist.xml in every pdata/1 (heights 100 + k)."""
    d = tmp_path_factory.mktemp("topspin_peaklists")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.simulate_series(d, TRUTH, list(TEMPS), list(MIXING), seed=1, acquisition=SMALL)
    for k, expno in enumerate(sorted(p for p in d.iterdir() if p.is_dir())):
        peaks = [(-2.0, -2.0, 1000.0 + k, "AA"), (-2.0, 6.0, 100.0 + k, "AB"),
                 (6.0, -2.0, 90.0 + k, "BA"), (6.0, 6.0, 500.0 + k, "BB")]
        (expno / "pdata" / "1" / "peaklist.xml").write_text(_peaklist(peaks))
    return d


def _config(folder, **extra):
    raw = {"data": {"peak_tables": ["*/pdata/1/peaklist.xml"], "peak_sigma": "2%"},
           "temperature": {"slope": 1.02, "offset_K": 3.0},
           "sites": {"A": {"ppm": -2.0}, "B": {"ppm": 6.0}},
           "model": {"temperature_model": "arrhenius", "exchange": ["A<->B"]}}
    for section, values in extra.items():
        raw.setdefault(section, {}).update(values)
    return config_from_dict(raw, folder / "config.toml")


def test_mixing_time_temperature_and_scale_come_from_the_experiment(experiments):
    with pytest.warns(UserWarning, match="no volumes, peak heights used"):
        table = peak_table_volumes(_config(experiments))
    scale = 1.0 / (SMALL.ns * SMALL.rg)
    expected_t = [1.02 * t + 3.0 for t in TEMPS for _ in MIXING]
    per_file = table.groupby("experiment", sort=False).first()
    assert list(per_file.index) == [f"{n}/pdata/1/peaklist.xml" for n in (10, 11, 12, 13)]
    assert list(per_file.mixing_time_s) == pytest.approx([t for _ in TEMPS for t in MIXING])
    assert list(per_file.temperature_K) == pytest.approx(expected_t)
    ab = table[(table.from_site == "A") & (table.to_site == "B")]
    assert list(ab.volume) == pytest.approx([(100.0 + k) * scale for k in range(4)])
    first = table[table.experiment == "10/pdata/1/peaklist.xml"]
    # "2%" of the file's largest height (1000), then on the same scale as the heights
    assert list(first.sigma) == pytest.approx([0.02 * 1000.0 * scale] * 4)


def test_config_values_win_over_the_experiment(experiments):
    config = _config(experiments, data={"mixing_time": {"11/pdata/1/peaklist.xml": 0.5},
                                        "normalise_intensity": False},
                     temperature={"per_experiment": {"10/pdata/1/peaklist.xml": 250.0}})
    with pytest.warns(UserWarning):
        table = peak_table_volumes(config)
    per_file = table.groupby("experiment", sort=False).first()
    assert list(per_file.mixing_time_s) == pytest.approx([0.01, 0.5, 0.01, 0.1])
    assert per_file.temperature_K.iloc[0] == 250.0
    assert per_file.temperature_K.iloc[1] == pytest.approx(1.02 * 300.0 + 3.0)
    ab = table[(table.from_site == "A") & (table.to_site == "B")]
    assert list(ab.volume) == [100.0, 101.0, 102.0, 103.0]  # heights as written


def test_a_peaklist_outside_an_experiment_needs_the_config_values(tmp_path):
    (tmp_path / "peaklist.xml").write_text(_peaklist([(-2.0, -2.0, 1.0, "AA")]))
    raw = {"data": {"peak_tables": ["peaklist.xml"], "peak_sigma": "2%"},
           "sites": {"A": {"ppm": -2.0}, "B": {"ppm": 6.0}}}
    with pytest.raises(ConfigError, match=r"\[data\] mixing_time: found 'auto'; expected a "
                                          r"table peak-table file -> a mixing time.*'peaklist"
                                          r".xml' is not a TopSpin peaklist.xml in an "
                                          r"experiment"):
        peak_table_volumes(config_from_dict(raw, tmp_path / "config.toml"))


def test_check_command_lists_the_peak_tables(experiments):
    (experiments / "config.toml").write_text(
        '[data]\npeak_tables = ["*/pdata/1/peaklist.xml"]\npeak_sigma = "2%"\n'
        '[temperature]\nslope = 1.02\noffset_K = 3.0\n'
        '[sites.A]\nppm = -2.0\n[sites.B]\nppm = 6.0\n'
        '[model]\ntemperature_model = "arrhenius"\nexchange = ["A<->B"]\n')
    run = subprocess.run([sys.executable, "-m", "exsyfit", "check", "config.toml"],
                         cwd=experiments, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "16 volumes" in run.stdout
    assert "309.0" in run.stdout and "339.6" in run.stdout  # 1.02 T + 3 for 300 and 330 K


def test_exclude_names_a_peaklist_by_its_experiment(experiments):
    config = _config(experiments, data={"exclude": ["11"]})
    with pytest.warns(UserWarning):
        table = load_volumes(config, experiments / "unused.csv")
    assert sorted(set(table.experiment)) == [f"{n}/pdata/1/peaklist.xml" for n in (10, 12, 13)]
    everything = _config(experiments, data={"exclude": ["10", "11", "12", "13"]})
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match="leaves no experiment"):
        load_volumes(everything, experiments / "unused.csv")
