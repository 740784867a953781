"""Configuration validation: every problem named by its key, all reported at once."""

from __future__ import annotations

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
    from exsyfit.pipeline import _shift_overrides

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
