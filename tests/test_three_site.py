"""Three sites, two exchanging pairs: PEO:LiTFSI <-> LLZO <-> LiOH-like surface, no PEO <-> LiOH.

The truth is :func:`exsyfit.simulate.series.example_truth` ``("three_site")``.  Two routes:

* (a) the exact model volumes of the bundled design with Gaussian noise, fitted directly;
* (b) the bundled simulated spectra (``spectra/three_site_bruker_processed``) integrated and
  fitted through the command line, as a user would with ``examples/three_site/config.toml``.

Route (a) takes about 25 s, route (b) about 35 s (integration 8 s, sampling 20 s) on a loaded
two-core machine, so (b) is marked ``slow``.

Per-temperature checks allow one miss: there are 3 temperatures x 2 pairs = 6 rates, each
with a 95 % interval, so even a perfect sampler misses at least one of them for about one
noise realisation in four (1 - 0.95^6 = 0.26, less since the rates of a pair share an
Arrhenius law), but two or more misses only for about one in thirty.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exsyfit.cli import main
from exsyfit.config import config_from_dict
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.fit.results import FitResult
from exsyfit.fit.sampling import SamplerSettings, sample_posterior
from exsyfit.simulate import series as sim
from exsyfit.simulate.bundled import BUNDLED_THREE_SITE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "three_site" / "config.toml"
SERIES_NAME = "three_site_bruker_processed"
SERIES = ROOT / "spectra" / SERIES_NAME
DESIGN = BUNDLED_THREE_SITE[SERIES_NAME]
TRUTH = sim.example_truth("three_site")
PAIRS = ("PEO<->LLZO", "LLZO<->LiOH")
PEO, LLZO, LIOH = 0, 1, 2


def inside(stats: dict[str, float], value: float) -> bool:
    return stats["q025"] < value < stats["q975"]


def true_k_ex(temperature_K: float) -> dict[str, float]:
    """k_ex of each exchanging pair at T, s^-1 (in the order of ``TRUTH.exchanges``)."""
    return dict(zip(PAIRS, TRUTH.k_ex(temperature_K).tolist(), strict=True))


def true_ea() -> dict[str, float]:
    return {f"{e.site_a}<->{e.site_b}": e.Ea_eV for e in TRUTH.exchanges}


def rate_hits(summary: dict) -> list[bool]:
    return [inside(entry["k_ex_per_s"][pair], true_k_ex(entry["temperature_K"])[pair])
            for entry in summary["temperatures"] for pair in PAIRS]


def test_truth_is_a_resolvable_three_site_system():
    names = TRUTH.names
    assert names == ["PEO", "LLZO", "LiOH"]
    assert [(names[i], names[j]) for i, j in TRUTH.pairs] == [("PEO", "LLZO"),
                                                               ("LLZO", "LiOH")]
    ppm = np.array([s.ppm for s in TRUTH.sites])
    fwhm = TRUTH.fwhm(303.0)
    for i in range(3):
        for j in range(i + 1, 3):
            # at least 1 ppm and 1.4 x the mean line width apart
            assert abs(ppm[i] - ppm[j]) >= 1.0
            assert abs(ppm[i] - ppm[j]) > 1.4 * 0.5 * (fwhm[i] + fwhm[j])
    # the design spans the build-up of both pairs: k_ex t_m from < 0.05 to > 1
    k = TRUTH.k_ex(np.array(DESIGN["temperatures_K"]))
    assert k.min() * min(DESIGN["mixing_times_s"]) < 0.05
    assert k.max() * max(DESIGN["mixing_times_s"]) > 1.0


# ---------------------------------------------------------------------- (a) volume table
@pytest.fixture(scope="module")
def table_fit() -> FitResult:
    table = sim.simulate_volume_table(TRUTH, DESIGN["temperatures_K"], DESIGN["mixing_times_s"],
                                      sigma=0.002, seed=31)
    raw = {"data": {"volumes": "v.csv"},
           "sites": {s.name: {"ppm": s.ppm} for s in TRUTH.sites},
           "model": {"temperature_model": "arrhenius", "exchange": list(PAIRS)}}
    problem = problem_from_config(table, config_from_dict(raw))
    out = sample_posterior(problem, SamplerSettings(seed=3))
    return FitResult.from_sampling(problem, out, seed=3)


def test_volume_table_fit_recovers_each_activation_energy(table_fit):
    s = table_fit.summary_dict()
    assert s["diagnostics"]["converged"] is True
    assert s["pairs"] == list(PAIRS)
    assert set(s["Ea_eV"]) == set(PAIRS)
    for pair, ea in true_ea().items():
        stats = s["Ea_eV"][pair]
        assert inside(stats, ea), (pair, stats)
        # the interval is informative, not just wide: sigma = 0.002 on volumes of ~0.01-0.5
        half_width = 0.5 * (stats["q975"] - stats["q025"])
        assert 0.002 < half_width < 0.03, (pair, half_width)


def test_volume_table_fit_recovers_rates_at_each_temperature(table_fit):
    s = table_fit.summary_dict()
    assert [e["temperature_K"] for e in s["temperatures"]] == DESIGN["temperatures_K"]
    hits = rate_hits(s)
    assert sum(hits) >= len(hits) - 1, hits  # one miss allowed: see the module docstring
    for entry in s["temperatures"]:
        for pair, k in true_k_ex(entry["temperature_K"]).items():
            # two-sided: the median is within 10 % of the truth
            assert entry["k_ex_per_s"][pair]["median"] == pytest.approx(k, rel=0.10)
        for site, p in zip(TRUTH.names, TRUTH.populations, strict=True):
            assert entry["populations"][site]["median"] == pytest.approx(p, abs=0.01)


def test_non_exchanging_pair_has_exactly_zero_rate(table_fit):
    K = table_fit.draws("K")  # (samples, temperatures, N, N), K[i, j] = rate j -> i
    assert K.shape[1:] == (3, 3, 3)
    assert np.all(K[:, :, LIOH, PEO] == 0.0)
    assert np.all(K[:, :, PEO, LIOH] == 0.0)
    for i, j in TRUTH.pairs:
        assert np.all(K[:, :, i, j] > 0.0) and np.all(K[:, :, j, i] > 0.0)
    # detailed balance p_j k_{j->i} = p_i k_{i->j} on every draw
    p = table_fit.draws("populations")
    for i, j in TRUTH.pairs:
        np.testing.assert_allclose(p[:, :, j] * K[:, :, i, j], p[:, :, i] * K[:, :, j, i],
                                   rtol=1e-10)
    assert not any("PEO<->LiOH" in n for n in table_fit.problem.parameter_names)
    rates = table_fit.summary_dict()["temperatures"][0]["k_per_s"]
    assert set(rates) == {"PEO->LLZO", "LLZO->PEO", "LLZO->LiOH", "LiOH->LLZO"}


# ---------------------------------------------------------------------- (b) spectra, CLI
def _config_for(tmp_path: Path) -> Path:
    """The example config, pointed at the bundled spectra from tmp_path, without the
    comparison fit of the free model (which doubles the run time)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    given = '"../../spectra/three_site_bruker_processed/*"'
    assert given in text
    rel = Path(os.path.relpath(SERIES, tmp_path)).as_posix()
    text = text.replace(given, json.dumps(f"{rel}/*"))
    text += "\n[report]\ncompare_models = false\n"
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def spectra_run(tmp_path_factory) -> Path:
    if not SERIES.is_dir():
        pytest.skip(f"{SERIES} not present (regenerate: python -m exsyfit.simulate.series bundled)")
    tmp = tmp_path_factory.mktemp("three_site")
    config = _config_for(tmp)
    out = tmp / "out"
    assert main(["integrate", str(config), "-o", str(out), "-q"]) == 0
    assert main(["fit", str(config), "-o", str(out), "-q"]) == 0
    return out


