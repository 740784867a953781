"""An EXSY series written with TopSpin's documented conventions by code independent of exsyfit.

The writer below uses numpy only (no exsyfit writer, no exsyfit transform):

* States-TPPI in t1: for increment k a row ``(-1)^k * cos`` and a row ``(-1)^k * sin`` of the
  t1 modulation, each multiplying the complex t2 signal;
* a digital filter: the FID is delayed by a fractional GRPDLY (67.987 points) as a band-limited
  signal (with the filter's pre-echo), GRPDLY written to acqus, and procs PHC0 set to the
  value TopSpin needs for that delay (-180 * GRPDLY degrees; see exsyfit.processing.phasing);
* proc2s QSINE (SSB 2), FCOR 0.5; procs EM;
* two sites placed symmetrically about the F1 (and F2) carrier;
* volumes from exsyfit.kinetics.exchange for Arrhenius rates (Ea 0.270 eV) at two
  temperatures and five mixing times, the shortest 0.1 ms.

Without TopSpin's 180 * GRPDLY phase of the group-delay removal (the cause found for this
series' earlier failure) the same data give line-shape residuals 9-11 times the noise and
cross peaks at t_m -> 0 off by several standard deviations; with it, residuals equal the
noise (misfit ratio 0.99), cross/diagonal at 0.1 ms is 0.0013-0.0015 for a truth of 0.0015,
and the least-squares Ea is 0.2700 +- 0.0001 eV.

It also writes TopSpin's 2rr the way TopSpin computes it (window on the delayed FID, explicit
DFT with index 0 at the highest frequency, the group delay removed as a first-order phase
pivoting on the leftmost point), so the raw and the 2rr routes can be compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.series import integrate_series
from exsyfit.io import bruker
from exsyfit.kinetics.exchange import mixing_matrix_two_site

KB_EV = 8.617333262e-5
SF = 155.5  # MHz, 7Li
CARRIER = 1.0  # ppm, both dimensions
SITES = {"A": CARRIER - 2.5, "B": CARRIER + 2.5}  # symmetric about the carrier
FWHM_PPM = 0.5
SW2_PPM, SW1_PPM = 40.0, 20.0
TD2, N1 = 256, 32  # complex points in t2, complex t1 increments
SI2, SI1 = 512, 128
GRPDLY = 67.9868469238281
LB2 = 5.0  # Hz
EA_EV, K_310, TREF = 0.270, 30.0, 310.0  # k_AB = k_BA (s^-1) at TREF
R1 = 2.0  # s^-1, both sites
TEMPS = (290.0, 330.0)
MIXES = (1e-4, 0.01, 0.025, 0.05, 0.1)
NOISE = 4e-4  # per real and imaginary point of the FID, relative to a unit volume


def rate(temp_K: float) -> float:
    return K_310 * np.exp(-EA_EV / KB_EV * (1.0 / temp_K - 1.0 / TREF))


def true_volumes(temp_K: float, tm: float) -> np.ndarray:
    """V[detected, started] for equal populations, scale 300 / T (Curie)."""
    k = rate(temp_K)
    a = mixing_matrix_two_site(k, k, R1, R1, tm)
    return (300.0 / temp_K) * a * 0.5


# ---------------------------------------------------------------- independent writer


def _jcamp(path: Path, params: dict) -> None:
    lines = ["##TITLE= Parameter file", "##JCAMPDX= 5.0", "##DATATYPE= Parameter Values",
             "##ORIGIN= Bruker BioSpin GmbH", "##OWNER= test"]
    for key, value in params.items():
        if isinstance(value, list):
            lines.append(f"##${key}= (0..{len(value) - 1})")
            lines.append(" ".join(f"{v:g}" for v in value))
        elif isinstance(value, str):
            lines.append(f"##${key}= <{value}>")
        else:
            lines.append(f"##${key}= {value}")
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n")


def _dft_nmr(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """X_i = sum_k x_k exp(-2 pi i f_i k), f_i = (n_out/2 - i)/n_out: index 0 = highest."""
    n_in = x.shape[axis]
    f = (n_out // 2 - np.arange(n_out)) / n_out
    mat = np.exp(-2j * np.pi * f[:, None] * np.arange(n_in)[None, :])
    return np.moveaxis(np.tensordot(mat, np.moveaxis(x, axis, 0), axes=(1, 0)), 0, axis)


def _t2_signal(ppm: float) -> np.ndarray:
    """Unit-amplitude t2 signal of one line, delayed by GRPDLY as a band-limited signal."""
    sw2 = SW2_PPM * SF
    t = np.arange(2 * TD2) / sw2
    s = np.exp(2j * np.pi * (ppm - CARRIER) * SF * t - np.pi * FWHM_PPM * SF * t)
    s[TD2:] = 0.0
    s[0] *= 0.5  # the filter sees a step at t = 0: the sample there holds half of it
    spec = np.fft.fft(s)  # a delay of g points multiplies by exp(-2 pi i f g)
    s = np.fft.ifft(spec * np.exp(-2j * np.pi * np.fft.fftfreq(2 * TD2) * GRPDLY))
    return s[:TD2]


def _t1_rows(ppm: float) -> np.ndarray:
    """States-TPPI coefficients: rows 2k, 2k+1 = (-1)^k cos, (-1)^k sin."""
    sw1 = SW1_PPM * SF
    t = np.arange(N1) / sw1
    c = np.exp(2j * np.pi * (ppm - CARRIER) * SF * t - np.pi * FWHM_PPM * SF * t)
    sign = (-1.0) ** np.arange(N1)
    rows = np.empty(2 * N1)
    rows[0::2], rows[1::2] = sign * c.real, sign * c.imag
    return rows


def _topspin_2rr(ser: np.ndarray) -> np.ndarray:
    """TopSpin's xfb of the ser: independent of exsyfit's transforms."""
    sw2 = SW2_PPM * SF
    x = ser * np.exp(-np.pi * LB2 * np.arange(TD2) / sw2)  # EM on the delayed FID
    x = _dft_nmr(x, SI2, axis=1)
    i = np.arange(SI2)
    phc0 = -180.0 * GRPDLY  # as stored in procs (mod 360)
    x = x * np.exp(-2j * np.pi * GRPDLY * i / SI2) * np.exp(-1j * np.deg2rad(phc0))
    re = x.real  # hypercomplex: only the real F2 part reaches 2rr
    t1 = (re[0::2] + 1j * re[1::2]) * ((-1.0) ** np.arange(N1))[:, None]
    t1[0] *= 0.5  # FCOR
    w = np.sin(np.pi / 2 + (np.pi / 2) * np.arange(N1) / (N1 - 1)) ** 2  # QSINE SSB 2
    return _dft_nmr(t1 * w[:, None], SI1, axis=0).real


def write_experiment(folder: Path, temp_K: float, tm: float, rng: np.random.Generator,
                     write_2rr: bool = True) -> Path:
    vol = true_volumes(temp_K, tm)
    names = list(SITES)
    ser = np.zeros((2 * N1, TD2), complex)
    for j, started in enumerate(names):  # F1: started site
        for i, detected in enumerate(names):  # F2: detected site
            ser += vol[i, j] * np.outer(_t1_rows(SITES[started]), _t2_signal(SITES[detected]))
    ser += NOISE * (rng.standard_normal(ser.shape) + 1j * rng.standard_normal(ser.shape))
    folder.mkdir(parents=True)
    inter = np.empty((2 * N1, 2 * TD2))
    inter[:, 0::2], inter[:, 1::2] = ser.real, ser.imag
    inter.astype("<f8").tofile(folder / "ser")
    d = [0.0] * 64
    d[8] = tm
    bf = SF
    sfo = SF * (1 + CARRIER * 1e-6)
    common = {"NUC1": "7Li", "BF1": bf, "SFO1": sfo, "O1": CARRIER * SF, "NS": 16, "RG": 1.0,
              "TE": temp_K, "D": d, "PULPROG": "noesyph", "CNST": [0.0] * 64, "MASR": 0}
    _jcamp(folder / "acqus", {**common, "TD": 2 * TD2, "SW_h": SW2_PPM * SF, "SW": SW2_PPM,
                              "DTYPA": 2, "BYTORDA": 0, "NC": 0, "AQ_mod": 3, "DIGMOD": 1,
                              "DSPFVS": 20, "DECIM": 1520, "GRPDLY": GRPDLY, "FnMODE": 0})
    _jcamp(folder / "acqu2s", {**common, "TD": 2 * N1, "SW_h": SW1_PPM * SF, "SW": SW1_PPM,
                               "FnMODE": 5})
    pdata = folder / "pdata" / "1"
    pdata.mkdir(parents=True)
    phc0 = (-180.0 * GRPDLY + 180.0) % 360.0 - 180.0
    base = {"SF": bf, "PHC1": 0.0, "BYTORDP": 0, "DTYPP": 0, "MC2": 0, "STSR": 0,
            "TDeff": 0, "ME_mod": 0, "BC_mod": 0, "GB": 0.0}
    if write_2rr:
        rr = _topspin_2rr(ser)
        nc = int(np.floor(np.log2(np.abs(rr).max()))) - 28
        np.rint(rr / 2.0**nc).astype("<i4").tofile(pdata / "2rr")
    else:
        nc = 0
    _jcamp(pdata / "procs", {**base, "SI": SI2, "FTSIZE": SI2, "STSI": SI2, "XDIM": SI2,
                             "OFFSET": CARRIER + SW2_PPM / 2, "SW_p": SW2_PPM * SF,
                             "WDW": 1, "LB": LB2, "SSB": 0.0, "PHC0": phc0, "FCOR": 1.0,
                             "NC_proc": nc})
    _jcamp(pdata / "proc2s", {**base, "SI": SI1, "FTSIZE": SI1, "STSI": SI1, "XDIM": SI1,
                              "OFFSET": CARRIER + SW1_PPM / 2, "SW_p": SW1_PPM * SF,
                              "WDW": 4, "LB": 0.0, "SSB": 2.0, "PHC0": 0.0, "FCOR": 0.5,
                              "MC2": 4, "NC_proc": nc})
    return folder


# ---------------------------------------------------------------- series and fits


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("topspin_convention")
    rng = np.random.default_rng(2024)
    folders = []
    for temp in TEMPS:
        for n, tm in enumerate(MIXES):
            folders.append(write_experiment(root / f"{int(temp)}_{n}", temp, tm, rng))
    raw = [bruker.read_experiment(f, prefer="raw", normalise=False)[0] for f in folders]
    pro = [bruker.read_experiment(f, prefer="processed", normalise=False)[0] for f in folders]
    opts = IntegrationOptions(method="lineshape")
    res_raw = integrate_series(raw, SITES, options=opts)
    res_pro = integrate_series(pro, SITES, options=IntegrationOptions(
        method="lineshape", processed_lineshape="procs"))
    return raw, pro, res_raw, res_pro


def _matrix(table, temp: float, tm: float, column: str) -> np.ndarray:
    rows = table[(np.isclose(table["temperature_K"], temp))
                 & (np.isclose(table["mixing_time_s"], tm))]
    out = np.zeros((2, 2))
    names = list(SITES)
    for _, r in rows.iterrows():
        out[names.index(r["to_site"]), names.index(r["from_site"])] = r[column]
    return out


def test_sites_sit_on_their_points(series):
    raw, _, _, _ = series
    s = raw[0]
    for ppm in SITES.values():
        i2 = int(np.argmin(np.abs(s.ppm_f2 - ppm)))
        i1 = int(np.argmin(np.abs(s.ppm_f1 - ppm)))
        assert abs(s.ppm_f2[i2] - ppm) < 0.5 * s.ppm_step_f2
        block = s.data[i1 - 2:i1 + 3, i2 - 2:i2 + 3]
        assert np.unravel_index(np.argmax(block), block.shape) == (2, 2)


def test_cross_peaks_vanish_at_zero_mixing_time(series):
    _, _, res, _ = series
    for temp in TEMPS:
        vol = _matrix(res.table, temp, MIXES[0], "volume")
        sig = _matrix(res.table, temp, MIXES[0], "sigma")
        truth = true_volumes(temp, MIXES[0])
        diag = np.diag(vol).mean()
        for i, j in ((0, 1), (1, 0)):
            assert abs(vol[i, j] - truth[i, j]) < 4.0 * sig[i, j]
            assert abs(vol[i, j]) < 0.01 * diag  # not the 4 % of a wrong convention


def test_line_shape_residuals_match_the_noise(series):
    _, _, res, _ = series
    assert len(res.groups) == len(TEMPS)
    for g in res.groups:
        assert 0.8 < g.misfit_ratio < 1.25


def _fit(table) -> tuple[np.ndarray, np.ndarray]:
    """Least squares: ln k(TREF), Ea, R1 and one scale per temperature."""
    names = list(SITES)
    rows = table.reset_index(drop=True)
    ti = np.array([TEMPS.index(min(TEMPS, key=lambda t: abs(t - v)))
                   for v in rows["temperature_K"]])
    i_det = np.array([names.index(s) for s in rows["to_site"]])
    j_st = np.array([names.index(s) for s in rows["from_site"]])
    temps = np.array(TEMPS)[ti]
    tm = rows["mixing_time_s"].to_numpy(float)
    v, s = rows["volume"].to_numpy(float), rows["sigma"].to_numpy(float)

    def resid(p: np.ndarray) -> np.ndarray:
        k = np.exp(p[0] - p[1] / KB_EV * (1.0 / temps - 1.0 / TREF))
        a = mixing_matrix_two_site(k, k, p[2], p[2], tm)
        model = p[3 + ti] * 0.5 * a[np.arange(len(v)), i_det, j_st]
        return (v - model) / s

    first = tm == tm.min()  # start: each temperature's scale from its shortest mixing time
    scale0 = [2.0 * v[first & (ti == n)].sum() for n in range(len(TEMPS))]
    p0 = np.array([np.log(10.0), 0.2, 1.0, *scale0])
    fit = optimize.least_squares(resid, p0)
    jac = fit.jac
    cov = np.linalg.inv(jac.T @ jac) * max(np.sum(fit.fun**2) / (len(v) - len(p0)), 1.0)
    return fit.x, np.sqrt(np.diag(cov))


def test_fit_returns_the_true_rates_and_activation_energy(series):
    _, _, res, _ = series
    p, err = _fit(res.table)
    assert abs(p[1] - EA_EV) < 3.0 * err[1] and err[1] < 0.01
    assert abs(p[0] - np.log(K_310)) < 3.0 * err[0]
    assert abs(p[2] - R1) < 3.0 * err[2]


def test_raw_and_2rr_routes_agree(series):
    _, pro, res_raw, res_pro = series
    assert pro[0].metadata["processing_f1_topspin"]["mode"] == "complex"
    for temp in TEMPS:
        for tm in MIXES:
            va, sa = (_matrix(res_raw.table, temp, tm, c) for c in ("volume", "sigma"))
            vb, sb = (_matrix(res_pro.table, temp, tm, c) for c in ("volume", "sigma"))
            fa, fb = va / va.sum(), vb / vb.sum()  # the two routes differ by one scale
            z = (fa - fb) / np.hypot(sa / va.sum(), sb / vb.sum())
            assert np.abs(z).max() < 2.0
    pa, ea = _fit(res_raw.table)
    pb, eb = _fit(res_pro.table)
    assert eb[1] < 0.01 and abs(pb[1] - EA_EV) < 3.0 * eb[1]
    assert abs(pa[1] - pb[1]) < 2.0 * np.hypot(ea[1], eb[1])
    assert abs(pa[0] - pb[0]) < 2.0 * np.hypot(ea[0], eb[0])  # k: 0.05 % apart
