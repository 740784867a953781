"""exsyfit's processing of real Bruker raw data against TopSpin's own 2rr of the same experiment.

Both datasets (NMRTools.jl, MIT) hold the ser and TopSpin's processed spectrum:

* ``nmrtools-19f-cest-pseudo2d``: F2 path only (digital filter with fractional GRPDLY 67.987,
  EM LB 3, PHC0 -172.35, strip STSR 1792 / STSI 512 of FTSIZE 4096).
* ``nmrtools-15n-trosy-2d``: echo-antiecho 15N TROSY (F2 QSINE, PHC0 -87.5, strip; F1 QSINE,
  FCOR 0.5, forward linear prediction 96 -> 192 complex points, NCOEF 32).  TopSpin also ran
  its qfil solvent filter (BC_mod 6) in F2, which exsyfit does not reproduce: the comparison
  leaves out 1 ppm either side of the water line (4.7 ppm).

Each test also checks that a wrong convention (flipped sign, reversed F1, other prediction,
missing group-delay phase) visibly lowers the correlation, so the agreement is not an accident.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exsyfit.io import bruker
from exsyfit.processing.raw import process_planes
from exsyfit.processing.transforms import phase, transform_f2

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
F19 = REAL / "nmrtools-19f-cest-pseudo2d"
N15 = REAL / "nmrtools-15n-trosy-2d"


def _need(folder: Path) -> None:
    if not (folder / "ser").is_file() or not (folder / "pdata" / "1" / "2rr").is_file():
        pytest.skip(f"real ser + 2rr pair not available at {folder} (shared/data/real)")


def _r(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _topspin_2rr(folder: Path) -> np.ndarray:
    import nmrglue as ng

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, rr = ng.bruker.read_pdata(str(folder / "pdata" / "1"), bin_files=["2rr"],
                                     scale_data=False, read_acqus=False)
    return np.asarray(rr, dtype=float)


# ---------------------------------------------------------------- 19F: the F2 path


def _f19_rows(extra_phase_deg: float = 0.0, sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    exp = bruker._Experiment(F19, 1)
    rows = int(exp.num("TD", which="acqu2s"))
    fid = bruker._read_ser(exp, rows)
    acq = bruker._acquisition(exp, "QF", rows, fid.shape[1])
    opts = acq.defaults.merged_with(acq.defaults)
    spec = transform_f2(fid, acq, opts)
    spec = phase(spec, sign * opts.p0_f2 + extra_phase_deg, opts.p1_f2, axis=1)
    start, count = acq.strip_f2
    return spec[:, start:start + count].real, _topspin_2rr(F19)[:rows]


def test_19f_f2_path_equals_topspin_rows():
    _need(F19)
    ours, rr = _f19_rows()
    assert ours.shape == rr.shape == (101, 512)
    assert _r(ours, rr) > 0.99999
    # same peak position in every row (the saturated water-like line of each CEST row)
    assert np.array_equal(np.argmax(ours, axis=1), np.argmax(rr, axis=1))
    # TopSpin's scale: the same up to one factor for all rows
    ratio = (ours.ravel() @ rr.ravel()) / (ours.ravel() @ ours.ravel())
    assert np.abs(rr - ratio * ours).max() < 1e-3 * np.abs(rr).max()


def test_19f_wrong_phase_conventions_lower_the_correlation():
    _need(F19)
    good, rr = _f19_rows()
    flipped, _ = _f19_rows(sign=-1.0)  # PHC0 applied as exp(+i phi)
    no_grpdly_phase, _ = _f19_rows(extra_phase_deg=-(180.0 * 67.9868469238281) % 360.0)
    assert _r(flipped, rr) < 0.98
    assert _r(no_grpdly_phase, rr) < 0.9995 < _r(good, rr)


# ---------------------------------------------------------------- 15N TROSY: echo-antiecho 2D


@pytest.fixture(scope="module")
def trosy():
    _need(N15)
    raw = bruker.read_experiment(N15, prefer="raw", normalise=False)[0]
    pro = bruker.read_experiment(N15, prefer="processed", normalise=False)[0]
    return raw, pro


def _away_from_water(ppm_f2: np.ndarray) -> np.ndarray:
    return np.abs(ppm_f2 - 4.7) > 1.0


def test_15n_trosy_equals_topspin_2rr_away_from_water(trosy):
    raw, pro = trosy
    assert raw.data.shape == pro.data.shape == (256, 2048)
    np.testing.assert_allclose(raw.ppm_f1, pro.ppm_f1, atol=1e-4)
    np.testing.assert_allclose(raw.ppm_f2, pro.ppm_f2, atol=1e-4)
    keep = _away_from_water(raw.ppm_f2)
    assert _r(raw.data[:, keep], pro.data[:, keep]) > 0.999
    assert raw.metadata["phases"] == {"F2": {"p0_deg": pytest.approx(-87.50001), "p1_deg": 0.0},
                                      "F1": {"p0_deg": 0.0, "p1_deg": 0.0}, "source": "procs"}
    assert any("qfil" in n for n in raw.metadata["processing_notes"])
    assert raw.metadata["processing_f1"]["td_complex"] == 192  # after linear prediction


def test_15n_trosy_peaks_at_the_same_points(trosy):
    from scipy import ndimage

    raw, pro = trosy
    keep = _away_from_water(pro.ppm_f2)
    data = np.where(keep[None, :], pro.data, 0.0)
    sigma = 1.4826 * np.median(np.abs(data[:, keep] - np.median(data[:, keep])))
    local = (data == ndimage.maximum_filter(data, size=7)) & (data > 15 * sigma)
    peaks = np.argwhere(local)
    assert len(peaks) >= 20
    shifts = np.array([_centroid(raw.data, i, j) - _centroid(pro.data, i, j) for i, j in peaks])
    # same positions to a small fraction of a point (flat-topped peaks can tie at the maximum)
    assert np.abs(shifts).max() < 0.1


def _centroid(data: np.ndarray, i: int, j: int) -> np.ndarray:
    """Centre of mass (points) of the 3 x 3 neighbourhood of (i, j), for positive values."""
    win = np.clip(data[i - 1:i + 2, j - 1:j + 2], 0.0, None)
    d1, d2 = np.mgrid[-1:2, -1:2]
    return np.array([i + (win * d1).sum() / win.sum(), j + (win * d2).sum() / win.sum()])


def _trosy_variant(**changes) -> np.ndarray:
    exp = bruker._Experiment(N15, 1)
    planes, fnmode = bruker._raw_planes(exp, "2D")
    acq = bruker._acquisition(exp, fnmode, planes[0].shape[0], planes[0].shape[1])
    plane = planes[0]
    if changes.pop("swap_pairs", False):  # echo and antiecho exchanged = flipped EA sign
        plane = plane.reshape(-1, 2, plane.shape[1])[:, ::-1].reshape(plane.shape)
    acq = replace(acq, **changes)
    return process_planes([plane], acq).spectra[0]


def test_15n_wrong_conventions_lower_the_correlation(trosy):
    raw, pro = trosy
    keep = _away_from_water(raw.ppm_f2)
    ref = pro.data[:, keep]
    assert _r(_trosy_variant(swap_pairs=True)[:, keep], ref) < 0.5
    assert _r(raw.data[::-1][:, keep], ref) < 0.5  # F1 reversed
    assert _r(np.roll(raw.data, 1, axis=0)[:, keep], ref) < 0.99  # carrier one point off
    complex_ncoef = _r(_trosy_variant(lp_f1=(192, 32))[:, keep], ref)
    no_prediction = _r(_trosy_variant(lp_f1=None)[:, keep], ref)
    assert complex_ncoef < 0.998 and no_prediction < 0.96