def test_example_config_lists_only_the_exchanging_pairs():
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert list(raw["sites"]) == TRUTH.names
    for site in TRUTH.sites:
        assert raw["sites"][site.name]["ppm"] == site.ppm
    assert raw["model"]["exchange"] == list(PAIRS)
    assert raw["model"]["temperature_model"] == "arrhenius"


@pytest.mark.slow
def test_spectra_integrate_to_the_true_volumes(spectra_run):
    volumes = pd.read_csv(spectra_run / "volumes.csv")
    truth = pd.read_csv(SERIES / "truth_volumes.csv")
    assert len(volumes) == 15 * 9
    volumes["expno"] = volumes["experiment"].str.rsplit("/", n=1).str[-1].astype(int)
    merged = volumes.merge(truth.rename(columns={"experiment": "expno"}),
                           on=["expno", "from_site", "to_site"], suffixes=("", "_true"))
    assert len(merged) == len(volumes)
    z = (merged["volume"] - merged["volume_true"]) / merged["sigma"]
    # errors match the reported sigma: unbiased and of unit spread
    assert abs(z.mean()) < 0.3
    assert 0.7 < z.std() < 1.4
    # the relay PEO -> LLZO -> LiOH is second order: nothing at 10 ms beyond the noise
    relay = merged[(merged["mixing_time_s"] == 0.01) & (merged["from_site"] == "PEO")
                   & (merged["to_site"] == "LiOH")]
    assert np.all(np.abs(relay["volume"]) < 3 * relay["sigma"])


@pytest.mark.slow
def test_spectra_fit_recovers_each_activation_energy(spectra_run):
    s = json.loads((spectra_run / "summary.json").read_text())
    assert s["diagnostics"]["converged"] is True
    assert s["sites"] == TRUTH.names
    for pair, ea in true_ea().items():
        assert inside(s["Ea_eV"][pair], ea), (pair, s["Ea_eV"][pair])
        assert s["Ea_eV"][pair]["median"] == pytest.approx(ea, abs=0.01)
    hits = rate_hits(s)
    assert sum(hits) >= len(hits) - 1, hits  # one miss allowed: see the module docstring
    for entry in s["temperatures"]:
        assert set(entry["k_per_s"]) == {"PEO->LLZO", "LLZO->PEO", "LLZO->LiOH",
                                         "LiOH->LLZO"}
