"""Single-mixing-time rates by the matrix logarithm (Perrin & Gipe 1984; Perrin & Dwyer 1990).

For one spectrum at mixing time ``t_m`` the peak volumes are ``V = c A(t_m) diag(M(0))`` with
``A = expm(-L t_m)`` (see :mod:`exsyfit.kinetics.exchange` for the conventions: ``V[i, j]`` started
on
site j in F1, detected on site i in F2; ``K[i, j]`` = rate j -> i).  Dividing every column j by
the starting magnetisation of site j, in volume units (``c M_j(0)``), gives ``A``, and

    L = -logm(A) / t_m,    logm(A) = X ln(Lambda) X^-1   (A = X Lambda X^-1)
    K[i, j] = -L[i, j] (i != j),    R1_j = L[j, j] - sum_{i != j} K[i, j]

so one spectrum gives the full N x N kinetic matrix and the relaxation rates.  The method is a
useful cross-check of a global fit, not a replacement: it fails when noise makes an eigenvalue of
``A`` negative or complex (common at very short or very long mixing times), and such cases are
reported as failures with the reason, never "repaired" by taking real parts.  Rates or relaxation
rates that come out negative beyond rounding are failures too (for example a non-equilibrium,
cross-polarisation start analysed as if it were an equilibrium start).

Scale of the starting magnetisation
-----------------------------------
``M(0)`` must be on the volume scale.  An overall factor s in ``M(0)`` leaves every exchange
rate unchanged and shifts every R1 by ``ln(s) / t_m``, so populations on a different scale give
correct rates but meaningless R1 values (and may then be flagged as negative R1).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from exsyfit.errors import ConfigError, VolumeTableError
from exsyfit.integrate.volumes import REQUIRED_COLUMNS
from exsyfit.kinetics.matrixlog_compare import compare_with_global_fit

__all__ = [
    "MatrixLogResult",
    "rates_from_volumes",
    "estimate_start_magnetisation",
    "matrix_log_table",
    "compare_with_global_fit",
    "CAUSES",
]

_COMPLEX_TOL = 1e-9  # relative imaginary part of an eigenvalue still treated as rounding
_CONDITION_LIMIT = 1e12  # eigenvector condition number beyond which A counts as defective
_RESOLUTION = 1e-10  # eigenvalues below this fraction of the largest carry no rate information
# the volume-table columns except sigma (needed only for the Monte Carlo uncertainty)
_REQUIRED_COLUMNS = tuple(c for c in REQUIRED_COLUMNS if c != "sigma")


@dataclass
class MatrixLogResult:
    """Outcome of the matrix-logarithm analysis of one spectrum.

    Attributes
    ----------
    ok : bool
        True when every eigenvalue of the normalised volume matrix is real and positive (and
        above 1e-10 of the largest, below which it is lost in rounding) and every rate and
        relaxation rate is non-negative (within rounding).
    reason : str
        ``""`` when ``ok``; otherwise every problem found, separated by ``"; "``.
    K : numpy.ndarray, shape (n, n)
        Rate matrix, ``K[i, j]`` = rate j -> i, s^-1, zero diagonal.  NaN when the logarithm
        does not exist (negative, zero or complex eigenvalue, defective matrix).  When the
        logarithm exists but gives negative values, they are kept here for diagnosis.
    r1 : numpy.ndarray, shape (n,)
        Longitudinal relaxation rates, s^-1 (NaN as for ``K``).
    L : numpy.ndarray, shape (n, n)
        Relaxation-exchange matrix ``-logm(A)/t_m``, s^-1 (NaN as for ``K``).
    eigenvalues : numpy.ndarray, shape (n,)
        Eigenvalues of ``A = V diag(M(0))^-1``, sorted by decreasing real part (complex dtype
        only when some are complex beyond rounding).
    """

    ok: bool
    reason: str
    K: np.ndarray
    r1: np.ndarray
    L: np.ndarray
    eigenvalues: np.ndarray

    @property
    def k_ex(self) -> np.ndarray:
        """Pair exchange rates ``K + K.T`` (s^-1), zero diagonal."""
        return self.K + self.K.T


# --------------------------------------------------------------------------------------------
# batched core
# --------------------------------------------------------------------------------------------


@dataclass
class _BatchLog:
    """Arrays of a batched matrix logarithm (leading axes = batch)."""

    eigenvalues: np.ndarray  # (..., n), sorted by decreasing real part
    complex_eig: np.ndarray  # (...,) bool
    nonpositive_eig: np.ndarray  # (...,) bool
    unresolved_eig: np.ndarray  # (...,) bool: positive but below the numerical resolution
    defective: np.ndarray  # (...,) bool
    condition: np.ndarray  # (...,)
    L: np.ndarray  # (..., n, n)
    K: np.ndarray  # (..., n, n)
    r1: np.ndarray  # (..., n)
    negative_rate: np.ndarray  # (..., n, n) bool
    negative_r1: np.ndarray  # (..., n) bool

    @property
    def ok(self) -> np.ndarray:
        log_exists = ~(
            self.complex_eig | self.nonpositive_eig | self.unresolved_eig | self.defective
        )
        signs = ~(self.negative_rate.any(axis=(-2, -1)) | self.negative_r1.any(axis=-1))
        return log_exists & signs


def _matrix_log_batch(
    V: np.ndarray, m0: np.ndarray, t: np.ndarray, tolerance: float
) -> _BatchLog:
    """Matrix logarithm of ``V diag(m0)^-1`` for a stack of spectra.

    Parameters
    ----------
    V : ndarray, shape (..., n, n)
        Volumes (detected i, started j).
    m0 : ndarray, shape (..., n)
        Starting magnetisation on the volume scale.
    t : ndarray, shape (...)
        Mixing times, s (positive).
    tolerance : float
        Negative rates or R1 down to ``-tolerance * max|L|`` count as rounding.
    """
    A = V / m0[..., None, :]
    n = A.shape[-1]
    finite = np.isfinite(A).all(axis=(-2, -1))
    A_safe = np.where(finite[..., None, None], A, np.eye(n))
    lam, X = np.linalg.eig(A_safe)
    order = np.argsort(-lam.real, axis=-1)
    lam = np.take_along_axis(lam, order, axis=-1)
    X = np.take_along_axis(X, order[..., None, :], axis=-1)

    scale = np.max(np.abs(lam), axis=-1)
    complex_eig = np.max(np.abs(lam.imag), axis=-1) > _COMPLEX_TOL * np.maximum(scale, 1e-300)
    # a negative eigenvalue within rounding of zero is an unresolved one, not a negative one
    tiny = _RESOLUTION * scale[..., None]
    nonpositive_eig = ((lam.real < -tiny) | (lam.real == 0.0)).any(axis=-1) & ~complex_eig
    unresolved_eig = (
        (lam.real < _RESOLUTION * scale[..., None]).any(axis=-1) & ~complex_eig & ~nonpositive_eig
    )
    condition = np.linalg.cond(X)
    defective = ~(np.isfinite(condition) & (condition < _CONDITION_LIMIT))
    bad = complex_eig | nonpositive_eig | unresolved_eig | defective | ~finite

    lam_r = np.where(bad[..., None], 1.0, lam.real)
    X_r = np.where(bad[..., None, None], np.eye(n), X.real)
    log_lam = np.log(lam_r)
    L = -np.einsum("...ik,...k,...kj->...ij", X_r, log_lam, np.linalg.inv(X_r))
    L = L / np.asarray(t, dtype=float)[..., None, None]
    L = np.where(bad[..., None, None], np.nan, L)

    off = 1.0 - np.eye(n)
    K = np.where(off > 0, -L, 0.0)
    r1 = np.diagonal(L, axis1=-2, axis2=-1) - K.sum(axis=-2)
    tol = tolerance * np.max(np.abs(np.nan_to_num(L)), axis=(-2, -1))
    negative_rate = (K < -tol[..., None, None]) & (off > 0)
    negative_r1 = r1 < -tol[..., None]
    eig_out = lam if complex_eig.any() else lam.real
    return _BatchLog(
        eigenvalues=eig_out,
        complex_eig=complex_eig | ~finite,
        nonpositive_eig=nonpositive_eig & finite,
        unresolved_eig=unresolved_eig & finite,
        defective=defective & finite & ~complex_eig & ~nonpositive_eig & ~unresolved_eig,
        condition=condition,
        L=L,
        K=K,
        r1=r1,
        negative_rate=negative_rate,
        negative_r1=negative_r1,
    )


def _reason(res: _BatchLog, index: tuple, sites: Sequence[str]) -> str:
    """Human-readable list of the problems of one element of a batched result."""
    problems: list[str] = []
    lam = res.eigenvalues[index]
    if res.complex_eig[index]:
        if not np.isfinite(lam).all():
            problems.append("non-finite normalised volume matrix")
        else:
            worst = lam[np.argmax(np.abs(lam.imag))]
            problems.append(
                f"complex eigenvalues of the normalised volume matrix ({worst.real:.4g} "
                f"{'+' if worst.imag >= 0 else '-'} {abs(worst.imag):.3g}j)"
            )
    elif res.nonpositive_eig[index]:
        for q, value in enumerate(np.real(lam)):
            if value == 0.0 or value < -_RESOLUTION * np.max(np.abs(lam)):
                word = "zero" if value == 0.0 else "negative"
                problems.append(
                    f"eigenvalue {q + 1} of the normalised volume matrix is {word} ({value:.3g})"
                )
    elif res.unresolved_eig[index]:
        scale = np.max(np.abs(lam))
        for q, value in enumerate(np.real(lam)):
            if value < _RESOLUTION * scale:
                problems.append(
                    f"eigenvalue {q + 1} of the normalised volume matrix ({value:.3g}) is below "
                    f"the numerical resolution ({_RESOLUTION:g} of the largest): the mixing time "
                    "is too long for these rates"
                )
    elif res.defective[index]:
        problems.append(
            "normalised volume matrix is not diagonalisable (eigenvector condition number "
            f"{res.condition[index]:.3g})"
        )
    else:
        K = res.K[index]
        for i, j in zip(*np.nonzero(res.negative_rate[index]), strict=True):
            problems.append(f"negative rate k_{sites[j]}->{sites[i]} = {K[i, j]:.3g} s^-1")
        for j in np.nonzero(res.negative_r1[index])[0]:
            problems.append(f"negative R1_{sites[j]} = {res.r1[index][j]:.3g} s^-1")
    return "; ".join(problems)


#: What the ``cause`` column of :func:`matrix_log_table` can say, and what it means.
CAUSES = {
    "": "the logarithm exists and every rate and R1 is non-negative",
    "input": "a peak is missing, the mixing time is not positive or no starting "
             "magnetisation could be estimated",
    "noise": "the cross peaks are within the noise (or noise replicas pass and fail alike): "
             "the failure says nothing about the model",
    "normalisation": "the normalised volume matrix has a column sum above 1: the starting "
                     "magnetisation (volume scale) is underestimated or the volumes of that "
                     "spectrum are scaled differently",
    "non-equilibrium start": "the cross peaks V_ij and V_ji differ beyond the noise: the "
                             "magnetisation did not start at equilibrium (e.g. cross "
                             "polarisation) or the two cross peaks were integrated differently",
    "negative eigenvalue": "an eigenvalue of the normalised volume matrix is negative with "
                           "strong cross peaks: the volumes are not those of first-order "
                           "exchange (artefact, overlap, wrong phase)",
    "complex eigenvalues": "the normalised volume matrix has complex eigenvalues: the volumes "
                           "are not those of first-order exchange between these sites",
    "mixing time too long": "the fast eigenvalue has decayed below the numerical resolution",
    "not diagonalisable": "the normalised volume matrix is defective",
    "negative rate": "the logarithm exists but gives a negative rate or R1 (wrong starting "
                     "magnetisation, or a non-equilibrium start)",
}


def _diagnose(res: _BatchLog, q: int, V: np.ndarray, sigma: np.ndarray | None,
              m0: np.ndarray, mc_failure: float | None) -> tuple[str, str]:
    """(cause, explanation) of the failure of spectrum q (see :data:`CAUSES`)."""
    n = V.shape[-1]
    off = ~np.eye(n, dtype=bool)
    cross = np.abs(V[off])
    if sigma is not None and np.isfinite(sigma[off]).all() and (sigma[off] > 0).all():
        snr = cross / sigma[off]
        if snr.max() < 3.0:
            return "noise", (f"the strongest cross peak is {snr.max():.1f} sigma: within the "
                             "noise")
    if mc_failure is not None and 0.05 < mc_failure < 0.95:
        return "noise", (f"{100 * mc_failure:.0f} % of the noise replicas fail: whether this "
                         "spectrum passes is decided by the noise")
    for i in range(n):
        for j in range(i + 1, n):
            diff = abs(V[i, j] - V[j, i])
            noise = (np.sqrt(sigma[i, j] ** 2 + sigma[j, i] ** 2) if sigma is not None
                     else 0.0)
            mean = 0.5 * (abs(V[i, j]) + abs(V[j, i]))
            if diff > max(3.0 * noise, 0.05 * mean) and mean > 0:
                return "non-equilibrium start", (
                    f"cross peaks {j + 1}->{i + 1} and {i + 1}->{j + 1} differ by "
                    f"{100 * diff / mean:.0f} % (more than the noise): with an equilibrium "
                    "start they are equal; a non-equilibrium start (cross polarisation) or "
                    "unequal integration")
    A = V / m0[None, :]
    col = A.sum(axis=0)
    col_sd = (np.sqrt(np.nansum((sigma / m0[None, :]) ** 2, axis=0))
              if sigma is not None else np.zeros(n))
    over = col - 1.0 > np.maximum(3.0 * col_sd, 1e-9)
    if over.any():
        j = int(np.argmax(col - 1.0))
        return "normalisation", (f"the volumes that started on site {j + 1} add up to "
                                 f"{col[j]:.3g} of its starting magnetisation (at most 1 is "
                                 "possible): the starting magnetisation is too small for "
                                 "this spectrum")
    if res.complex_eig[q]:
        return "complex eigenvalues", CAUSES["complex eigenvalues"]
    if res.nonpositive_eig[q]:
        return "negative eigenvalue", CAUSES["negative eigenvalue"]
    if res.unresolved_eig[q]:
        return "mixing time too long", CAUSES["mixing time too long"]
    if res.defective[q]:
        return "not diagonalisable", CAUSES["not diagonalisable"]
    return "negative rate", CAUSES["negative rate"]


def _default_sites(n: int) -> list[str]:
    return [chr(ord("A") + q) if q < 26 else f"S{q}" for q in range(n)]


# --------------------------------------------------------------------------------------------
# one spectrum
# --------------------------------------------------------------------------------------------


def rates_from_volumes(
    V: np.ndarray,
    start_magnetisation: Sequence[float] | np.ndarray,
    mixing_time_s: float,
    *,
    average_cross_peaks: bool = False,
    sites: Sequence[str] | None = None,
    tolerance: float = 1e-9,
) -> MatrixLogResult:
    """Rate matrix and relaxation rates from the volumes of one spectrum (matrix logarithm).

    Parameters
    ----------
    V : array_like, shape (n, n)
        Peak volumes, ``V[i, j]`` = peak started on site j (F1), detected on site i (F2).
    start_magnetisation : array_like, shape (n,)
        Magnetisation of each site at the start of the mixing time, on the volume scale
        (``c M_j(0)``; for an equilibrium start ``c M0 p_j``).  See the module notes on scale.
    mixing_time_s : float
        Mixing time, s (> 0).
    average_cross_peaks : bool, optional
        Replace ``V[i, j]`` and ``V[j, i]`` by their mean first.  Valid only for an
        equilibrium start, where the two are equal in theory (``A diag(p)`` is symmetric).
    sites : sequence of str, optional
        Site names used in failure messages (default ``A, B, C, ...``).
    tolerance : float, optional
        Negative rates or R1 down to ``-tolerance * max|L|`` are treated as rounding.

    Returns
    -------
    MatrixLogResult
        ``ok`` False, with the reason, when an eigenvalue is negative, zero or complex, when the
        matrix is not diagonalisable, or when a rate or R1 is negative.

    Raises
    ------
    VolumeTableError
        ``V`` is not a square matrix of finite numbers.
    ConfigError
        The starting magnetisation or the mixing time is not usable.
    """
    V = np.array(V, dtype=float)
    if V.ndim != 2 or V.shape[0] != V.shape[1] or V.shape[0] < 2:
        raise VolumeTableError(
            f"volume matrix must be square with at least 2 sites; found shape {V.shape}"
        )
    if not np.isfinite(V).all():
        raise VolumeTableError(f"volume matrix contains non-finite values: {V.tolist()}")
    n = V.shape[0]
    m0 = _check_start(start_magnetisation, n, "start_magnetisation")
    t = float(mixing_time_s)
    if not (np.isfinite(t) and t > 0.0):
        raise ConfigError(f"mixing_time_s must be a positive number of seconds; found {t!r}")
    site_names = list(sites) if sites is not None else _default_sites(n)
    if len(site_names) != n:
        raise ConfigError(f"sites has {len(site_names)} names for a {n} x {n} volume matrix")
    if average_cross_peaks:
        V = 0.5 * (V + V.T)
    res = _matrix_log_batch(V, m0, np.asarray(t), tolerance)
    ok = bool(res.ok)
    return MatrixLogResult(
        ok=ok,
        reason="" if ok else _reason(res, (), site_names),
        K=res.K,
        r1=res.r1,
        L=res.L,
        eigenvalues=res.eigenvalues,
    )


def _check_start(value: Sequence[float] | np.ndarray, n: int, what: str) -> np.ndarray:
    m0 = np.asarray(value, dtype=float)
    if m0.shape != (n,) or not np.isfinite(m0).all() or (m0 <= 0.0).any():
        raise ConfigError(
            f"{what} must be {n} positive finite numbers (one per site); found {m0.tolist()}"
        )
    return m0


# --------------------------------------------------------------------------------------------
# volume tables
# --------------------------------------------------------------------------------------------


@dataclass
class _Series:
    """Volumes of a table as arrays, one matrix per spectrum."""

    keys: pd.DataFrame  # experiment, temperature_K, mixing_time_s per spectrum
    V: np.ndarray  # (n_spec, n, n), NaN where a peak is missing
    sigma: np.ndarray | None  # (n_spec, n, n)
    missing: list[str]  # per spectrum, "" or the list of missing peaks


def _table_to_series(volumes: pd.DataFrame, sites: Sequence[str], need_sigma: bool) -> _Series:
    """Check a volumes.csv-style table and arrange it as one matrix per spectrum."""
    required = _REQUIRED_COLUMNS + (("sigma",) if need_sigma else ())
    use_sigma = need_sigma or "sigma" in volumes.columns
    absent = [c for c in required if c not in volumes.columns]
    if absent:
        raise VolumeTableError(
            f"volume table is missing column(s) {', '.join(absent)}; expected columns "
            f"{', '.join(required)}; found {', '.join(map(str, volumes.columns))}"
        )
    sites = [str(s) for s in sites]
    if len(set(sites)) != len(sites) or len(sites) < 2:
        raise ConfigError(f"sites must be at least 2 distinct names; found {sites}")
    table = volumes.copy()
    table["from_site"] = table["from_site"].astype(str)
    table["to_site"] = table["to_site"].astype(str)
    unknown = sorted(set(table["from_site"]).union(table["to_site"]) - set(sites))
    if unknown:
        raise VolumeTableError(
            f"volume table names site(s) {', '.join(unknown)} that are not among the sites "
            f"{', '.join(sites)}; the matrix logarithm needs every site of the spectrum"
        )
    for col in ("temperature_K", "mixing_time_s", "volume") + (("sigma",) if need_sigma else ()):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.nonzero(bad)[0][0])
            raise VolumeTableError(
                f"volume table column {col!r} must hold finite numbers; row {row} has "
                f"{table[col].iloc[row]!r}"
            )
        table[col] = values.astype(float)
    if need_sigma and (table["sigma"] < 0).any():
        row = int(np.nonzero((table["sigma"] < 0).to_numpy())[0][0])
        raise VolumeTableError(
            f"volume table column 'sigma' must be >= 0; row {row} has {table['sigma'].iloc[row]}"
        )
    key_cols = ["experiment", "temperature_K", "mixing_time_s"]
    dup = table.duplicated(key_cols + ["from_site", "to_site"], keep=False)
    if dup.any():
        row = table[dup].iloc[0]
        raise VolumeTableError(
            f"volume table has more than one row for experiment {row['experiment']!r}, "
            f"temperature_K {row['temperature_K']}, mixing_time_s {row['mixing_time_s']}, "
            f"peak {row['from_site']}->{row['to_site']}; expected one row per peak"
        )
    index = {s: q for q, s in enumerate(sites)}
    n = len(sites)
    keys = table[key_cols].drop_duplicates().sort_values(key_cols[1:] + ["experiment"])
    keys = keys.reset_index(drop=True)
    spec_index = {tuple(r): q for q, r in enumerate(keys.itertuples(index=False, name=None))}
    V = np.full((len(keys), n, n), np.nan)
    sigma = np.full((len(keys), n, n), np.nan) if use_sigma else None
    spec = [spec_index[k] for k in table[key_cols].itertuples(index=False, name=None)]
    i = table["to_site"].map(index).to_numpy()
    j = table["from_site"].map(index).to_numpy()
    V[spec, i, j] = table["volume"].to_numpy()
    if sigma is not None:
        sig = pd.to_numeric(table["sigma"], errors="coerce").to_numpy(dtype=float)
        sigma[spec, i, j] = np.where(np.isfinite(sig) & (sig >= 0), sig, np.nan)
    missing = [
        ", ".join(f"{sites[b]}->{sites[a]}" for a, b in zip(*np.nonzero(np.isnan(m)), strict=True))
        for m in V
    ]
    return _Series(keys=keys, V=V, sigma=sigma, missing=missing)


def _estimate_m0(V: np.ndarray, keys: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Starting magnetisation per spectrum from the data (batched over leading axes of V).

    Column sums ``S_j(t) = sum_i V[i, j]`` (everything that started on site j) are conserved by
    exchange and decay only by relaxation.  Per temperature, ``ln S_j`` at the two shortest
    distinct mixing times is extrapolated linearly to ``t = 0``; with one mixing time the column
    sums at that time are used as they are.
    """
    col = V.sum(axis=-2)  # (..., n_spec, n)
    m0 = np.full(col.shape, np.nan)
    source = [""] * len(keys)
    temps = keys["temperature_K"].to_numpy()
    times = keys["mixing_time_s"].to_numpy()
    for T in np.unique(temps):
        members = np.nonzero(temps == T)[0]
        complete = [q for q in members if np.isfinite(V[..., q, :, :]).all()]
        if not complete:
            for q in members:
                source[q] = "not estimated (no complete spectrum at this temperature)"
            continue
        uniq = np.unique(times[complete])
        mean_at = [
            col[..., [q for q in complete if times[q] == u], :].mean(axis=-2) for u in uniq[:2]
        ]
        if len(uniq) == 1:
            est = mean_at[0]
            label = f"column sums at the single mixing time {uniq[0]:g} s"
        else:
            t1, t2 = uniq[:2]
            with np.errstate(invalid="ignore", divide="ignore"):
                l1, l2 = np.log(mean_at[0]), np.log(mean_at[1])
                est = np.exp(l1 - t1 * (l2 - l1) / (t2 - t1))
            label = f"column sums extrapolated to 0 s from {t1:g} s and {t2:g} s"
        m0[..., members, :] = est[..., None, :]
        for q in members:
            source[q] = label
    return m0, source


