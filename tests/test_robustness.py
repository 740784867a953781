"""Robustness: the result re-derived under alternative choices, and its systematic spread."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from exsyfit.config import load_config
from exsyfit.fit.results import FitResult
from exsyfit.simulate.series import Acquisition, simulate_series
from exsyfit.simulate.truth import example_truth
from exsyfit.workflow.pipeline import run
from exsyfit.workflow.robustness import Plan, Variant, _half_range, plan, summarise, variant_config

CONFIG = """\
[data]
paths = ["series/*"]

[sites.argyrodite]
ppm = 1.3

[sites.Li2S]
ppm = 2.3

[integration]
sidebands = true

[sampler]
seed = 2
steps = 400

[plots]
formats = ["png"]
dpi = 50

[report]
compare_models = false
matrix_log = false
robustness = {robust}
"""


@pytest.fixture(scope="module")
def series_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_series(folder / "series", example_truth("argyrodite_li2s"),
                        [263.0, 303.0, 343.0], [0.01, 0.05, 0.2, 1.0], seed=5,
                        acquisition=Acquisition(n_f1=64, n_f2=256))
    return folder


@pytest.fixture(scope="module")
def robust_run(series_folder):
    (series_folder / "config.toml").write_text(CONFIG.format(robust="true"))
    out = series_folder / "results"
    done = run(load_config(series_folder / "config.toml"), out, workers=1)
    return out, done


def test_robustness_block_is_present_and_sensible(robust_run):
    out, done = robust_run
    summary = json.loads((out / "summary.json").read_text())
    block = summary["robustness"]
    names = [v["name"] for v in block["variants"]]
    # line shapes chosen for peaks 1 ppm apart: the window, the baseline and the start vary;
    # box integration (biased here) and the raw route (no ser) are named as left out
    assert names == ["regions_-30%", "regions_+30%", "baseline", "start"]
    assert {s["name"] for s in block["skipped"]} == {"route", "box"}
    default = block["default"]
    assert default["Ea_eV_median"] == pytest.approx(summary["Ea_eV"]["median"])
    every = [default, *block["variants"]]
    eas = [v["Ea_eV_median"] for v in every]
    assert block["Ea_eV_systematic"] == pytest.approx(0.5 * (max(eas) - min(eas)))
    # defensible choices move Ea far less than the truth's scale, and the analysis stays near
    # the simulated truth (0.30 eV)
    assert 0 < block["Ea_eV_systematic"] < 0.02
    assert all(abs(e - 0.30) < 0.03 for e in eas)
    assert len(block["k_ex_systematic_fraction"]) == 3
    for t, frac in enumerate(block["k_ex_systematic_fraction"]):
        ks = [v["k_ex_per_s_median"][t] for v in every]
        assert frac == pytest.approx(0.5 * (max(ks) - min(ks)) / ks[0])
        assert 0 < frac < 0.15
    for v in block["variants"]:
        assert v["what"] and v["steps"] <= 4000
    assert done["robustness"] == block


def test_robustness_switch_turns_it_off(series_folder):
    (series_folder / "config_off.toml").write_text(CONFIG.format(robust="false"))
    out = series_folder / "results_off"
    run(load_config(series_folder / "config_off.toml"), out, workers=1)
    summary = json.loads((out / "summary.json").read_text())
    assert "robustness" not in summary


def test_volume_table_varies_only_the_start(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[data]\nvolumes = "v.csv"\n[sites.A]\nppm = 1\n[sites.B]\nppm = 2\n'
        '[model]\nstart = "fitted"\n')
    the_plan = plan(load_config(tmp_path / "config.toml"))
    assert [v.name for v in the_plan.variants] == ["start"]
    assert the_plan.variants[0].model == {"start": "equilibrium"}


def test_variants_sample_shorter_fits(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[data]\nvolumes = "v.csv"\n[sites.A]\nppm = 1\n[sites.B]\nppm = 2\n'
        '[sampler]\nmax_steps = 30000\n')
    cfg = variant_config(load_config(tmp_path / "config.toml"),
                         Variant("start", "x", model={"start": "fitted"}))
    assert cfg.model.start == "fitted"
    assert cfg.sampler.steps == 1000 and cfg.sampler.tau_multiple == 20
    longer = variant_config(load_config(tmp_path / "config.toml"), Variant("x", "x"), None)
    assert longer.sampler.steps is None and longer.sampler.max_steps == 4000


def test_half_range_keyed_by_pair():
    assert _half_range([0.30, 0.32, 0.29]) == pytest.approx(0.015)
    got = _half_range([{"A<->B": 0.3, "B<->C": 0.2}, {"A<->B": 0.34, "B<->C": 0.2}, None])
    assert got == pytest.approx({"A<->B": 0.02, "B<->C": 0.0})


def test_summary_aligns_temperatures_and_reports_failures(robust_run):
    out, done = robust_run
    main = done["results"]["main"]
    assert isinstance(main, FitResult)
    temps = [float(t) for t in main.temperatures_K]
    fake = {"robust:a": {"name": "a", "what": "A", "Ea_eV_median": 0.31,
                         "temperatures_K": temps[::-1],
                         "k_ex_per_s_median": [10.0, 20.0, 30.0]},
            "robust:b": {"name": "b", "what": "B", "error": "no peaks"}}
    block = summarise(main, Plan([Variant("a", "A"), Variant("b", "B")], []), fake)
    assert [v["name"] for v in block["variants"]] == ["a"]
    assert block["variants"][0]["k_ex_per_s_median"] == [30.0, 20.0, 10.0]  # by temperature
    assert {"name": "b", "why": "no peaks"} in block["skipped"]
    assert np.isfinite(block["Ea_eV_systematic"])
