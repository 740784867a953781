"""Transport models behind "D from Fick's law": uptake curves, conversions, diffusion build-up.

Uptake (Crank, *The Mathematics of Diffusion*, 2nd ed., ch. 4 and 6)
--------------------------------------------------------------------
``F`` is the exchanged fraction of the receiving phase (0 at the start, 1 at the end) for a
constant surface concentration (infinite reservoir).  With the dimensionless time ``tau``:

* sphere of radius a, ``tau = D t / a^2``:
  ``F = 1 - (6/pi^2) sum_{n>=1} n^-2 exp(-n^2 pi^2 tau)``
  ``  = 6 sqrt(tau) [pi^-1/2 + 2 sum_{n>=1} ierfc(n / sqrt(tau))] - 3 tau``  (Crank 6.20, 6.21)
* plane sheet of thickness 2l (both faces open), ``tau = D t / l^2``:
  ``F = 1 - sum_{n>=0} 8/((2n+1)^2 pi^2) exp(-(2n+1)^2 pi^2 tau / 4)``
  ``  = 2 sqrt(tau) [pi^-1/2 + 2 sum_{n>=1} (-1)^n ierfc(n / sqrt(tau))]``  (Crank 4.18)
* interface-limited sphere (fast transport inside, surface transfer coefficient h):
  ``F = 1 - exp(-3 h t / a)``, exactly first order with ``k = 3 h / a``.

Both forms of each series are exact; the image (ierfc) form converges fast at short times and
the eigenmode form at long times, so each is used where a handful of terms reaches rounding
accuracy (switch at ``tau = 0.2``).

Slowest-mode conversions: ``k1 = pi^2 D / a^2`` (sphere), ``k1 = pi^2 D / (4 l^2)`` (slab).  A
diffusion coefficient therefore scales with the square of the assumed length, and
``Ea(D) = Ea(k)`` only if that length does not change with temperature.

Diffusion-limited two-site build-up
-----------------------------------
Crank's uptake is a weighted sum of first-order modes, ``1 - F = sum_n w_n exp(-mu_n tau)``
with ``sum_n w_n = 1`` (sphere: ``w_n = 6/(pi^2 n^2)``, ``mu_n = n^2 pi^2``; slab:
``w_n = 8/(pi^2 (2n+1)^2)``, ``mu_n = (2n+1)^2 pi^2 / 4``).  The exchange is represented as the
same mixture of two-site Bloch-McConnell processes (:mod:`exsyfit.kinetics.exchange`), each with
pair rate
``k_n = mu_n D / L^2``, the site populations and the site relaxation rates:

    A(t) = sum_n w_n A_first_order(k_ex = k_n, p, R1, t)

Each term obeys detailed balance, so the mixture does too (``A diag(p)`` symmetric).  With equal
R1 the cross peak is exactly ``A[B, A] = p_B exp(-R1 t) F(tau)``: the exchanged fraction follows
Crank's curve, growing as sqrt(t) at short times instead of linearly.  With unequal R1 and a
reservoir of comparable size the mixture is a model (each diffusion mode relaxes with the two
site rates), not an exact solution of diffusion with relaxation.  The interface-limited case
needs no mixture: it is the ordinary two-site model of :mod:`exsyfit.kinetics.exchange` with
``k_ex = 3 h / a`` (the exchanged fraction approaches equilibrium at ``k_ex``, which is close
to ``k_BA`` when the particle phase B is the minority).  For ``D -> infinity`` the mixture
tends to fast two-site exchange, for
``D -> 0`` to no exchange.  Which site is the "particle" does not matter for the volumes: the
two-site process is symmetric under detailed balance, and Crank's infinite-bath curve is the
right kinetics when the receiving phase is the minority.

The mixture is also exact, for any R1, in the infinite-bath limit ``p_B -> 0`` with uniform
relaxation inside each phase: with the reservoir magnetisation decaying as ``exp(-R1_A t)`` at
the particle surface, each eigenmode amplitude of the diffusion equation obeys
``dm_n/dt = k_n (exp(-R1_A t) - m_n) - R1_B m_n``, which is the first-order two-site process.

Numerics: the first ``n_modes`` modes are summed explicitly; the remaining weight (the fast
modes that carry the short-time sqrt(t) build-up) is represented by a Gauss-Legendre
quadrature over the rest of the series (in ``(1/n)^(1/2)``, which puts nodes on the fastest
modes), plus a correction
``exp(-R~ t) (1 - F - sum_m W_m exp(-k_m t)) (I - P)`` (``P`` the equilibrium projector,
``R~ = p_B R1_A + p_A R1_B``, the relaxation of the fast exchange mode) that uses the exact
``F`` from the uptake functions.  The correction makes the equal-R1 identity exact for any
number of modes and is the exact fast-mode limit otherwise.  With the defaults (16 explicit
modes, 12 tail nodes) the largest absolute error of any element of ``A`` against a 30000-mode
sum is 1e-5 over D/L^2 = 1e-6..10 s^-1, R1 = 0.3..20 s^-1 (R1_A != R1_B), p_B = 0.1 and
t = 1 ms..3 s; it is below 1e-6 once D/L^2 >= 0.1 s^-1, and zero (rounding) for equal R1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import erfcx

from exsyfit.errors import ConfigError
from exsyfit.kinetics.laws import arrhenius_line

__all__ = [
    "uptake_sphere",
    "uptake_slab",
    "uptake_interface_sphere",
    "uptake",
    "transfer_coefficient_from_rate",
    "rate_from_transfer_coefficient",
    "diffusion_coefficient_from_rate",
    "rate_from_diffusion_coefficient",
    "m2_per_s_to_cm2_per_s",
    "DiffusionDraws",
    "propagate_length_scale",
    "diffusion_mixing_matrix",
    "slowest_mode_factor",
    "diffusion_activation_energy",
]

Geometry = Literal["sphere", "slab"]

_SWITCH_TAU = 0.2  # image (ierfc) series below, eigenmode series above
_X_CLIP = 7.0
# eigenmode terms used at tau >= 0.2: the first omitted one is below 1e-21
_N_EIGEN = 6
_SPHERE_MU = (np.arange(1, _N_EIGEN + 1) * np.pi) ** 2
_SPHERE_W = 6.0 / _SPHERE_MU
_SLAB_MU = ((2 * np.arange(_N_EIGEN) + 1) * np.pi / 2.0) ** 2
_SLAB_W = 2.0 / _SLAB_MU
_SQRT_PI = np.sqrt(np.pi)
_M2_TO_CM2 = 1e4
_TAIL_POWER = 2.0


# --------------------------------------------------------------------------------------------
# uptake curves
# --------------------------------------------------------------------------------------------


def _ierfc(x: np.ndarray) -> np.ndarray:
    """First repeated integral of erfc: ``exp(-x^2)/sqrt(pi) - x erfc(x)``, for x >= 0."""
    return np.exp(-x * x) * (1.0 / _SQRT_PI - x * erfcx(x))


def _check_tau(dimensionless_time: np.ndarray, name: str) -> np.ndarray:
    tau = np.asarray(dimensionless_time, dtype=float)
    if np.any(tau < 0) or not np.all(np.isfinite(tau)):
        raise ConfigError(f"{name} must be finite and >= 0; found minimum {np.min(tau)!r}")
    return tau


def _image_sum(tau: np.ndarray, sign: float) -> np.ndarray:
    """``ierfc(1/sqrt(tau)) + sign * ierfc(2/sqrt(tau))`` for ``0 <= tau < 0.2``.

    Image terms n >= 3 are below 1e-21 there, and ``ierfc(x)`` is below 1e-24 for x >= 7, so
    only the elements with ``tau > 1/49`` are evaluated (and ``x`` is clipped at 7).
    """
    out = np.zeros_like(tau)
    active = tau > 1.0 / _X_CLIP**2
    x1 = 1.0 / np.sqrt(tau[active])
    out[active] = _ierfc(x1) + sign * _ierfc(np.minimum(2.0 * x1, _X_CLIP))
    return out


def _uptake_from_series(
    tau: np.ndarray, prefactor: float, sign: float, linear: float, mu: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Image series below ``tau = 0.2``, eigenmode series ``1 - sum w exp(-mu tau)`` above.

    Image series: ``prefactor sqrt(tau) [pi^-1/2 + 2 sum_n s^n ierfc(n / sqrt(tau))]
    - linear tau`` with ``s = sign`` (+1 sphere, -1 slab).
    """
    tau = np.asarray(tau, dtype=float)
    f = np.empty_like(tau)
    short = tau < _SWITCH_TAU
    ts = tau[short]
    f[short] = prefactor * np.sqrt(ts) * (1.0 / _SQRT_PI + 2.0 * sign * _image_sum(ts, sign)) - (
        linear * ts
    )
    long = ~short
    f[long] = 1.0 - np.exp(np.multiply.outer(tau[long], -mu)) @ w
    return f


