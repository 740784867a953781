"""Parameter vector <-> physics, and the log-posterior of a volume table, vectorised.

:class:`ExsyProblem` holds the observations as arrays and a list of sampled parameters.  It is
a plain picklable object; calling it on a batch of parameter vectors (shape (n_walkers,
n_params)) returns the log-posterior of each, so a whole emcee ensemble is evaluated in one
numpy pass.

Sampled parameters (names as in ``problem.parameter_names``)
------------------------------------------------------------
* rates, per exchanging pair ``X<->Y``:
  ``free``: ``ln_k_ex[X<->Y]@<T>K`` (one per temperature);
  ``arrhenius``: ``Ea_eV[X<->Y]`` and ``ln_k_ex_ref[X<->Y]`` (ln k_ex at the reference
  temperature); ``eyring``: ``dH_kJ_per_mol[X<->Y]`` and ``ln_k_ex_ref[X<->Y]``.
* ``k_sd_per_s[X<->Y]``: temperature-independent spin-diffusion rate added to k_ex
  (optional), uniform between the prior bounds (a rate near zero stays a compact region).
* ``T_K@<T>K``: sample temperatures with a normal prior (optional temperature uncertainty).
* ``p[<site>]``: populations (uniform on the simplex unless fixed or given a normal prior);
  one set, or one per temperature (``p[<site>]@<T>K``).
* ``R1_per_s[<site>]@<T>K`` (or shared: ``R1_per_s[<site>]``): relaxation rate 1/T1,
  uniform between 1/T1_max and 1/T1_min unless fixed or given a normal prior on T1 (for all
  temperatures, or per temperature with ``sites.*.T1_s_by_temperature``).  (Uniform
  in R1 rather than log-uniform in T1: a site whose T1 is much longer than the mixing times
  leaves R1 ~ 0 allowed, a compact region that samples well, where ln T1 would have a long
  flat tail.)
* ``m0[<site>]@<T>K``: fitted starting magnetisation (cross-polarisation start).
* ``ln_scale@<T>K``: intensity scale per temperature (log-uniform), sampled only with a
  fractional error; otherwise the scale enters linearly and is integrated out analytically
  (flat prior), and :meth:`ExsyProblem.with_scale` recovers it for any parameter vector.
* ``ln_frac_error``: extra fractional error (optional).

Likelihood: independent Gaussian errors on the volumes, variance ``sigma^2 + (f V_model)^2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.errors import FitError
from exsyfit.fit.options import GaussianPrior, ModelConfig, PriorConfig, SiteConfig
from exsyfit.integrate.volumes import group_temperatures, validate_volume_table
from exsyfit.kinetics import laws as kinetics
from exsyfit.kinetics.exchange import (
    exchange_rate_matrix,
    mixing_matrix_two_site,
    relaxation_exchange_matrix,
)

_LOG_2PI = np.log(2.0 * np.pi)
#: Rate of the slowest uptake mode per unit D/L^2 (Crank): sphere pi^2, slab pi^2/4.
_SLOWEST_MODE = {"sphere": np.pi**2, "slab": np.pi**2 / 4.0}


@dataclass(frozen=True)
class Parameter:
    """One sampled parameter: name, box bounds of its prior, and a plot label."""

    name: str
    lower: float
    upper: float
    label: str


@dataclass(frozen=True)
class ModelSpec(ModelConfig):
    """Everything about the model that is not data: the ``[model]`` settings
    (:class:`~exsyfit.fit.options.ModelConfig`) plus the sites, the prior bounds and how
    temperatures are grouped and known."""

    sites: tuple[SiteConfig, ...] = ()
    priors: PriorConfig = PriorConfig()
    temperature_tolerance_K: float = 2.0
    temperature_sigma_K: float = 0.0

    @classmethod
    def from_config(cls, config: Any) -> ModelSpec:
        """Build the spec from a validated configuration (an :class:`exsyfit.config.Config`)."""
        model = {f.name: getattr(config.model, f.name) for f in fields(ModelConfig)}
        return cls(**model, sites=config.sites, priors=config.priors,
                   temperature_tolerance_K=config.data.temperature_tolerance_K,
                   temperature_sigma_K=config.temperature.sigma_K)

    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """Exchanging pairs of site indices (``[model] exchange``)."""
        return self.exchange

    @property
    def site_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sites)

    @property
    def pair_names(self) -> tuple[str, ...]:
        names = self.site_names
        return tuple(f"{names[i]}<->{names[j]}" for i, j in self.pairs)


def _tlabel(temperature_K: float) -> str:
    return f"{temperature_K:.1f}K"


class ExsyProblem:
    """Log-posterior of an exchange model for a volume table.

    Parameters
    ----------
    volumes : pandas.DataFrame
        Volume table (columns of :data:`exsyfit.integrate.volumes.REQUIRED_COLUMNS`).
    spec : ModelSpec
        The model.

    Raises
    ------
    FitError
        When the data cannot support the model (one temperature with Arrhenius, a site
        without any peak, ...).
    """

    def __init__(self, volumes: pd.DataFrame, spec: ModelSpec) -> None:
        self.spec = spec
        names = spec.site_names
        table = validate_volume_table(volumes, sites=names)
        self.n_sites = len(names)
        self.n_pairs = len(spec.pairs)
        groups = group_temperatures(table["temperature_K"].to_numpy(),
                                    spec.temperature_tolerance_K)
        n_t = int(groups.max()) + 1
        self.temperatures_K = np.array(
            [table["temperature_K"].to_numpy()[groups == g].mean() for g in range(n_t)]
        )
        self.n_temperatures = n_t
        if "temperature_sigma_K" in table:
            sig = np.array([table["temperature_sigma_K"].to_numpy()[groups == g].max()
                            for g in range(n_t)])
        else:
            sig = np.full(n_t, spec.temperature_sigma_K)
        self.temperature_sigma_K = sig
        self._check_design(table, groups)
        self.table = table.assign(temperature_index=groups)
        self.y = table["volume"].to_numpy(float)
        self.sigma = table["sigma"].to_numpy(float)
        self.t_index = groups
        self.mixing_time_s = table["mixing_time_s"].to_numpy(float)
        self.to_index = table["to_site"].map(names.index).to_numpy(int)
        self.from_index = table["from_site"].map(names.index).to_numpy(int)
        unique, self._combo_of_obs = np.unique(
            np.stack([groups, self.mixing_time_s]), axis=1, return_inverse=True
        )
        self._combo_t = unique[0].astype(int)
        self._combo_tm = unique[1]
        self.T_ref_K = (spec.reference_temperature_K
                        or kinetics.reference_temperature(self.temperatures_K))
        self.marginal_scale = not spec.fractional_error
        self._group_matrix = (groups[:, None] == np.arange(n_t)[None, :]).astype(float)
        self.sample_temperatures = bool(
            spec.temperature_model != "free"
            and (spec.temperature_uncertainty is not False)
            and np.all(self.temperature_sigma_K > 0)
        )
        self._build_parameters(table, groups)

    # ------------------------------------------------------------------ set-up
    def _check_design(self, table: pd.DataFrame, groups: np.ndarray) -> None:
        spec = self.spec
        if spec.temperature_model in ("arrhenius", "eyring") and self.n_temperatures < 2:
            raise FitError(
                f"model.temperature_model = '{spec.temperature_model}' needs volumes at two or "
                f"more temperatures; the table (column 'temperature_K') has only "
                f"{self.temperatures_K[0]:g} K. Use temperature_model = 'free' or add data."
            )
        if spec.transport != "first-order" and self.n_sites != 2:
            raise FitError(
                f"model.transport = '{spec.transport}' is a two-site model; the config has "
                f"{self.n_sites} sites"
            )
        if spec.temperature_model == "free" and spec.spin_diffusion:
            raise FitError(
                "model.spin_diffusion needs a temperature law (arrhenius or eyring): with "
                "temperature_model = 'free' a constant extra rate cannot be told apart from "
                "the free rates"
            )
        if spec.transport != "first-order" and spec.spin_diffusion:
            raise FitError(
                "model.spin_diffusion is only available with model.transport = 'first-order'"
            )
        for name in spec.site_names:
            if not (table["to_site"] == name).any():
                raise FitError(
                    f"site '{name}' has no peak in the volume table (column 'to_site'); "
                    "every site needs at least its diagonal peak"
                )
        for g in range(self.n_temperatures):
            if len(np.unique(table["mixing_time_s"].to_numpy()[groups == g])) < 1:
                raise FitError(f"no mixing time at {self.temperatures_K[g]:g} K")

    def _resolve_t1_settings(self) -> list[list[float | GaussianPrior | None]]:
        """T1 setting of every site at every temperature: ``sites.*.T1_s_by_temperature``
        where it names that temperature, else ``sites.*.T1_s``."""
        spec = self.spec
        out = []
        for site in spec.sites:
            by_t = dict(site.T1_s_by_temperature)
            if by_t and spec.T1 != "per_temperature":
                raise FitError(f"sites.{site.name}.T1_s_by_temperature needs model.T1 = "
                               "'per_temperature'")
            row: list[float | GaussianPrior | None] = []
            for T in self.temperatures_K:
                near = [v for t, v in by_t.items()
                        if abs(t - T) <= spec.temperature_tolerance_K]
                row.append(near[0] if near else site.T1_s)
            for t in by_t:
                if not np.any(np.abs(self.temperatures_K - t) <= spec.temperature_tolerance_K):
                    raise FitError(
                        f"sites.{site.name}.T1_s_by_temperature gives T1 at {t:g} K; the "
                        "volume table (column 'temperature_K') has "
                        f"{', '.join(f'{x:g}' for x in self.temperatures_K)} K")
            out.append(row)
        return out

    def _add(self, name: str, lower: float, upper: float, label: str) -> None:
        self.parameters.append(Parameter(name, float(lower), float(upper), label))

    def _build_parameters(self, table: pd.DataFrame, groups: np.ndarray) -> None:
        spec, pri = self.spec, self.spec.priors
        self.parameters: list[Parameter] = []
        temps = [_tlabel(t) for t in self.temperatures_K]
        lk = np.log(pri.k_ex_per_s)
        rate_word = "k_ex" if spec.transport == "first-order" else "D/L^2"
        for pair in spec.pair_names:
            if spec.temperature_model == "free":
                for tl in temps:
                    self._add(f"ln_k_ex[{pair}]@{tl}", *lk, f"ln {rate_word} {pair} {tl}")
            else:
                if spec.temperature_model == "arrhenius":
                    self._add(f"Ea_eV[{pair}]", *pri.Ea_eV, f"Ea {pair} (eV)")
                else:
                    self._add(f"dH_kJ_per_mol[{pair}]", *pri.dH_kJ_per_mol,
                              f"dH {pair} (kJ/mol)")
                self._add(f"ln_k_ex_ref[{pair}]", *lk,
                          f"ln {rate_word} {pair} @{self.T_ref_K:.0f}K")
        if spec.spin_diffusion:
            for pair in spec.pair_names:
                self._add(f"k_sd_per_s[{pair}]", *pri.spin_diffusion_per_s,
                          f"k_sd {pair} (s$^{{-1}}$)")
        if self.sample_temperatures:
            for t, tl in enumerate(temps):
                T, s = self.temperatures_K[t], self.temperature_sigma_K[t]
                self._add(f"T_K@{tl}", max(1.0, T - 6 * s), T + 6 * s, f"T {tl} (K)")
        # populations
        fixed = {s.name: s.population for s in spec.sites if isinstance(s.population, float)}
        self._p_fixed_mass = sum(fixed.values())
        if self._p_fixed_mass >= 1.0 or (len(fixed) == self.n_sites
                                         and abs(self._p_fixed_mass - 1) > 1e-9):
            raise FitError(f"fixed populations sum to {self._p_fixed_mass:g}; they must sum "
                           "to less than 1 (or exactly 1 when every site is fixed)")
        self._p_fixed = {spec.site_names.index(k): v for k, v in fixed.items()}
        self._p_free = [i for i in range(self.n_sites) if i not in self._p_fixed]
        p_sets = temps if spec.populations == "per_temperature" else [None]
        for tl in p_sets:
            for i in self._p_free[:-1]:
                suffix = f"@{tl}" if tl else ""
                self._add(f"p[{spec.site_names[i]}]{suffix}", 0.0, 1.0 - self._p_fixed_mass,
                          f"p {spec.site_names[i]}{' ' + tl if tl else ''}")
        # T1: one setting (fixed, normal prior or free) per site and temperature
        self._t1_settings = self._resolve_t1_settings()
        for i, site in enumerate(spec.sites):
            sets = self._t1_settings[i] if spec.T1 == "per_temperature" else [site.T1_s]
            for tl, setting in zip(temps if spec.T1 == "per_temperature" else [None], sets,
                                   strict=True):
                if isinstance(setting, float):
                    continue
                lo, hi = 1.0 / pri.T1_s[1], 1.0 / pri.T1_s[0]
                if isinstance(setting, GaussianPrior):
                    m, s = setting.mean, setting.sd
                    lo, hi = 1.0 / (m + 8 * s), 1.0 / max(m - 8 * s, m / 100)
                suffix = f"@{tl}" if tl else ""
                self._add(f"R1_per_s[{site.name}]{suffix}", lo, hi,
                          f"R1 {site.name}{' ' + tl if tl else ''} (s$^{{-1}}$)")
        if spec.start == "fitted":
            for tl in temps:
                for site in spec.site_names[:-1]:
                    self._add(f"m0[{site}]@{tl}", 0.0, 1.0, f"M0 {site} {tl}")
        # intensity scale: centred on the summed volumes of the shortest mixing time;
        # integrated out analytically unless a fractional error makes it non-linear
        y = table["volume"].to_numpy(float)
        tm = table["mixing_time_s"].to_numpy(float)
        for t, tl in enumerate(temps if not self.marginal_scale else []):
            sel = groups == t
            first = sel & (tm == tm[sel].min())
            total = max(abs(y[first].sum()), np.abs(y[sel]).max(), 1e-300)
            centre = np.log(total)
            self._add(f"ln_scale@{tl}", centre - 8.0, centre + 8.0, f"ln scale {tl}")
        if spec.fractional_error:
            self._add("ln_frac_error", *np.log(pri.fractional_error), "ln fractional error")
        self.parameter_names = tuple(p.name for p in self.parameters)
        self._index = {n: k for k, n in enumerate(self.parameter_names)}
        self._column_cache: dict[tuple[str, bool], np.ndarray] = {}
        self.lower = np.array([p.lower for p in self.parameters])
        self.upper = np.array([p.upper for p in self.parameters])

    # ------------------------------------------------------------------ helpers
    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def _col(self, theta: np.ndarray, name: str) -> np.ndarray:
        return theta[:, self._index[name]]

    def _per_temperature(self, theta: np.ndarray, stem: str, per_t: bool) -> np.ndarray:
        """(W, n_T) values of a parameter sampled per temperature or shared."""
        key = (stem, per_t)
        cols = self._column_cache.get(key)
        if cols is None:
            if per_t:
                cols = np.array([self._index[f"{stem}@{_tlabel(t)}"]
                                 for t in self.temperatures_K])
            else:
                cols = np.full(self.n_temperatures, self._index[stem])
            self._column_cache[key] = cols
        return theta[:, cols]

    # ------------------------------------------------------------------ physics
    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Physical quantities for a batch of parameter vectors.

        Parameters
        ----------
        theta : numpy.ndarray, shape (W, n_parameters)

        Returns
        -------
        dict
            ``temperature_K`` (W, n_T); ``k_ex`` (W, n_pairs, n_T) s^-1 (first-order: the
            exchange rate incl. spin diffusion; diffusion transport: the rate of the slowest
            uptake mode, pi^2 D/L^2 sphere or pi^2 D/(4 L^2) slab, with ``D_over_L2`` beside
            it); the global laws (Ea, ln A, dH, dS) always describe ``k_ex``;
            ``K`` (W, n_T, N, N) s^-1 with K[i, j] = rate j -> i; ``populations``,
            ``r1``, ``start`` (W, n_T, N); ``scale`` (W, n_T); ``frac_error`` (W,);
            and for the global laws ``Ea_eV``/``ln_A_per_s`` or ``dH_kJ_per_mol``/
            ``dS_J_per_mol_K`` (W, n_pairs).
        """
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        spec = self.spec
        W, n_t, N = theta.shape[0], self.n_temperatures, self.n_sites
        out: dict[str, np.ndarray] = {}
        if self.sample_temperatures:
            T = self._per_temperature(theta, "T_K", True)
        else:
            T = np.broadcast_to(self.temperatures_K, (W, n_t))
        out["temperature_K"] = T
        ln_k = np.empty((W, self.n_pairs, n_t))
        for q, pair in enumerate(spec.pair_names):
            if spec.temperature_model == "free":
                ln_k[:, q] = self._per_temperature(theta, f"ln_k_ex[{pair}]", True)
                continue
            ref = self._col(theta, f"ln_k_ex_ref[{pair}]")[:, None]
            if spec.temperature_model == "arrhenius":
                ea = self._col(theta, f"Ea_eV[{pair}]")[:, None]
                ln_k[:, q] = kinetics.arrhenius_ln_k(T, ea, ref, self.T_ref_K)
            else:
                dh = self._col(theta, f"dH_kJ_per_mol[{pair}]")[:, None]
                ln_k[:, q] = kinetics.eyring_ln_k(T, dh, ref, self.T_ref_K)
        k_ex = np.exp(ln_k)
        if spec.transport != "first-order":
            # the sampled rate is D/L^2; report k_ex as the slowest uptake mode
            out["D_over_L2"] = k_ex
            k_ex = k_ex * _SLOWEST_MODE[spec.transport]
        if spec.spin_diffusion:
            ksd = np.stack([self._col(theta, f"k_sd_per_s[{p}]") for p in spec.pair_names],
                           axis=1)
            out["k_sd"] = ksd
            k_ex = k_ex + ksd[:, :, None]
        out["k_ex"] = k_ex
        self._global_laws(theta, out)
        # populations (W, n_T, N)
        per_t = spec.populations == "per_temperature"
        p = np.empty((W, n_t, N))
        for i, v in self._p_fixed.items():
            p[:, :, i] = v
        free_mass = 1.0 - self._p_fixed_mass
        acc = np.zeros((W, n_t))
        for i in self._p_free[:-1]:
            p[:, :, i] = self._per_temperature(theta, f"p[{spec.site_names[i]}]", per_t)
            acc += p[:, :, i]
        if self._p_free:
            p[:, :, self._p_free[-1]] = free_mass - acc
        out["populations"] = p
        # relaxation (W, n_T, N)
        r1 = np.empty((W, n_t, N))
        for i, site in enumerate(spec.sites):
            if spec.T1 != "per_temperature":
                r1[:, :, i] = (1.0 / site.T1_s if isinstance(site.T1_s, float) else
                               self._per_temperature(theta, f"R1_per_s[{site.name}]", False))
                continue
            for t, setting in enumerate(self._t1_settings[i]):
                r1[:, t, i] = (1.0 / setting if isinstance(setting, float) else
                               theta[:, self._index[f"R1_per_s[{site.name}]@"
                                                    f"{_tlabel(self.temperatures_K[t])}"]])
        out["r1"] = r1
        # start magnetisation
        if spec.start == "equilibrium":
            start = p
        elif spec.start == "given":
            m = np.array([s.start_magnetisation for s in spec.sites], dtype=float)
            start = np.broadcast_to(m / m.sum(), (W, n_t, N))
        else:
            start = np.empty((W, n_t, N))
            for i, site in enumerate(spec.site_names[:-1]):
                start[:, :, i] = self._per_temperature(theta, f"m0[{site}]", True)
            start[:, :, -1] = 1.0 - start[:, :, :-1].sum(axis=2)
        out["start"] = start
        if not self.marginal_scale:
            out["scale"] = np.exp(self._per_temperature(theta, "ln_scale", True))
        out["frac_error"] = (np.exp(self._col(theta, "ln_frac_error")) if spec.fractional_error
                             else np.zeros(W))
        k_pairs = np.moveaxis(k_ex, 1, 2)  # (W, n_T, n_pairs)
        out["K"] = exchange_rate_matrix(k_pairs, np.clip(p, 1e-300, None), spec.pairs)
        return out

    def _global_laws(self, theta: np.ndarray, out: dict[str, np.ndarray]) -> None:
        spec = self.spec
        if spec.temperature_model == "free":
            return
        ref = np.stack([self._col(theta, f"ln_k_ex_ref[{p}]") for p in spec.pair_names], 1)
        if spec.transport != "first-order":
            # the sampled law is that of D/L^2; report the law of k_ex (slowest uptake mode)
            ref = ref + np.log(_SLOWEST_MODE[spec.transport])
        if spec.temperature_model == "arrhenius":
            ea = np.stack([self._col(theta, f"Ea_eV[{p}]") for p in spec.pair_names], 1)
            out["Ea_eV"] = ea
            out["ln_A_per_s"] = kinetics.arrhenius_ln_prefactor(ea, ref, self.T_ref_K)
        else:
            dh = np.stack([self._col(theta, f"dH_kJ_per_mol[{p}]") for p in spec.pair_names], 1)
            out["dH_kJ_per_mol"] = dh
            out["dS_J_per_mol_K"] = kinetics.eyring_entropy(dh, ref, self.T_ref_K)
        out["ln_k_ex_ref"] = ref

    def _mixing(self, phys: dict[str, np.ndarray], t_idx: np.ndarray, tm: np.ndarray,
                ) -> np.ndarray:
        """Mixing matrices (W, n, N, N) at the (temperature index, mixing time) pairs given."""
        if self.spec.transport != "first-order":
            from exsyfit.kinetics.diffusion import diffusion_mixing_matrix

            # evaluate on (temperatures x unique mixing times), then pick the pairs
            times, pick = np.unique(tm, return_inverse=True)
            A = diffusion_mixing_matrix(phys["D_over_L2"][:, 0, :], phys["populations"],
                                        phys["r1"], times, geometry=self.spec.transport)
            return A[:, t_idx, pick]
        K, r1 = phys["K"][:, t_idx], phys["r1"][:, t_idx]
        if self.n_sites == 2:
            return mixing_matrix_two_site(K[..., 1, 0], K[..., 0, 1], r1[..., 0], r1[..., 1],
                                          tm[None, :])
        L = relaxation_exchange_matrix(K, r1)
        p = np.clip(phys["populations"][:, t_idx], 1e-300, None)
        s = np.sqrt(p)
        S = L * s[..., None, :] / s[..., :, None]
        S = 0.5 * (S + np.swapaxes(S, -1, -2))
        lam, U = np.linalg.eigh(S)
        X = U * s[..., :, None]
        Xinv = np.swapaxes(U, -1, -2) / s[..., None, :]
        expo = np.exp(-lam * tm[None, :, None])
        return np.einsum("wcik,wck,wckj->wcij", X, expo, Xinv)

    def predict_unscaled(self, phys: dict[str, np.ndarray]) -> np.ndarray:
        """Volumes per unit intensity scale, ``A[i, j] M_j(0)``, shape (W, n_obs)."""
        A = self._mixing(phys, self._combo_t, self._combo_tm)
        a_obs = A[:, self._combo_of_obs, self.to_index, self.from_index]
        return a_obs * phys["start"][:, self.t_index, self.from_index]

    def conditional_scale(self, phys: dict[str, np.ndarray], unscaled: np.ndarray,
                          rng: np.random.Generator | None = None) -> np.ndarray:
        """Intensity scale per temperature given the other parameters, shape (W, n_T).

        The scale enters linearly, so with a flat prior its conditional posterior is normal
        with mean ``b/a`` and variance ``1/a`` (``a = sum m^2/sigma^2``, ``b = sum y m/sigma^2``
        over the volumes of that temperature).  Returns the mean, or a draw when ``rng`` is
        given.
        """
        w = 1.0 / self.sigma**2
        a = (unscaled**2 * w) @ self._group_matrix
        b = (unscaled * (self.y * w)) @ self._group_matrix
        a = np.where(a > 0, a, np.inf)
        mean = b / a
        if rng is None:
            return mean
        return mean + rng.standard_normal(mean.shape) / np.sqrt(a)

    def with_scale(self, theta: np.ndarray, rng: np.random.Generator | None = None,
                   ) -> dict[str, np.ndarray]:
        """:meth:`unpack` plus the intensity scale (conditional mean or draw if integrated)."""
        phys = self.unpack(theta)
        if self.marginal_scale:
            phys["scale"] = self.conditional_scale(phys, self.predict_unscaled(phys), rng)
        return phys

    def predict(self, theta: np.ndarray, phys: dict[str, np.ndarray] | None = None,
                ) -> np.ndarray:
        """Predicted volumes (W, n_obs) in the order of ``self.table``."""
        if phys is None:
            phys = self.with_scale(theta)
        return phys["scale"][:, self.t_index] * self.predict_unscaled(phys)

    def predict_grid(self, theta: np.ndarray, temperature_index: int,
                     mixing_times_s: np.ndarray) -> np.ndarray:
        """Predicted volumes (W, n_tm, N, N) at one temperature on a grid of mixing times."""
        phys = self.with_scale(theta)
        tm = np.asarray(mixing_times_s, dtype=float)
        t_idx = np.full(len(tm), temperature_index)
        A = self._mixing(phys, t_idx, tm)
        m0 = phys["start"][:, temperature_index]
        return phys["scale"][:, temperature_index, None, None, None] * A * m0[:, None, None, :]

    # ------------------------------------------------------------------ probability
    def in_support(self, theta: np.ndarray) -> np.ndarray:
        """Boolean (W,): inside the prior box and the population/magnetisation simplex."""
        theta = np.atleast_2d(theta)
        ok = np.all((theta > self.lower) & (theta < self.upper), axis=1)
        spec = self.spec
        per_t = spec.populations == "per_temperature"
        if len(self._p_free) > 1:
            acc = sum(self._per_temperature(theta, f"p[{spec.site_names[i]}]", per_t)
                      for i in self._p_free[:-1])
            ok &= np.all(acc < 1.0 - self._p_fixed_mass, axis=1)
        if spec.start == "fitted":
            acc = sum(self._per_temperature(theta, f"m0[{s}]", True)
                      for s in spec.site_names[:-1])
            ok &= np.all(acc < 1.0, axis=1)
        return ok

    def log_prior(self, theta: np.ndarray, phys: dict[str, np.ndarray] | None = None,
                  support: np.ndarray | None = None) -> np.ndarray:
        """Log prior density (W,), -inf outside the support (up to a constant)."""
        theta = np.atleast_2d(theta)
        if support is None:
            support = self.in_support(theta)
        lp = np.where(support, 0.0, -np.inf)
        if phys is None:
            phys = self.unpack(np.clip(theta, self.lower, self.upper))
        for i, site in enumerate(self.spec.sites):
            if isinstance(site.population, GaussianPrior):
                pr = site.population
                lp = lp - 0.5 * np.sum(((phys["populations"][:, :, i] - pr.mean) / pr.sd) ** 2
                                       / self._population_sets(), axis=1)
            # normal prior on T1 while sampling R1 = 1/T1: Jacobian |dT1/dR1| = T1^2
            if self.spec.T1 == "per_temperature":
                for t, pr in enumerate(self._t1_settings[i]):
                    if isinstance(pr, GaussianPrior):
                        t1 = 1.0 / phys["r1"][:, t, i]
                        lp = lp - 0.5 * ((t1 - pr.mean) / pr.sd) ** 2 + 2.0 * np.log(t1)
            elif isinstance(site.T1_s, GaussianPrior):
                pr = site.T1_s
                t1 = 1.0 / phys["r1"][:, 0, i]
                lp = lp - 0.5 * ((t1 - pr.mean) / pr.sd) ** 2 + 2.0 * np.log(t1)
        if self.sample_temperatures:
            z = (phys["temperature_K"] - self.temperatures_K) / self.temperature_sigma_K
            lp = lp - 0.5 * np.sum(z**2, axis=1)
        return lp

    def _population_sets(self) -> float:
        return 1.0 if self.spec.populations == "per_temperature" else float(self.n_temperatures)

    def log_likelihood_pointwise(self, theta: np.ndarray,
                                 phys: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Gaussian log-likelihood of every volume, shape (W, n_obs)."""
        theta = np.atleast_2d(theta)
        if phys is None:
            phys = self.with_scale(theta)
        mu = self.predict(theta, phys)
        var = self.sigma**2 + (phys["frac_error"][:, None] * mu) ** 2
        return -0.5 * ((self.y - mu) ** 2 / var + np.log(var) + _LOG_2PI)

    def marginal_log_likelihood(self, phys: dict[str, np.ndarray]) -> np.ndarray:
        """Log-likelihood (W,) with the scale of each temperature integrated out (flat prior).

        ``log L = sum_t [ -1/2 sum y^2/s^2 + b^2/(2a) - 1/2 log a + 1/2 log 2 pi ]
        - sum log s - n/2 log 2 pi`` with ``a``, ``b`` as in :meth:`conditional_scale`.
        """
        m = self.predict_unscaled(phys)
        w = 1.0 / self.sigma**2
        a = (m**2 * w) @ self._group_matrix
        b = (m * (self.y * w)) @ self._group_matrix
        with np.errstate(divide="ignore", invalid="ignore"):
            per_t = 0.5 * b**2 / a - 0.5 * np.log(a)
        per_t = np.where((a > 0) & (b > 0), per_t, -np.inf)
        const = (-0.5 * np.sum(self.y**2 * w) - np.sum(np.log(self.sigma))
                 - 0.5 * len(self.y) * _LOG_2PI + 0.5 * self.n_temperatures * _LOG_2PI)
        return per_t.sum(axis=1) + const

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """Normalised residuals (y - model)/sigma for one parameter vector (for least squares)."""
        return (self.y - self.predict(np.atleast_2d(theta))[0]) / self.sigma

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """Log-posterior (W,) of a batch of parameter vectors (emcee ``vectorize=True``)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        support = self.in_support(theta)
        out = np.full(theta.shape[0], -np.inf)
        if not support.any():
            return out
        th = theta[support]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            phys = self.unpack(th)
            if self.marginal_scale:
                loglik = self.marginal_log_likelihood(phys)
            else:
                loglik = self.log_likelihood_pointwise(th, phys).sum(1)
            value = self.log_prior(th, phys, support=np.ones(len(th), dtype=bool)) + loglik
        out[support] = np.where(np.isfinite(value), value, -np.inf)
        return out

    # ------------------------------------------------------------------ start values
    def initial_guess(self, ln_k_ex: float = 0.0, Ea_eV: float = 0.3) -> np.ndarray:
        """A plausible parameter vector inside the prior box (rates given as ln k_ex)."""
        theta = np.empty(self.n_parameters)
        for k, par in enumerate(self.parameters):
            name = par.name
            if name.startswith("ln_k_ex"):
                v = ln_k_ex
            elif name.startswith("Ea_eV"):
                v = Ea_eV
            elif name.startswith("dH_kJ"):
                v = Ea_eV * kinetics.KJ_PER_MOL_PER_EV
            elif name.startswith("k_sd_per_s"):
                lo, hi = self.spec.priors.spin_diffusion_per_s
                v = lo + 1e-3 * (hi - lo)
            elif name.startswith("T_K@"):
                v = 0.5 * (par.lower + par.upper)
            elif name.startswith("p["):
                v = self._guess_population(name)
            elif name.startswith("R1_per_s"):
                v = 1.0
            elif name.startswith("m0["):
                v = 1.0 / self.n_sites
            elif name.startswith("ln_scale"):
                v = 0.5 * (par.lower + par.upper)
            elif name == "ln_frac_error":
                v = np.log(0.01)
            else:  # pragma: no cover - every parameter kind is handled above
                v = 0.5 * (par.lower + par.upper)
            span = par.upper - par.lower
            theta[k] = np.clip(v, par.lower + 1e-6 * span, par.upper - 1e-6 * span)
        return theta

    def _guess_population(self, name: str) -> float:
        """Diagonal volume fraction at the shortest mixing times."""
        site = name[2:name.index("]")]
        tm = self.mixing_time_s
        first = tm <= np.min(tm) * 1.0001
        diag = first & (self.to_index == self.from_index)
        vals = np.clip(self.y[diag], 0, None)
        idx = self.to_index[diag]
        total = vals.sum()
        i = self.spec.site_names.index(site)
        frac = vals[idx == i].sum() / total if total > 0 else 1.0 / self.n_sites
        return float(np.clip(frac * (1 - self._p_fixed_mass), 0.01, 0.98))


def problem_from_config(volumes: pd.DataFrame, config: Any) -> ExsyProblem:
    """Convenience: :class:`ExsyProblem` for a volume table and a validated config."""
    return ExsyProblem(volumes, ModelSpec.from_config(config))


def site_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """Every unordered pair of site indices."""
    return [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