def estimate_start_magnetisation(
    volumes: pd.DataFrame, sites: Sequence[str]
) -> dict[float, np.ndarray]:
    """Starting magnetisation per temperature, on the volume scale, estimated from the data.

    Parameters
    ----------
    volumes : pandas.DataFrame
        Volume table with columns experiment, temperature_K, mixing_time_s, from_site,
        to_site, volume.
    sites : sequence of str
        Site names in matrix order.

    Returns
    -------
    dict
        ``{temperature_K: array of shape (n_sites,)}``.

    Notes
    -----
    Everything that started on site j (the column sum ``S_j = sum_i V[i, j]``: diagonal plus
    cross peaks) is conserved by exchange and decays only by relaxation, so it is a better
    handle on ``c M_j(0)`` than the diagonal peak alone.  ``ln S_j`` at the two shortest
    distinct mixing times of a temperature is extrapolated linearly to ``t = 0`` (error of
    second order in the mixing times; with unequal R1 the extrapolation is exact only to
    first order).  With a single mixing time the column sums at that time are used, which makes
    the R1 values of the matrix logarithm meaningless (close to zero) but leaves the rates
    correct when the R1 values are equal.
    """
    series = _table_to_series(volumes, sites, need_sigma=False)
    m0, _ = _estimate_m0(series.V, series.keys)
    out: dict[float, np.ndarray] = {}
    for q, T in enumerate(series.keys["temperature_K"]):
        out.setdefault(float(T), m0[q])
    return out


