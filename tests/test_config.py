"""Configuration validation: every problem named by its key, all reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from exsyfit.config import GaussianPrior, config_from_dict, load_config
from exsyfit.errors import ConfigError


def minimal(**extra):
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.6}}}
    raw.update(extra)
    return raw


def test_minimal_config_defaults(tmp_path):
    cfg = config_from_dict(minimal(), tmp_path / "c.toml")
    assert cfg.site_names == ("A", "B")
    assert cfg.model.temperature_model == "arrhenius"
    assert cfg.model.exchange == ((0, 1),)
    assert cfg.data.volumes == tmp_path / "v.csv"
    assert cfg.sampler.seed == 1 and cfg.sampler.steps is None


def test_load_config_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\npaths = ["spectra/*"]\n[sites.Li6PS5Cl]\nppm = 1.3\n'
                    '[sites.Li2S]\nppm = 2.3\nT1_s = {mean = 3.0, sd = 0.5}\n'
                    '[model]\ntemperature_model = "free"\nexchange = ["Li6PS5Cl<->Li2S"]\n')
    cfg = load_config(path)
    assert cfg.data.paths == ("spectra/*",)
    assert cfg.sites[1].T1_s == GaussianPrior(3.0, 0.5)
    assert cfg.pair_names() == ["Li6PS5Cl<->Li2S"]


def test_unknown_key_suggests_nearest():
    with pytest.raises(ConfigError, match=r"\[model.temperture_model\].*did you mean "
                                          r"'temperature_model'"):
        config_from_dict(minimal(model={"temperture_model": "free"}))


def test_every_problem_reported_at_once():
    raw = minimal(model={"temperature_model": "linear", "exchange": ["A<->C"]},
                  sampler={"walkers": 2, "sead": 3})
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    text = str(info.value)
    assert "4 problems" in text
    for key in ("[model.temperature_model]", "[model.exchange]", "[sampler.walkers]",
                "[sampler.sead]"):
        assert key in text
    assert "'linear'" in text and "'free' or 'arrhenius' or 'eyring'" in text


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}}}, r"\[sites\].*two"),
        ({"data": {}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}}},
         r"\[data\].*paths.*volumes"),
        (minimal(sites={"A": {"ppm": "one"}, "B": {"ppm": 2.0}}), r"\[sites.A.ppm\]"),
        (minimal(sites={"A": {"ppm": 1.0, "population": 1.5}, "B": {"ppm": 2.0}}),
         r"\[sites.A.population\]: found 1.5"),
        (minimal(priors={"k_ex_per_s": [10, 1]}), r"\[priors.k_ex_per_s\]"),
        (minimal(model={"start": "given"}), r"\[sites.A.start_magnetisation\]"),
        (minimal(bogus={}), r"\[bogus\]: unknown key"),
    ],
)
def test_invalid_values_name_their_key(raw, pattern):
    with pytest.raises(ConfigError, match=pattern):
        config_from_dict(raw)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\npaths = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_config(bad)


def test_temperature_dependent_shifts(tmp_path):
    from exsyfit.errors import ConfigError as Err
    from exsyfit.workflow.pipeline import _shift_overrides

    raw = minimal(sites={"A": {"ppm": 1.0},
                         "V2O5": {"ppm": 20.0, "ppm_by_temperature": {"263": 24.0, "303": 21.5}}})
    cfg = config_from_dict(raw, tmp_path / "c.toml")
    assert cfg.sites[1].ppm_by_temperature == {263.0: 24.0, 303.0: 21.5}
    overrides = _shift_overrides(cfg, [263.4, 263.4, 303.1, 343.0])
    assert overrides == {263.4: {"V2O5": 24.0}, 303.1: {"V2O5": 21.5}}
    with pytest.raises(Err, match=r"\[sites.V2O5.ppm_by_temperature\]: found a shift for 263 K"):
        _shift_overrides(cfg, [303.0, 343.0])
    with pytest.raises(Err, match=r"\[sites.A.ppm_by_temperature.warm\]"):
        config_from_dict(minimal(sites={"A": {"ppm": 1.0, "ppm_by_temperature": {"warm": 2}},
                                        "B": {"ppm": 2.0}}))
    # "263" and "263.0" name one temperature: refused, not one silently replacing the other
    with pytest.raises(Err, match=r"263 K given twice"):
        config_from_dict(minimal(sites={
            "A": {"ppm": 1.0, "T1_s_by_temperature": {"263": 0.4, "263.0": 0.5}},
            "B": {"ppm": 2.0}}))


# ---------------------------------------------------------------- typed options, built once
def test_config_holds_the_typed_options_of_every_stage(tmp_path):
    from exsyfit.config import ReportOptions
    from exsyfit.integrate.options import IntegrationOptions
    from exsyfit.output.style import PlotStyle
    from exsyfit.processing.transforms import ProcessingOptions

    cfg = config_from_dict(minimal(processing={"f2": {"window": "EM", "lb_hz": 20}},
                                   integration={"method": "Box", "sidebands": True},
                                   plots={"width": "double", "dpi": 150},
                                   report={"alternatives": ["free"], "title": "LPSC"}),
                           tmp_path / "c.toml")
    assert isinstance(cfg.processing, ProcessingOptions)
    assert (cfg.processing.window_f2, cfg.processing.lb_hz_f2) == ("em", 20.0)
    assert isinstance(cfg.integration, IntegrationOptions)
    assert cfg.integration.method == "box" and cfg.integration.sidebands is True
    assert isinstance(cfg.plots, PlotStyle) and cfg.plots.width_in == pytest.approx(7.0)
    assert cfg.report == ReportOptions(alternatives=("free",), title="LPSC")
    assert cfg.raw["integration"] == {"method": "Box", "sidebands": True}  # provenance
    defaults = config_from_dict(minimal())
    assert defaults.processing == ProcessingOptions()
    assert defaults.integration == IntegrationOptions() and defaults.plots == PlotStyle()
    assert defaults.report.alternatives is None and defaults.report.compare_models is True


def test_problems_of_every_table_are_listed_in_one_format():
    raw = minimal(processing={"f1": {"sizee": 3}}, integration={"eta": 2},
                  plots={"dpi": 3}, report={"title": 5}, temperature={"slope": -1},
                  data={"volumes": "v.csv", "procno": 0})
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    lines = str(info.value).splitlines()
    assert lines[0] == "config: 6 problems:"
    assert sorted(line.split("]")[0].strip() + "]" for line in lines[1:]) == [
        "[data.procno]", "[integration.eta]", "[plots.dpi]", "[processing.f1.sizee]",
        "[report.title]", "[temperature.slope]"]
    assert "  [temperature.slope]: found -1; expected a number in (0, 10]" in lines
    assert "  [report.title]: found 5; expected a string" in lines


def test_input_folders_are_the_fixed_part_of_the_data_paths(tmp_path):
    raw = minimal(data={"paths": ["spectra/2024/*", "/abs/run1", "../elsewhere/*/pdata",
                                  "*", "."]})
    cfg = config_from_dict(raw, tmp_path / "proj" / "c.toml")
    assert cfg.input_folders() == [(tmp_path / "proj" / "spectra" / "2024").resolve(),
                                   Path("/abs/run1"), (tmp_path / "elsewhere").resolve()]


# ---------------------------------------------------------------- the option-table validator
def test_option_rules_drive_validation_messages_and_help():
    from dataclasses import dataclass

    from exsyfit.settings import describe_table, format_value, option, parse_table

    @dataclass(frozen=True)
    class Opts:
        size: int = option(8, low=8, high=65536, help="points")
        lb_hz: float | None = option(None, kind="float", low=0, null_words=("file",),
                                     help="line broadening, Hz")
        mode: str = option("auto", choices=("auto", "box"), help="estimator")
        flag: bool = option(False, help="a switch")

    assert parse_table(Opts, {"size": 16, "lb_hz": "file", "mode": "BOX"}, "t") == \
        Opts(16, None, "box", False)
    with pytest.raises(ConfigError) as info:
        parse_table(Opts, {"size": 8.5, "lb_hz": -1, "mode": "ellipse", "flg": 1}, "t")
    assert str(info.value).splitlines() == [
        "4 problems:",
        "  [t.size]: found 8.5; expected an integer in [8, 65536]",
        "  [t.lb_hz]: found -1; expected a number >= 0 (or 'file')",
        "  [t.mode]: found 'ellipse'; expected 'auto' or 'box'",
        "  [t.flg]: unknown key (did you mean 'flag'?); valid keys here: size, lb_hz, mode, "
        "flag",
    ]
    rows = describe_table(Opts, "t")
    assert rows[0] == ("t.size", "8", "points; an integer in [8, 65536]")
    assert rows[1] == ("t.lb_hz", "not set", "line broadening, Hz; a number >= 0 (or 'file')")
    import numpy as np

    assert format_value(np.float64("nan")) == "nan" and format_value(np.int64(3)) == "3"
    assert format_value([1e300, True, "x"]) == "[1e+300, true, 'x']"


def test_info_prints_user_help_generated_from_the_fields():
    from exsyfit.info import describe

    text = describe("all")
    for developer_word in (":class:", ":func:", "picklable", "numpy pass", "``"):
        assert developer_word not in text
    assert "  data.procno = 1\n      Bruker processing number to read; an integer in " \
        "[1, 99999]" in text
    assert "  temperature.sigma_K = 0.0" in text and "  integration.method = 'auto'" in text
    assert "  processing.window_f2 (not set)" in text and "  plots.dpi = 300" in text
    assert "Temperature laws" in describe("models") and "[data]" not in describe("models")