def _uptake_sphere_unchecked(tau: np.ndarray) -> np.ndarray:
    return _uptake_from_series(tau, 6.0, 1.0, 3.0, _SPHERE_MU, _SPHERE_W)


def _uptake_slab_unchecked(tau: np.ndarray) -> np.ndarray:
    return _uptake_from_series(tau, 2.0, -1.0, 0.0, _SLAB_MU, _SLAB_W)


def uptake_sphere(dimensionless_time: np.ndarray) -> np.ndarray:
    """Fractional uptake of a sphere, constant surface concentration (Crank 6.20).

    Parameters
    ----------
    dimensionless_time : array_like
        ``tau = D t / a^2`` (D in m^2/s, t in s, radius a in m), >= 0.

    Returns
    -------
    numpy.ndarray
        Exchanged fraction F, same shape; exact to rounding (about 1e-15) at every tau.
    """
    return _uptake_sphere_unchecked(_check_tau(dimensionless_time, "dimensionless_time"))


def uptake_slab(dimensionless_time: np.ndarray) -> np.ndarray:
    """Fractional uptake of a plane sheet of thickness 2l, both faces open (Crank 4.18).

    Parameters
    ----------
    dimensionless_time : array_like
        ``tau = D t / l^2`` with l the half-thickness, >= 0.

    Returns
    -------
    numpy.ndarray
        Exchanged fraction F, exact to rounding.
    """
    return _uptake_slab_unchecked(_check_tau(dimensionless_time, "dimensionless_time"))


