"""Simulator: truth physics against exact reference values, files, bundled spectra."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exsyfit.simulate import bundled
from exsyfit.simulate import series as sim

ROOT = Path(__file__).resolve().parents[1]
SPECTRA = ROOT / "spectra"


def c8_truth(**changes) -> sim.Truth:
    """Oracle c8: p_A = 0.9, T1 0.5 / 3 s, Ea 0.30 eV, k_AB(303 K) = 1 s^-1 (k_ex = 10)."""
    t = sim.Truth(
        sites=(sim.SiteTruth("A", 1.3, 0.9, T1_s=0.5), sim.SiteTruth("B", 2.3, 0.1, T1_s=3.0)),
        exchanges=(sim.ExchangeTruth("A", "B", 10.0, 0.30),),
        reference_temperature_K=303.0, curie=False, scale=1.0,
    )
    return replace(t, **changes)


def test_true_volumes_match_oracle_c8():
    table = sim.true_volumes(c8_truth(), [303.0], [0.01, 0.05, 0.2, 1.0])
    assert list(table.columns[:7]) == ["experiment", "temperature_K", "mixing_time_s",
                                       "from_site", "to_site", "volume", "sigma"]
    expected = {  # t_m: V_AA, V_BB, V_AB = V_BA
        0.01: (8.73785872e-01, 9.11308544e-02, 8.46444983e-03),
        0.05: (7.82514845e-01, 6.34966454e-02, 3.33229005e-02),
        0.2: (5.56388843e-01, 2.00581671e-02, 5.93471588e-02),
        1.0: (1.27800445e-01, 2.25693913e-03, 1.69717883e-02),
    }
    for tm, (vaa, vbb, vab) in expected.items():
        sub = table[np.isclose(table["mixing_time_s"], tm)].set_index(["from_site", "to_site"])
        assert sub.loc[("A", "A"), "volume"] == pytest.approx(vaa, rel=1e-8)
        assert sub.loc[("B", "B"), "volume"] == pytest.approx(vbb, rel=1e-8)
        assert sub.loc[("A", "B"), "volume"] == pytest.approx(vab, rel=1e-8)
        assert sub.loc[("B", "A"), "volume"] == pytest.approx(vab, rel=1e-8)
    assert (table["sigma"] == 0).all()


def test_arrhenius_rates_match_oracle_c8():
    t = c8_truth()
    k_ab = t.k_ex([263, 283, 303, 323, 343])[:, 0] * 0.1  # k_AB = k_ex p_B
    assert k_ab == pytest.approx([0.17421397, 0.44397483, 1.0, 2.03690540, 3.81865245], rel=1e-7)


def test_spin_diffusion_t1_and_curie_laws():
    t = c8_truth(spin_diffusion_per_s=0.5, curie=True)
    assert t.k_ex(263.0)[0] == pytest.approx(1.7421397 + 0.5, rel=1e-7)
    hot = replace(t, sites=(replace(t.sites[0], T1_Ea_eV=0.1), t.sites[1]))
    ratio = hot.T1(350.0)[0] / 0.5
    # T1(T) = T1(T_ref) exp(Ea/k_B (1/T - 1/T_ref)): shorter when hotter for Ea > 0
    assert ratio == pytest.approx(np.exp(0.1 / sim.K_B_EV * (1 / 350 - 1 / 303)), rel=1e-12)
    assert ratio < 1
    v_curie = t.volumes(263.0, [0.1])
    v_flat = replace(t, curie=False).volumes(263.0, [0.1])
    assert v_curie == pytest.approx(v_flat * 303.0 / 263.0, rel=1e-12)


def test_cross_polarisation_start_gives_asymmetric_cross_peaks():
    t = c8_truth()
    cp = replace(t, sites=(replace(t.sites[0], start_magnetisation=0.3),
                           replace(t.sites[1], start_magnetisation=0.7)))
    v = cp.volumes(303.0, [0.05])[0]
    eq = t.volumes(303.0, [0.05])[0]
    assert v[0, 1] / eq[0, 1] == pytest.approx(0.7 / 0.1, rel=1e-12)  # started on B
    assert v[1, 0] / eq[1, 0] == pytest.approx(0.3 / 0.9, rel=1e-12)  # started on A
    assert v[0, 1] != pytest.approx(v[1, 0], rel=0.1)


def test_three_site_example_only_listed_pairs_exchange():
    t = sim.example_truth("three_site")
    v = t.volumes(303.0, [0.1, 1.0])
    peo, llzo, lioh = 0, 1, 2
    assert t.pairs == [(peo, llzo), (llzo, lioh)]
    # PEO and LiOH do not exchange directly, but relay through LLZO (second order)
    short = t.volumes(303.0, [1e-4])[0]
    assert short[lioh, peo] < 1e-3 * short[llzo, peo]
    assert v[1, lioh, peo] > 0
    # symmetric cross peaks with an equilibrium start (detailed balance)
    assert v[:, peo, llzo] == pytest.approx(v[:, llzo, peo], rel=1e-10)


def test_argyrodite_example_spans_the_build_up():
    t = sim.example_truth("argyrodite_li2s")
    k = t.k_ex([263.0, 343.0])[:, 0]
    assert 0.7 < k[0] < 1.5 and 15 < k[1] < 25
    assert t.populations == pytest.approx([0.88, 0.12])
    assert abs(t.sites[1].ppm - t.sites[0].ppm) == pytest.approx(1.0)
    tm = np.geomspace(0.005, 1.0, 60)
    cold = t.volumes(263.0, tm)[:, 1, 0]  # argyrodite -> Li2S cross peak
    hot = t.volumes(343.0, tm)[:, 1, 0]
    # 5 ms is early in the build-up at 263 K; at 343 K the maximum lies inside 5 ms .. 1 s
    assert cold[0] < 0.05 * cold.max()
    assert 0 < np.argmax(hot) < len(tm) - 1
    table = sim.true_volumes(t, [263.0, 343.0], [0.005, 1.0])
    argy = table[table.to_site == "argyrodite"]
    assert argy["volume_centreband"].to_numpy() == pytest.approx(0.9 * argy["volume"].to_numpy())


def test_spectrum_peaks_split_volume_into_sidebands():
    t = sim.example_truth("argyrodite_li2s")
    V = t.volumes(303.0, [0.1])[0]
    peaks = sim.spectrum_peaks(t, 303.0, V)
    assert len(peaks) == 2 * 3 + 2 * 1  # argyrodite detected: centre + 2 sidebands
    spacing = 5000.0 / 155.5
    on_argy = [p for p in peaks if abs(p.ppm_f1 - 1.3) < 1e-9 and
               abs((p.ppm_f2 - 1.3) % spacing) < 1e-6 or
               abs(p.ppm_f1 - 1.3) < 1e-9 and abs(p.ppm_f2 - 1.3 + spacing) < 1e-6]
    assert sum(p.volume for p in on_argy) == pytest.approx(V[0, 0], rel=1e-12)
    assert {round(p.ppm_f2, 6) for p in on_argy} == {round(1.3 + s, 6)
                                                     for s in (0.0, spacing, -spacing)}


def test_noisy_volume_table_statistics_and_seed():
    t = c8_truth()
    a = sim.simulate_volume_table(t, [263, 303, 343], np.geomspace(0.005, 1, 40), 0.002, seed=4)
    b = sim.simulate_volume_table(t, [263, 303, 343], np.geomspace(0.005, 1, 40), 0.002, seed=4)
    pd.testing.assert_frame_equal(a, b)
    resid = a["volume"] - a["true_volume"]
    n = len(resid)
    assert n == 3 * 40 * 4
    assert resid.std() == pytest.approx(0.002, rel=4 / np.sqrt(2 * n))
    assert abs(resid.mean()) < 4 * 0.002 / np.sqrt(n)
    assert (a["sigma"] == 0.002).all()


def test_simulated_files_are_reproducible(tmp_path):
    t = sim.example_truth("argyrodite_li2s")
    acq = sim.Acquisition(n_f1=32, n_f2=64, td1=8, td2=32)
    for fmt, data_file in (("bruker-processed", "10/pdata/1/2rr"), ("bruker-raw", "10/ser"),
                           ("varian", "exsy_300K.fid/fid")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = sim.simulate_series(tmp_path / f"{fmt}a", t, [300.0], [0.1], format=fmt,
                                    seed=9, acquisition=acq)
            sim.simulate_series(tmp_path / f"{fmt}b", t, [300.0], [0.1], format=fmt, seed=9,
                                acquisition=acq)
            sim.simulate_series(tmp_path / f"{fmt}c", t, [300.0], [0.1], format=fmt, seed=10,
                                acquisition=acq)
        one = (tmp_path / f"{fmt}a" / data_file).read_bytes()
        assert one == (tmp_path / f"{fmt}b" / data_file).read_bytes()
        assert one != (tmp_path / f"{fmt}c" / data_file).read_bytes()
        assert len(a) == 4


def test_heating_offset_is_stored_as_set_temperature(tmp_path):
    from exsyfit.io.series import experiment_table

    t = sim.example_truth("argyrodite_li2s")
    truth = sim.simulate_series(tmp_path, t, [310.0], [0.1, 0.2], format="varian", seed=1,
                                acquisition=sim.Acquisition(td1=8, td2=32), heating_K=7.0)
    assert set(truth["temperature_K"]) == {310.0}
    table = experiment_table(["*.fid"], tmp_path)
    assert table["set_temperature_K"].iloc[0] == pytest.approx(303.0)


def test_command_line_series(tmp_path):
    out = tmp_path / "cli"
    argv = ["series", str(out), "--format", "varian", "--temperatures", "290",
            "--mixing-times", "0.02", "0.2", "--seed", "2", "--kind", "three_site"]
    assert bundled.main(argv) == 0
    table = pd.read_csv(out / "truth_volumes.csv")
    assert len(table) == 2 * 9
    assert set(table["from_site"]) == {"PEO", "LLZO", "LiOH"}
    assert (out / "exsy_290K.fid" / "procpar").is_file()


# ---- bundled spectra -------------------------------------------------------------------------

def test_bundled_spectra_are_documented_small_and_consistent():
    if not SPECTRA.is_dir():
        pytest.skip("spectra/ not present")
    readme = (SPECTRA / "README.md").read_text()
    assert "simulated" in readme.lower() and "python -m exsyfit.simulate.series bundled" in readme
    total = sum(p.stat().st_size for p in SPECTRA.rglob("*") if p.is_file())
    assert total < 15 * 2**20
    truth = sim.example_truth("argyrodite_li2s")
    for name, spec in bundled.BUNDLED.items():
        table = pd.read_csv(SPECTRA / name / "truth_volumes.csv")
        again = sim.true_volumes(truth, spec["temperatures_K"], spec["mixing_times_s"],
                                 experiments=list(dict.fromkeys(table["experiment"])))
        assert table["volume"].to_numpy() == pytest.approx(again["volume"].to_numpy(), rel=1e-9)
        assert (SPECTRA / name / "truth.json").is_file()


def test_bundled_varian_series_regenerates_exactly(tmp_path):
    if not (SPECTRA / "argyrodite_li2s_varian").is_dir():
        pytest.skip("spectra/ not present")
    spec = bundled.BUNDLED["argyrodite_li2s_varian"]
    sim.simulate_series(tmp_path, sim.example_truth("argyrodite_li2s"), spec["temperatures_K"],
                        spec["mixing_times_s"], format=spec["format"], seed=spec["seed"],
                        acquisition=spec["acquisition"])
    fids = sorted((SPECTRA / "argyrodite_li2s_varian").glob("*.fid"))
    assert len(fids) == len(spec["temperatures_K"])  # one arrayed .fid per temperature
    for fid in fids:
        assert (fid / "fid").read_bytes() == (tmp_path / fid.name / "fid").read_bytes()
        assert (fid / "procpar").read_bytes() == (tmp_path / fid.name / "procpar").read_bytes()


def test_bundled_processed_series_reads_with_total_volume():
    if not (SPECTRA / "argyrodite_li2s_bruker_processed").is_dir():
        pytest.skip("spectra/ not present")
    from exsyfit.io.series import read_series

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = read_series(["spectra/argyrodite_li2s_bruker_processed/*"], ROOT)
    assert len(s.spectra) == 20 and s.read_as == "processed"
    assert sorted(set(s.temperatures_K)) == [263.0, 288.0, 313.0, 338.0]
    truth = pd.read_csv(SPECTRA / "argyrodite_li2s_bruker_processed" / "truth_volumes.csv")
    for sp, row in zip(s.spectra[::7], s.table.iloc[::7].itertuples(), strict=True):
        total = sp.data.sum() * sp.ppm_step_f1 * sp.ppm_step_f2
        exp = row.experiment.rsplit("/", 1)[-1]
        expected = truth.loc[truth["experiment"].astype(str) == exp, "volume"].sum()
        # Lorentzian tails outside the window are missing (1-3 %); the noise of the sum of all
        # 65536 points is about 0.001 * 256 * 0.039 = 0.01
        assert total == pytest.approx(0.98 * expected, abs=0.04)
