"""Peak volumes and uncertainties from synthetic 2D EXSY spectra with known volumes.

Spectra are rendered with :class:`exsyfit.processing.lineshapes.SimPeak` plus noise made here:
white, correlated (white noise smoothed along both axes, as apodisation and zero filling do)
and t1 noise (streaks along F1 in the columns of the big diagonal peak, proportional to its F2
line).
Tolerances derive from the noise: the spread of volumes over independent realisations.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from exsyfit.errors import ConfigError, SeriesError
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.series import integrate_series
from exsyfit.integrate.volumes import REQUIRED_COLUMNS as TABLE_COLUMNS
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak

SCALE = 100.0  # intensity scale of the rendered peaks
# volumes (AA, BB, AB = BA) of oracle c8 at 303 K (p_A = 0.9), times SCALE
C8 = {
    0.01: (0.873785872, 0.0911308544, 0.00846444983),
    0.05: (0.782514845, 0.0634966454, 0.0333229005),
    0.2: (0.556388843, 0.0200581671, 0.0593471588),
    1.0: (0.127800445, 0.00225693913, 0.0169717883),
}


def _axes(n1=160, n2=256, hi=14.0, lo=-10.0):
    return (np.linspace(hi, lo, n1, endpoint=False), np.linspace(hi, lo, n2, endpoint=False))


def _peaks(vols, pos, fwhm, eta, asym=1.0):
    """SimPeaks of a two-site spectrum: vols = (V_AA, V_BB, V_AB) with V_AB = V_BA."""
    (a, b), (wa, wb) = pos, fwhm
    vaa, vbb, vab = (SCALE * v for v in vols)
    return [
        SimPeak(a, a, vaa, wa, wa, eta, eta),
        SimPeak(b, b, vbb, wb, wb, eta, eta),
        SimPeak(a, b, vab * asym, wa, wb, eta, eta),  # A -> B: F1 = A, F2 = B
        SimPeak(b, a, vab, wb, wa, eta, eta),  # B -> A
    ]


def _render(peaks, f1, f2):
    return sum(p.render(f1, f2) for p in peaks)


def _noise(rng, shape, sigma, kind, streak=None):
    if kind == "white":
        n = rng.normal(0.0, sigma, shape)
    else:  # correlated: smoothed white noise, scaled to the same point noise
        n = gaussian_filter(rng.normal(0.0, 1.0, shape), (1.5, 2.0), mode="wrap")
        n *= sigma / n.std()
    if streak is not None:  # t1 noise: random along F1, shaped like the big peak along F2
        n += np.outer(rng.normal(0.0, 1.0, shape[0]), streak)
    return n


def _spectrum(data, f1, f2, tm, temp=303.0, source="x", **kw):
    return Spectrum2D(data, f1, f2, mixing_time_s=tm, temperature_K=temp, source=source,
                      sf_mhz=155.5, **kw)


def _realisations(vols, n, sigma, kind="white", pos=(2.0, 1.0), fwhm=(0.8, 0.8), eta=0.5,
                  t1_level=0.0, seed=0, tm=0.05):
    """n noisy copies of one spectrum as one 'series' (shared shapes), with the true volumes."""
    f1, f2 = _axes()
    rng = np.random.default_rng(seed)
    clean = _render(_peaks(vols, pos, fwhm, eta), f1, f2)
    streak = t1_level * clean.max(axis=0) if t1_level else None
    spectra = [_spectrum(clean + _noise(rng, clean.shape, sigma, kind, streak), f1, f2, tm,
                         source=f"r{k}") for k in range(n)]
    truth = SCALE * np.array([vols[0], vols[2], vols[2], vols[1]])  # AA, AB, BA, BB
    return spectra, truth


def _series(sigma=0.05, kind="white", pos=(2.0, 1.0), fwhm=(0.8, 0.8), eta=0.5, seed=1,
            asym=1.0, leak=0.0, temp=303.0):
    f1, f2 = _axes()
    rng = np.random.default_rng(seed)
    out = []
    for tm, vols in C8.items():
        data = _render(_peaks(vols, pos, fwhm, eta, asym), f1, f2)
        if leak:
            data = data + _render([SimPeak(pos[0], pos[1], SCALE * leak, fwhm[0], fwhm[1], eta,
                                           eta)], f1, f2)
        out.append(_spectrum(data + _noise(rng, data.shape, sigma, kind), f1, f2, tm, temp,
                             source=f"T{temp:g}-tm{tm:g}"))
    return out


def _vol_matrix(result):
    return result.table["volume"].to_numpy().reshape(-1, 4)


def _noise_sigma(result):
    """Reported sigma without the shape-parameter term (shapes are shared by realisations)."""
    g = result.groups[0]
    cov = g.cov - (g.shape_cov if g.shape_cov is not None else 0.0)
    return np.sqrt(np.diagonal(cov, axis1=1, axis2=2))


SITES = {"A": 2.0, "B": 1.0}


# ------------------------------------------------------------------ options


def test_options_from_dict_defaults_and_values():
    o = IntegrationOptions.from_dict({"method": "Box", "half_width_ppm": {"A": 0.5, "B": [0.4,
                                      0.6]}, "eta": 0.3, "sidebands": True, "mas_rate_hz": 1e4})
    assert o.method == "box" and o.eta == 0.3 and o.sidebands
    assert o.half_width_ppm == {"A": (0.5, 0.5), "B": (0.4, 0.6)}
    assert IntegrationOptions.from_dict({}) == IntegrationOptions()


def test_processed_lineshape_option_accepts_procs():
    assert IntegrationOptions().processed_lineshape == "procs"
    assert IntegrationOptions.from_dict({"processed_lineshape": "Procs"}).processed_lineshape \
        == "procs"
    assert IntegrationOptions.from_dict({"processed_lineshape": False}).processed_lineshape \
        is False
    with pytest.raises(ConfigError, match=r"\[integration.processed_lineshape\]: found 'yes'; "
                                          r"expected true, false or \"procs\""):
        IntegrationOptions.from_dict({"processed_lineshape": "yes"})


def test_options_from_dict_reports_every_problem():
    with pytest.raises(ConfigError) as err:
        IntegrationOptions.from_dict({"metod": "box", "baseline": "flat", "n_sidebands": 1.5,
                                      "eta": 2})
    msg = str(err.value)
    assert "[integration.metod]: unknown key (did you mean 'method'?)" in msg
    assert "[integration.baseline]: found 'flat'" in msg
    assert "[integration.n_sidebands]" in msg and "[integration.eta]" in msg


# ------------------------------------------------------------------ box, separated peaks


def test_box_separated_peaks_unbiased_with_honest_sigma():
    # Gaussian lines 4 ppm apart: a box of +/- 1.5 FWHM holds 99.9 % of each peak
    vols = C8[0.05]
    spectra, truth = _realisations(vols, 50, 0.3, pos=(4.0, 0.0), eta=0.0, seed=2)
    res = integrate_series(spectra, {"A": 4.0, "B": 0.0},
                           options=IntegrationOptions(method="box"))
    v = _vol_matrix(res)
    sig = res.table["sigma"].to_numpy().reshape(-1, 4)
    capture = 0.99910  # erf(1.5 * 2 sqrt(ln 2))**2
    scatter = v.std(axis=0, ddof=1)
    assert np.all(np.abs(v - capture * truth) < 4 * scatter)
    assert np.all(np.abs(v.mean(0) - capture * truth) < 3.5 * scatter / np.sqrt(50))
    ratio = np.sqrt((sig**2).mean(0)) / scatter
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio
    assert res.method == "box"
    assert list(res.table.columns[:7]) == list(TABLE_COLUMNS)
    assert res.table["half_width_f1_ppm"].iloc[0] == pytest.approx(1.2, rel=0.03)


@pytest.mark.parametrize("kind", ["white", "correlated"])
def test_ellipse_sigma_matches_scatter(kind):
    spectra, truth = _realisations(C8[0.2], 50, 0.3, kind, pos=(4.0, 0.0), eta=0.0, seed=3)
    res = integrate_series(spectra, {"A": 4.0, "B": 0.0},
                           options=IntegrationOptions(method="ellipse", baseline="surroundings"))
    v = _vol_matrix(res)
    sig = res.table["sigma"].to_numpy().reshape(-1, 4)
    ratio = np.sqrt((sig**2).mean(0)) / v.std(axis=0, ddof=1)
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio


# ------------------------------------------------------------------ overlapped peaks


@pytest.mark.parametrize("kind", ["white", "correlated"])
def test_lineshape_overlapped_peaks(kind):
    """Two sites 1 ppm apart, FWHM 0.8 ppm, p_A = 0.9: small cross peaks on the big tail."""
    spectra, truth = _realisations(C8[0.05], 50, 0.3, kind, seed=4)
    res = integrate_series(spectra, SITES, options=IntegrationOptions(method="lineshape"))
    v = _vol_matrix(res)
    scatter = v.std(axis=0, ddof=1)
    total = res.table["sigma"].to_numpy().reshape(-1, 4)
    # every volume within 4 sigma of the truth, mean within the noise of the mean plus the
    # (shared) shape uncertainty
    assert np.all(np.abs(v - truth) < 4 * total)
    shape_sd = np.sqrt(np.diagonal(res.groups[0].shape_cov, axis1=1, axis2=2).mean(0))
    assert np.all(np.abs(v.mean(0) - truth) < 3 * np.hypot(scatter / np.sqrt(50), shape_sd))
    ratio = np.sqrt((_noise_sigma(res) ** 2).mean(0)) / scatter
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio
    assert res.groups[0].misfit_ratio == pytest.approx(1.0, abs=0.1)


def test_lineshape_t1_noise_in_the_big_peaks_columns():
    spectra, truth = _realisations(C8[0.05], 100, 0.1, "white", t1_level=0.003, seed=5)
    res = integrate_series(spectra, SITES, options=IntegrationOptions(method="lineshape"))
    v = _vol_matrix(res)
    sig = _noise_sigma(res)
    ratio = np.sqrt((sig**2).mean(0)) / v.std(axis=0, ddof=1)
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio
    assert res.groups[0].noise.direction == "F1"
    # the B -> A cross peak sits on A's streak: much noisier than A -> B
    assert sig[:, 2].mean() > 2 * sig[:, 1].mean()
    # noise regions from other columns (no streak) would underestimate it
    other = integrate_series(spectra[:6], SITES, options=IntegrationOptions(
        method="lineshape", noise_pooling=False, noise_regions=1000))
    assert other.groups[0].noise.direction == "F1+F2"
    assert _noise_sigma(other)[:, 2].mean() < 0.85 * v[:, 2].std(ddof=1)


def test_auto_picks_lineshape_when_overlapped_and_box_would_be_biased():
    spectra = _series(sigma=0.05, seed=6)
    auto = integrate_series(spectra, SITES)
    assert auto.method == "lineshape"
    assert "lineshape" in auto.choices["reason"]
    truth = SCALE * np.array([[v[0], v[2], v[2], v[1]] for v in C8.values()])
    v = _vol_matrix(auto)
    sig = auto.table["sigma"].to_numpy().reshape(-1, 4)
    assert np.all(np.abs(v - truth) < 4 * sig)
    # box integration of the same data: the cross-peak fraction V_AB/(V_AA + V_AB), which the
    # kinetics depends on, is off by many standard deviations
    box = _vol_matrix(integrate_series(spectra, SITES, options=IntegrationOptions(method="box")))
    frac_true = truth[:, 1] / (truth[:, 0] + truth[:, 1])
    frac_box = box[:, 1] / (box[:, 0] + box[:, 1])
    frac_ls = v[:, 1] / (v[:, 0] + v[:, 1])
    sd_frac = sig[:, 1] / (truth[:, 0] + truth[:, 1])
    assert np.all(np.abs(frac_ls - frac_true) < 4 * sd_frac)
    assert np.max(np.abs(frac_box - frac_true) / sd_frac) > 20


def test_auto_picks_box_when_well_separated():
    spectra = _series(sigma=0.3, pos=(6.0, 0.0), eta=0.0, seed=7)
    res = integrate_series(spectra, {"A": 6.0, "B": 0.0})
    assert res.method == "box", res.choices
    assert res.choices["box_bias_sigma"]["303 K"] < 0.5


# ------------------------------------------------------------------ warnings


def test_no_warnings_for_clean_data():
    res = integrate_series(_series(sigma=0.05, seed=8), SITES)
    assert res.warnings == []


def test_warns_on_asymmetric_cross_peaks():
    res = integrate_series(_series(sigma=0.05, seed=9, asym=1.3), SITES)
    text = " ".join(res.warnings)
    assert "A->B and B->A differ beyond the noise" in text
    assert "CP" in text and "third site" in text


def test_warns_when_cross_peaks_do_not_vanish_at_short_mixing_time():
    res = integrate_series(_series(sigma=0.05, seed=10, leak=0.02), SITES)
    text = " ".join(res.warnings)
    assert "A->B does not tend to zero at short mixing time" in text


def test_warns_on_negative_volumes():
    spectra = _series(sigma=0.05, seed=11)
    bad = spectra[2]
    f1, f2 = bad.ppm_f1, bad.ppm_f2
    flipped = bad.data - 2 * SimPeak(1.0, 2.0, SCALE * C8[0.2][2], 0.8, 0.8).render(f1, f2)
    spectra[2] = _spectrum(flipped, f1, f2, 0.2, source=bad.source)
    res = integrate_series(spectra, SITES)
    assert any("negative volumes" in w and "B->A in T303-tm0.2" in w for w in res.warnings)


# ------------------------------------------------------------------ sidebands


@pytest.mark.parametrize("method", ["box", "lineshape"])
def test_sideband_volumes_are_added(method):
    f1, f2 = _axes()
    sf, mas = 155.5, 155.5 * 7.0  # sidebands 7 ppm from the centrebands
    rng = np.random.default_rng(12)
    centre = _peaks(C8[0.2], (4.0, 0.0), (0.8, 0.8), 0.0)
    data = _render(centre, f1, f2)
    for p in centre:  # 10 % of each peak in each first-order F2 sideband
        for sgn in (-1, 1):
            data += SimPeak(p.ppm_f1, p.ppm_f2 + 7.0 * sgn, 0.1 * p.volume, p.fwhm_f1_ppm,
                            p.fwhm_f2_ppm, 0.0, 0.0).render(f1, f2)
    spectra = [Spectrum2D(data + rng.normal(0, 0.02, data.shape), f1, f2, mixing_time_s=0.2,
                          temperature_K=303.0, source="sb", sf_mhz=sf, mas_rate_hz=mas)]
    truth = SCALE * np.array([C8[0.2][k] for k in (0, 2, 2, 1)])
    on = IntegrationOptions(method=method, sidebands=True, n_sidebands=1, eta=0.0)
    off = IntegrationOptions(method=method, eta=0.0)
    sites = {"A": 4.0, "B": 0.0}
    v_on = _vol_matrix(integrate_series(spectra, sites, options=on))[0]
    v_off = _vol_matrix(integrate_series(spectra, sites, options=off))[0]
    assert v_on / truth == pytest.approx(np.full(4, 1.2), rel=0.03)
    assert v_off / truth == pytest.approx(np.ones(4), rel=0.03)


def test_sidebands_need_a_mas_rate():
    spectra = _series(sigma=0.05)
    with pytest.raises(ConfigError, match="mas_rate_hz"):
        integrate_series(spectra, SITES, options=IntegrationOptions(sidebands=True))


# ------------------------------------------------------------------ series handling


def test_table_layout_and_temperature_groups():
    low = _series(sigma=0.05, seed=13, temp=283.0)
    high = _series(sigma=0.05, seed=14, temp=323.0, pos=(2.4, 1.0))  # A moves with T
    res = integrate_series(low + high, SITES, site_ppm_by_temperature={323.0: {"A": 2.4}},
                           options=IntegrationOptions(method="lineshape"))
    t = res.table
    assert len(t) == 4 * len(low + high)
    assert list(t.columns[:7]) == list(TABLE_COLUMNS)
    assert set(t["temperature_K"]) == {283.0, 323.0}
    assert list(t["from_site"][:4]) == ["A", "A", "B", "B"]
    assert list(t["to_site"][:4]) == ["A", "B", "A", "B"]
    hi = t[t.temperature_K == 323.0]
    assert hi["center_f2_ppm"][hi.to_site == "A"].to_numpy() == pytest.approx(2.4, abs=0.01)
    truth = SCALE * np.array([[v[0], v[2], v[2], v[1]] for v in C8.values()] * 2)
    assert np.all(np.abs(_vol_matrix(res) - truth) < 4 * t["sigma"].to_numpy().reshape(-1, 4))
    assert len(res.groups) == 2


def test_temperatures_and_experiments_override():
    spectra = _series(sigma=0.05, seed=15)
    res = integrate_series(spectra, SITES, temperatures_K=[310.0] * 4,
                           experiments=["a", "b", "c", "d"],
                           options=IntegrationOptions(method="box"))
    assert set(res.table["temperature_K"]) == {310.0}
    assert list(pd.unique(res.table["experiment"])) == ["a", "b", "c", "d"]
    with pytest.raises(SeriesError, match="temperatures_K: 2 values given for 4 spectra"):
        integrate_series(spectra, SITES, temperatures_K=[300.0, 300.0])


def test_site_outside_the_spectrum_is_a_config_error():
    with pytest.raises(ConfigError, match=r"sites.B.ppm = 40"):
        integrate_series(_series(sigma=0.05), {"A": 2.0, "B": 40.0})


@pytest.mark.slow
def test_full_series_sigma_includes_shape_uncertainty():
    """50 independent 4-t_m series: total sigma (noise + shape fit) against the scatter."""
    truth = SCALE * np.array([[v[0], v[2], v[2], v[1]] for v in C8.values()])
    vols, sigs = [], []
    for seed in range(50):
        res = integrate_series(_series(sigma=0.3, seed=100 + seed), SITES,
                               options=IntegrationOptions(method="lineshape"))
        vols.append(_vol_matrix(res))
        sigs.append(res.table["sigma"].to_numpy().reshape(-1, 4))
    v, s = np.array(vols), np.array(sigs)
    scatter = v.std(axis=0, ddof=1)
    assert np.all(np.abs(v.mean(0) - truth) < 3.5 * scatter / np.sqrt(50))
    ratio = np.sqrt((s**2).mean(0)) / scatter
    assert np.all((ratio > 0.75) & (ratio < 1.3)), ratio