def uptake_interface_sphere(
    h_m_per_s: np.ndarray, radius_m: np.ndarray, t_s: np.ndarray
) -> np.ndarray:
    """Interface-limited uptake of a sphere: ``F = 1 - exp(-3 h t / a)``.

    Parameters
    ----------
    h_m_per_s : array_like
        Surface transfer coefficient h, m/s.
    radius_m : array_like
        Particle radius a, m.
    t_s : array_like
        Time, s.  All inputs broadcast together.
    """
    h = np.asarray(h_m_per_s, dtype=float)
    a = np.asarray(radius_m, dtype=float)
    t = np.asarray(t_s, dtype=float)
    return -np.expm1(-3.0 * h * t / a)


def uptake(dimensionless_time: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Fractional uptake for ``geometry`` ("sphere" or "slab"), see the module notes."""
    _check_geometry(geometry)
    if geometry == "sphere":
        return uptake_sphere(dimensionless_time)
    return uptake_slab(dimensionless_time)


# --------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------


def _check_geometry(geometry: str) -> None:
    if geometry not in ("sphere", "slab"):
        raise ConfigError(f"geometry must be 'sphere' or 'slab'; found {geometry!r}")


def slowest_mode_factor(geometry: str) -> float:
    """``mu_1`` of the geometry (Crank): the slowest uptake mode has rate ``mu_1 D / L^2``.

    Parameters
    ----------
    geometry : {"sphere", "slab"}
        Sphere of radius L (``mu_1 = pi^2``) or slab of half-thickness L (``mu_1 = pi^2/4``).

    Returns
    -------
    float
        ``mu_1`` (dimensionless).
    """
    _check_geometry(geometry)
    return float(np.pi**2 if geometry == "sphere" else np.pi**2 / 4.0)


def diffusion_activation_energy(temperature_K: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Arrhenius activation energy of D(T) per posterior draw, eV.

    Parameters
    ----------
    temperature_K : array_like, shape (..., n_T)
        Temperatures (one set, or one per draw), K.
    D : array_like, shape (..., n_T)
        Diffusion coefficients (any unit), broadcast against ``temperature_K``.

    Returns
    -------
    numpy.ndarray, shape (...)
        Slope of the unweighted line ln D against 1/T times ``-k_B``, eV
        (:func:`exsyfit.kinetics.laws.arrhenius_line`).
    """
    return arrhenius_line(temperature_K, np.log(np.asarray(D, dtype=float)))[0]


def transfer_coefficient_from_rate(k_per_s: np.ndarray, radius_m: np.ndarray,
                                   geometry: Geometry = "sphere") -> np.ndarray:
    """Surface transfer coefficient (m/s) of interface-limited uptake: ``h = k a / 3`` (sphere).

    Parameters
    ----------
    k_per_s : array_like
        First-order uptake rate of the particle phase, s^-1 (``F = 1 - exp(-k t)``).
    radius_m : array_like
        Particle radius a (sphere) or half-thickness l (slab), m.
    geometry : {"sphere", "slab"}
        ``F = 1 - exp(-3 h t / a)`` (sphere, ``h = k a / 3``) or ``F = 1 - exp(-h t / l)``
        (slab, ``h = k l``).
    """
    _check_geometry(geometry)
    length = np.asarray(radius_m, dtype=float)
    return np.asarray(k_per_s, dtype=float) * (length / 3.0 if geometry == "sphere" else length)


def rate_from_transfer_coefficient(h_m_per_s: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    """First-order uptake rate ``k = 3 h / a`` (s^-1); inverse of
    :func:`transfer_coefficient_from_rate`."""
    return 3.0 * np.asarray(h_m_per_s, dtype=float) / np.asarray(radius_m, dtype=float)


def diffusion_coefficient_from_rate(
    k_per_s: np.ndarray, length_m: np.ndarray, geometry: Geometry
) -> np.ndarray:
    """Diffusion coefficient (m^2/s) whose slowest uptake mode has rate ``k``.

    Parameters
    ----------
    k_per_s : array_like
        Slowest-mode rate, s^-1.
    length_m : array_like
        Sphere radius a or slab half-thickness l, m.
    geometry : {"sphere", "slab"}
        ``k = pi^2 D / a^2`` (sphere) or ``k = pi^2 D / (4 l^2)`` (slab).

    Returns
    -------
    numpy.ndarray
        D in m^2/s (multiply by 1e4 for cm^2/s, see :func:`m2_per_s_to_cm2_per_s`).
    """
    mu = slowest_mode_factor(geometry)
    length = np.asarray(length_m, dtype=float)
    return np.asarray(k_per_s, dtype=float) * length**2 / mu


def rate_from_diffusion_coefficient(
    D_m2_per_s: np.ndarray, length_m: np.ndarray, geometry: Geometry
) -> np.ndarray:
    """Slowest-mode rate (s^-1) for a diffusion coefficient; inverse of
    :func:`diffusion_coefficient_from_rate`."""
    mu = slowest_mode_factor(geometry)
    length = np.asarray(length_m, dtype=float)
    return mu * np.asarray(D_m2_per_s, dtype=float) / length**2


def m2_per_s_to_cm2_per_s(value_m2_per_s: np.ndarray) -> np.ndarray:
    """Convert a diffusion coefficient from m^2/s to cm^2/s (factor 1e4)."""
    return np.asarray(value_m2_per_s, dtype=float) * _M2_TO_CM2


@dataclass(frozen=True)
class DiffusionDraws:
    """Diffusion-coefficient draws with the length-scale draws that produced them.

    Attributes
    ----------
    D_m2_per_s : numpy.ndarray
        Same shape as the rate draws.
    D_cm2_per_s : numpy.ndarray
        The same values in cm^2/s.
    length_m : numpy.ndarray, shape (n_draws,)
        Length scale used for each draw (one per draw, shared by all temperatures).
    """

    D_m2_per_s: np.ndarray
    D_cm2_per_s: np.ndarray
    length_m: np.ndarray


def propagate_length_scale(
    rate_draws: np.ndarray,
    length_mean_m: float,
    length_sd_m: float,
    rng: np.random.Generator,
    geometry: Geometry,
    *,
    distribution: Literal["lognormal", "normal"] = "lognormal",
) -> DiffusionDraws:
    """Turn posterior draws of a slowest-mode rate into D draws with an uncertain length.

    Parameters
    ----------
    rate_draws : array_like, shape (n_draws, ...)
        Draws of the slowest-mode rate, s^-1.  Trailing axes (temperatures, ...) share the
        length drawn for their draw, so the length cancels in ``Ea(D) = Ea(k)`` draw by draw.
    length_mean_m, length_sd_m : float
        Mean and standard deviation of the radius or half-thickness, m.
    rng : numpy.random.Generator
        Source of the length draws.
    geometry : {"sphere", "slab"}
        Geometry of :func:`diffusion_coefficient_from_rate`.
    distribution : {"lognormal", "normal"}, optional
        Length distribution: log-normal with this mean and SD (default; always positive), or
        normal truncated to positive values.

    Returns
    -------
    DiffusionDraws
    """
    rates = np.asarray(rate_draws, dtype=float)
    if rates.ndim == 0:
        raise ConfigError("rate_draws must have a leading draw axis; found a scalar")
    if not (np.isfinite(length_mean_m) and length_mean_m > 0):
        raise ConfigError(f"length_mean_m must be positive; found {length_mean_m!r}")
    if not (np.isfinite(length_sd_m) and length_sd_m >= 0):
        raise ConfigError(f"length_sd_m must be >= 0; found {length_sd_m!r}")
    _check_geometry(geometry)
    n = rates.shape[0]
    if distribution == "lognormal":
        s2 = np.log1p((length_sd_m / length_mean_m) ** 2)
        length = np.exp(np.log(length_mean_m) - 0.5 * s2 + np.sqrt(s2) * rng.standard_normal(n))
    elif distribution == "normal":
        length = length_mean_m + length_sd_m * rng.standard_normal(n)
        bad = length <= 0
        while bad.any():
            length[bad] = length_mean_m + length_sd_m * rng.standard_normal(int(bad.sum()))
            bad = length <= 0
    else:
        raise ConfigError(f"distribution must be 'lognormal' or 'normal'; found {distribution!r}")
    shaped = length.reshape((n,) + (1,) * (rates.ndim - 1))
    D = diffusion_coefficient_from_rate(rates, shaped, geometry)
    return DiffusionDraws(D_m2_per_s=D, D_cm2_per_s=m2_per_s_to_cm2_per_s(D), length_m=length)


# --------------------------------------------------------------------------------------------
# diffusion-limited build-up
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _mode_table(geometry: str, n_modes: int, n_tail: int) -> tuple[np.ndarray, np.ndarray]:
    """Mode rates ``mu`` (per unit D/L^2) and weights (sum 1): explicit modes + tail nodes."""
    if geometry == "sphere":
        n = np.arange(1, n_modes + 1, dtype=float)
        w = 6.0 / (np.pi**2 * n**2)
        mu = np.pi**2 * n**2
        x_edge = n_modes + 0.5  # first mode of the tail starts at n_modes + 1
        to_mu = np.pi**2
    else:
        m = 2.0 * np.arange(n_modes, dtype=float) + 1.0
        w = 8.0 / (np.pi**2 * m**2)
        mu = np.pi**2 * m**2 / 4.0
        x_edge = 2.0 * n_modes  # next odd index is 2 n_modes + 1; half spacing below it
        to_mu = np.pi**2 / 4.0
    if n_tail == 0:
        return _frozen(mu), _frozen(w)
    # tail sum_{x > x_edge} c x^-2 f(x) ~ c' int_0^{1/x_edge} f(1/y) dy: uniform in y = 1/x
    nodes, gw = np.polynomial.legendre.leggauss(n_tail)
    u = 0.5 * (nodes + 1.0)
    y = u**_TAIL_POWER / x_edge
    gw = 0.5 * gw * _TAIL_POWER * u ** (_TAIL_POWER - 1)
    w_tail = (1.0 - w.sum()) * gw / gw.sum()
    return _frozen(np.concatenate([mu, to_mu / y**2])), _frozen(np.concatenate([w, w_tail]))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def diffusion_mixing_matrix(
    D_over_L2_per_s: np.ndarray,
    populations: np.ndarray,
    r1: np.ndarray,
    t: np.ndarray,
    geometry: Geometry = "sphere",
    n_modes: int = 16,
    n_tail: int = 12,
) -> np.ndarray:
    """Two-site mixing matrix for diffusion-limited exchange (see the module notes).

    Parameters
    ----------
    D_over_L2_per_s : array_like, shape (...)
        ``D / a^2`` (sphere radius a) or ``D / l^2`` (slab half-thickness l), s^-1.  The
        slowest mode has rate ``pi^2 D/a^2`` (sphere) or ``pi^2 D/(4 l^2)`` (slab).
    populations : array_like, shape (..., 2)
        Equilibrium populations (p_A, p_B); normalised to sum 1.
    r1 : array_like, shape (..., 2)
        Relaxation rates (R1_A, R1_B), s^-1.
    t : array_like, shape (n_t,)
        Mixing times, s.
    geometry : {"sphere", "slab"}
        Crank geometry of the uptake.
    n_modes : int, optional
        Modes summed explicitly.
    n_tail : int, optional
        Gauss-Legendre nodes representing the remaining modes.

    Returns
    -------
    numpy.ndarray, shape (..., n_t, 2, 2)
        ``A[..., t, i, j]``: detected on i, started on j, like
        :func:`exsyfit.kinetics.exchange.mixing_matrix`.
        Volumes follow from :func:`exsyfit.kinetics.exchange.predict_volumes`.
    """
    _check_geometry(geometry)
    if int(n_modes) != n_modes or n_modes < 1 or int(n_tail) != n_tail or n_tail < 0:
        raise ConfigError(
            f"n_modes must be an integer >= 1 and n_tail an integer >= 0; found {n_modes!r}, "
            f"{n_tail!r}"
        )
    d = np.asarray(D_over_L2_per_s, dtype=float)
    p = np.asarray(populations, dtype=float)
    r1 = np.asarray(r1, dtype=float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    batch = np.broadcast_shapes(d.shape, p.shape[:-1], r1.shape[:-1])
    d = np.broadcast_to(d, batch)[..., None]  # (..., 1)
    pa = p[..., 0] / (p[..., 0] + p[..., 1])
    pa = np.broadcast_to(pa, batch)[..., None]
    pb = 1.0 - pa
    ra = np.broadcast_to(r1[..., 0], batch)[..., None]
    rb = np.broadcast_to(r1[..., 1], batch)[..., None]

    mu, w = _mode_table(geometry, int(n_modes), int(n_tail))
    k = mu * d  # (..., M)
    amd = (ra - rb) + k * (pb - pa)  # a - d of the two-site closed form
    delta = np.sqrt(amd * amd + 4.0 * k * k * pa * pb)
    safe = np.where(delta > 0, delta, 1.0)
    rho = amd / safe
    # lambda_- = (a + d - delta)/2 written without cancellation (a d - k_AB k_BA over the sum)
    lam_minus = 2.0 * (ra * rb + k * (pa * ra + pb * rb)) / (ra + rb + k + delta)
    coef = np.stack(
        [0.5 * w * (1.0 - rho), 0.5 * w * (1.0 + rho), w * k / safe], axis=-1
    )  # (..., M, 3)

    # Hot loop of a fit: two (..., n_t, M) work arrays from one allocation, updated in place
    # (several large temporaries per call cost more in fresh memory pages than the arithmetic).
    work = np.empty((2,) + batch + (t.size, k.shape[-1]))
    e_minus, y = work[0], work[1]
    np.multiply(lam_minus[..., None, :], -t[:, None], out=e_minus)
    np.exp(e_minus, out=e_minus)  # exp(-lambda_- t)
    np.multiply(delta[..., None, :], -t[:, None], out=y)
    np.maximum(y, -40.0, out=y)  # 1 - exp(-40) is 1 to rounding; avoids underflow
    np.expm1(y, out=y)
    np.multiply(y, e_minus, out=y)  # exp(-lambda_+ t) - exp(-lambda_- t)
    ycoef = np.matmul(y, -coef)  # (..., n_t, 3)
    diag = e_minus @ w  # (..., n_t)
    np.add(e_minus, y, out=y)  # exp(-lambda_+ t)
    np.multiply(y, e_minus, out=y)  # exp(-lambda_- t - lambda_+ t) = exp(-(R1A + R1B + k) t)
    modal = np.exp((ra + rb) * t) * (y @ w)  # sum_m W_m exp(-k_m t)
    a_aa = diag - ycoef[..., 1]
    a_bb = diag - ycoef[..., 0]
    cross = ycoef[..., 2]
    tau = d * t  # (..., n_t)
    f = _uptake_sphere_unchecked(tau) if geometry == "sphere" else _uptake_slab_unchecked(tau)
    corr = np.exp(-(pb * ra + pa * rb) * t) * (1.0 - f - modal)
    # weight not carried by any mode (only when n_tail == 0): its slow, equilibrium part
    slow = (1.0 - w.sum()) * np.exp(-(pa * ra + pb * rb) * t)

    out = np.empty(batch + (t.size, 2, 2))
    out[..., 0, 0] = a_aa + pb * corr + pa * slow
    out[..., 1, 1] = a_bb + pa * corr + pb * slow
    out[..., 0, 1] = pa * (cross - corr + slow)
    out[..., 1, 0] = pb * (cross - corr + slow)
    return out