def _given_m0(
    start: Mapping[float, Sequence[float]] | Sequence[float],
    keys: pd.DataFrame,
    n: int,
) -> np.ndarray:
    """Starting magnetisation per spectrum from what the user gave."""
    temps = keys["temperature_K"].to_numpy()
    if isinstance(start, Mapping):
        given = {
            float(T): _check_start(v, n, f"start_magnetisation[{T}]") for T, v in start.items()
        }
        m0 = np.empty((len(keys), n))
        for q, T in enumerate(temps):
            match = [g for g in given if np.isclose(g, T, rtol=0.0, atol=1e-6)]
            if not match:
                raise ConfigError(
                    f"start_magnetisation has no entry for temperature_K {T:g}; given for "
                    f"{', '.join(f'{g:g}' for g in sorted(given))}"
                )
            m0[q] = given[match[0]]
        return m0
    return np.broadcast_to(_check_start(start, n, "start_magnetisation"), (len(keys), n)).copy()


def _rate_columns(sites: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    n = len(sites)
    directed = [f"k_{sites[j]}->{sites[i]}_per_s" for j in range(n) for i in range(n) if i != j]
    relax = [f"R1_{s}_per_s" for s in sites]
    pairs = [f"k_ex_{sites[i]}<->{sites[j]}_per_s" for i, j in itertools.combinations(range(n), 2)]
    return directed, relax, pairs


def _rate_values(res: _BatchLog, n: int) -> np.ndarray:
    """Stack (..., n_columns) of directed rates, R1 and pair rates in column order."""
    directed = [res.K[..., i, j] for j in range(n) for i in range(n) if i != j]
    relax = [res.r1[..., j] for j in range(n)]
    pairs = [res.K[..., i, j] + res.K[..., j, i] for i, j in itertools.combinations(range(n), 2)]
    return np.stack(directed + relax + pairs, axis=-1)


def matrix_log_table(
    volumes: pd.DataFrame,
    sites: Sequence[str],
    start_magnetisation: Mapping[float, Sequence[float]] | Sequence[float] | None = None,
    *,
    average_cross_peaks: bool = False,
    n_draws: int = 0,
    seed: int | np.random.Generator | None = None,
    tolerance: float = 1e-9,
    fit_rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Matrix-logarithm rates for every spectrum of a volume table.

    Parameters
    ----------
    volumes : pandas.DataFrame
        Volume table (volumes.csv layout): experiment, temperature_K, mixing_time_s,
        from_site, to_site, volume, and sigma when ``n_draws > 0``.  One spectrum per
        (experiment, temperature_K, mixing_time_s).
    sites : sequence of str
        Site names, in the order used for the rate matrix.
    start_magnetisation : mapping or sequence, optional
        Starting magnetisation on the volume scale: one sequence for all temperatures, or a
        mapping ``{temperature_K: sequence}``.  Default: estimated per temperature from the
        data (see :func:`estimate_start_magnetisation`: column sums, extrapolated to 0 s from
        the two shortest mixing times).
    average_cross_peaks : bool, optional
        Average ``V_ij`` and ``V_ji`` first (equilibrium start only).
    n_draws : int, optional
        Number of Monte-Carlo replicas.  Each replica adds Gaussian noise of standard deviation
        ``sigma`` to every volume of the table, re-estimates the starting magnetisation (when it
        is estimated from the data) and repeats the analysis.  Adds ``<column>_q16`` and
        ``<column>_q84`` (percentiles over the successful replicas) and ``mc_failure_fraction``.
    seed : int or numpy.random.Generator, optional
        Seed of the Monte-Carlo replicas.
    tolerance : float, optional
        Relative tolerance for negative rates (see :func:`rates_from_volumes`).
    fit_rates : pandas.DataFrame, optional
        Posterior k_ex of a global fit (:meth:`exsyfit.fit.results.FitResult.rate_table`):
        adds the comparison columns of :func:`compare_with_global_fit`.

    Returns
    -------
    pandas.DataFrame
        One row per spectrum: experiment, temperature_K, mixing_time_s, ok, reason (the
        problem found and its likely cause in words), ``cause`` (one of the keys of
        :data:`CAUSES`, ``""`` when ok),
        ``k_<i>-><j>_per_s`` for every ordered pair, ``R1_<site>_per_s``,
        ``k_ex_<i><-><j>_per_s`` for every pair, ``M0_<site>`` (the starting magnetisation
        used) and ``M0_source``.  Rates are NaN where ``ok`` is False.

    Raises
    ------
    VolumeTableError
        Missing columns, non-finite numbers, duplicate peaks, or sites outside ``sites``.
    ConfigError
        Unusable starting magnetisation or ``n_draws``.

    Notes
    -----
    The Monte-Carlo percentiles describe the replicas for which the logarithm exists and all
    rates are non-negative.  When ``mc_failure_fraction`` is large (short mixing times with
    cross peaks near the noise, or long ones where the fast eigenvalue of ``A`` is lost in the
    noise) that selection biases the percentiles, and they should not be read as an
    uncertainty of the rate; a global fit of all mixing times is the estimate to report.
    """
    if int(n_draws) != n_draws or n_draws < 0:
        raise ConfigError(f"n_draws must be a non-negative integer; found {n_draws!r}")
    n_draws = int(n_draws)
    sites = [str(s) for s in sites]
    n = len(sites)
    series = _table_to_series(volumes, sites, need_sigma=n_draws > 0)
    keys = series.keys
    times = keys["mixing_time_s"].to_numpy()

    def analyse(V: np.ndarray) -> tuple[_BatchLog, np.ndarray, list[str]]:
        if start_magnetisation is None:
            m0, source = _estimate_m0(V, keys)
        else:
            m0 = _given_m0(start_magnetisation, keys, n)
            source = ["given"] * len(keys)
        if average_cross_peaks:
            V = 0.5 * (V + np.swapaxes(V, -1, -2))
        t_safe = np.where(times > 0, times, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = _matrix_log_batch(np.nan_to_num(V, nan=0.0), np.nan_to_num(m0, nan=1.0),
                                    t_safe, tolerance)
        return res, m0, source

    res, m0, source = analyse(series.V)
    usable = np.array([m == "" for m in series.missing]) & (times > 0)
    usable &= np.isfinite(m0).all(axis=-1) & (m0 > 0).all(axis=-1)
    ok = res.ok & usable
    mc = None
    if n_draws > 0:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        sigma = np.nan_to_num(series.sigma, nan=0.0)
        noise = rng.standard_normal((n_draws,) + series.V.shape)
        mc, _, _ = analyse(series.V[None] + sigma[None] * noise)
        mc_ok = mc.ok & usable[None]
        mc_failure = 1.0 - mc_ok.sum(axis=0) / n_draws
    reasons, causes = [], []
    for q in range(len(keys)):
        cause = "input"
        if series.missing[q]:
            reasons.append(f"missing peak(s) {series.missing[q]}")
        elif times[q] <= 0:
            reasons.append(f"mixing time {times[q]:g} s is not positive")
        elif not usable[q]:
            reasons.append(f"no usable starting magnetisation ({source[q]}: {m0[q].tolist()})")
        elif ok[q]:
            cause = ""
            reasons.append("")
        else:
            cause, why = _diagnose(res, q, series.V[q],
                                   None if series.sigma is None else series.sigma[q], m0[q],
                                   None if mc is None else float(mc_failure[q]))
            reasons.append(f"{_reason(res, (q,), sites)}; likely cause: {why}")
        causes.append(cause)

    directed, relax, pairs = _rate_columns(sites)
    rate_cols = directed + relax + pairs
    values = np.where(ok[:, None], _rate_values(res, n), np.nan)
    out = keys.copy()
    out["ok"] = ok
    out["reason"] = reasons
    out["cause"] = causes
    for c, col in enumerate(rate_cols):
        out[col] = values[:, c]
    for j, s in enumerate(sites):
        out[f"M0_{s}"] = m0[:, j]
    out["M0_source"] = source

    if mc is not None:
        mc_values = np.where(mc_ok[..., None], _rate_values(mc, n), np.nan)
        with np.errstate(invalid="ignore"):
            n_ok = mc_ok.sum(axis=0)
            q16 = np.full(values.shape, np.nan)
            q84 = np.full(values.shape, np.nan)
            has = n_ok > 0
            if has.any():
                q16[has] = np.nanpercentile(mc_values[:, has], 16.0, axis=0)
                q84[has] = np.nanpercentile(mc_values[:, has], 84.0, axis=0)
        for c, col in enumerate(rate_cols):
            out[f"{col}_q16"] = q16[:, c]
            out[f"{col}_q84"] = q84[:, c]
        out["mc_failure_fraction"] = mc_failure
    if fit_rates is not None:
        out = compare_with_global_fit(out, fit_rates)
    return out
