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
from exsyfit.kinetics.diffusion import diffusion_mixing_matrix, slowest_mode_factor
from exsyfit.kinetics.exchange import (
    directional_rates,
    exchange_rate_matrix,
    mixing_matrix_paired,
    mixing_matrix_two_site,
)

_LOG_2PI = np.log(2.0 * np.pi)


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
        self._check_design(table)
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
    def _check_design(self, table: pd.DataFrame) -> None:
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
        self.lower = np.array([p.lower for p in self.parameters])
        self.upper = np.array([p.upper for p in self.parameters])
        self._build_index()

    def _build_index(self) -> None:
        """Column indices of every parameter kind, so :meth:`unpack` does no name look-ups."""
        spec, ix = self.spec, self._index
        temps = [_tlabel(t) for t in self.temperatures_K]
        pairs = spec.pair_names
        self._ix_T = (np.array([ix[f"T_K@{tl}"] for tl in temps])
                      if self.sample_temperatures else None)
        if spec.temperature_model == "free":
            self._ix_lnk = np.array([[ix[f"ln_k_ex[{p}]@{tl}"] for tl in temps] for p in pairs],
                                    dtype=int).reshape(len(pairs), len(temps))
        else:
            slope = "Ea_eV" if spec.temperature_model == "arrhenius" else "dH_kJ_per_mol"
            self._ix_slope = np.array([ix[f"{slope}[{p}]"] for p in pairs], dtype=int)
            self._ix_ref = np.array([ix[f"ln_k_ex_ref[{p}]"] for p in pairs], dtype=int)
        self._ix_ksd = (np.array([ix[f"k_sd_per_s[{p}]"] for p in pairs], dtype=int)
                        if spec.spin_diffusion else None)
        per_t = spec.populations == "per_temperature"
        sets = temps if per_t else [None]
        names = spec.site_names
        self._ix_p = np.array([[ix[f"p[{names[i]}]" + (f"@{tl}" if tl else "")]
                                for i in self._p_free[:-1]] for tl in sets],
                              dtype=int).reshape(len(sets), max(len(self._p_free) - 1, 0))
        self._p_base = np.zeros(self.n_sites)
        for i, v in self._p_fixed.items():
            self._p_base[i] = v
        n_t = self.n_temperatures
        cols = np.full((n_t, self.n_sites), -1)
        fixed = np.zeros((n_t, self.n_sites))
        for i, site in enumerate(spec.sites):
            for t in range(n_t):
                setting = (self._t1_settings[i][t] if spec.T1 == "per_temperature"
                           else site.T1_s)
                if isinstance(setting, float):
                    fixed[t, i] = 1.0 / setting
                elif spec.T1 == "per_temperature":
                    cols[t, i] = ix[f"R1_per_s[{site.name}]@{temps[t]}"]
                else:
                    cols[t, i] = ix[f"R1_per_s[{site.name}]"]
        self._r1_cols, self._r1_fixed, self._r1_sampled = np.maximum(cols, 0), fixed, cols >= 0
        self._ix_m0 = (np.array([[ix[f"m0[{s}]@{tl}"] for s in names[:-1]] for tl in temps],
                                dtype=int) if spec.start == "fitted" else None)
        self._ix_scale = (None if self.marginal_scale
                          else np.array([ix[f"ln_scale@{tl}"] for tl in temps], dtype=int))
        self._ix_frac = ix["ln_frac_error"] if spec.fractional_error else None
        # Gaussian priors: (quantity, site index, temperature index or None, mean, sd)
        self._gauss_p = [(i, s.population.mean, s.population.sd) for i, s in
                         enumerate(spec.sites) if isinstance(s.population, GaussianPrior)]
        self._gauss_t1 = []
        for i, site in enumerate(spec.sites):
            if spec.T1 == "per_temperature":
                self._gauss_t1 += [(i, t, pr.mean, pr.sd) for t, pr in
                                   enumerate(self._t1_settings[i])
                                   if isinstance(pr, GaussianPrior)]
            elif isinstance(site.T1_s, GaussianPrior):
                self._gauss_t1.append((i, 0, site.T1_s.mean, site.T1_s.sd))
        if self.spec.start == "given":
            m = np.array([s.start_magnetisation for s in spec.sites], dtype=float)
            self._start_given = m / m.sum()
        with np.errstate(all="ignore"):  # extreme sigmas give a non-finite posterior
            self._w = 1.0 / self.sigma**2
            self._yw = self.y * self._w
            self._loglik_const = (
                -0.5 * np.sum(self.y**2 * self._w) - np.sum(np.log(self.sigma))
                - 0.5 * len(self.y) * _LOG_2PI + 0.5 * self.n_temperatures * _LOG_2PI)
        self._prior_terms = bool(self._gauss_p or self._gauss_t1 or self.sample_temperatures)
        self._slowest = (slowest_mode_factor(spec.transport)
                         if spec.transport != "first-order" else 1.0)

    # ------------------------------------------------------------------ helpers
    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def _populations(self, theta: np.ndarray) -> np.ndarray:
        """Populations (W, n_T, N) from the sampled columns and the fixed values."""
        W, n_t = theta.shape[0], self.n_temperatures
        p = np.empty((W, self._ix_p.shape[0], self.n_sites))
        p[:] = self._p_base
        if self._p_free:
            free = theta[:, self._ix_p]  # (W, n_sets, n_free - 1)
            p[:, :, self._p_free[:-1]] = free
            p[:, :, self._p_free[-1]] = 1.0 - self._p_fixed_mass - free.sum(axis=2)
        return np.broadcast_to(p, (W, n_t, self.n_sites)) if p.shape[1] != n_t else p

    # ------------------------------------------------------------------ physics
    def unpack(self, theta: np.ndarray, derived: bool = True) -> dict[str, np.ndarray]:
        """Physical quantities for a batch of parameter vectors.

        Parameters
        ----------
        theta : numpy.ndarray, shape (W, n_parameters)
        derived : bool
            Also the global-law quantities (Ea, ln A, dH, dS); the log-posterior skips them.

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
        if self._ix_T is not None:
            T = theta[:, self._ix_T]
        else:
            T = (np.broadcast_to(self.temperatures_K, (W, n_t)) if derived
                 else self.temperatures_K[None, :])
        out["temperature_K"] = T
        law = spec.temperature_model
        if law == "free":
            ln_k = theta[:, self._ix_lnk]
        else:
            slope = theta[:, self._ix_slope][:, :, None]
            ref = theta[:, self._ix_ref][:, :, None]
            args = ({"Ea_eV": slope} if law == "arrhenius" else {"dH_kJ_per_mol": slope})
            ln_k = kinetics.ln_k(law, T[:, None, :], ln_k_ref=ref, T_ref_K=self.T_ref_K,
                                 **args)
        k_ex = np.exp(ln_k)
        if spec.transport != "first-order":
            # the sampled rate is D/L^2; report k_ex as the slowest uptake mode
            out["D_over_L2"] = k_ex
            k_ex = k_ex * self._slowest
        if self._ix_ksd is not None:
            ksd = theta[:, self._ix_ksd]
            out["k_sd"] = ksd
            k_ex = k_ex + ksd[:, :, None]
        out["k_ex"] = k_ex
        if derived:
            self._global_laws(theta, out)
        p = self._populations(theta)
        out["populations"] = p
        r1 = np.where(self._r1_sampled, theta[:, self._r1_cols], self._r1_fixed)
        out["r1"] = r1
        if spec.start == "equilibrium":
            start = p
        elif spec.start == "given":
            start = np.broadcast_to(self._start_given, (W, n_t, N))
        else:
            m0 = theta[:, self._ix_m0]
            start = np.concatenate([m0, 1.0 - m0.sum(axis=2, keepdims=True)], axis=2)
        out["start"] = start
        if self._ix_scale is not None:
            out["scale"] = np.exp(theta[:, self._ix_scale])
        out["frac_error"] = (np.exp(theta[:, self._ix_frac]) if self._ix_frac is not None
                             else np.zeros(W))
        if not derived and self.n_sites == 2 and self.n_pairs == 1:
            # the log-posterior of two sites needs only the two directional rates (W, n_T)
            out["k_ab_k_ba"] = directional_rates(k_ex[:, 0], p[:, :, 0], p[:, :, 1])
            return out
        k_pairs = k_ex.transpose(0, 2, 1)  # (W, n_T, n_pairs)
        out["K"] = exchange_rate_matrix(k_pairs, np.maximum(p, 1e-300), spec.pairs)
        return out

    def _global_laws(self, theta: np.ndarray, out: dict[str, np.ndarray]) -> None:
        spec = self.spec
        if spec.temperature_model == "free":
            return
        ref = theta[:, self._ix_ref]
        if spec.transport != "first-order":
            # the sampled law is that of D/L^2; report the law of k_ex (slowest uptake mode)
            ref = ref + np.log(self._slowest)
        slope = theta[:, self._ix_slope]
        if spec.temperature_model == "arrhenius":
            out["Ea_eV"] = slope
            out["ln_A_per_s"] = kinetics.arrhenius_ln_prefactor(slope, ref, self.T_ref_K)
        else:
            out["dH_kJ_per_mol"] = slope
            out["dS_J_per_mol_K"] = kinetics.eyring_entropy(slope, ref, self.T_ref_K)
        out["ln_k_ex_ref"] = ref

    def _mixing(self, phys: dict[str, np.ndarray], t_idx: np.ndarray, tm: np.ndarray,
                ) -> np.ndarray:
        """Mixing matrices (W, n, N, N) at the (temperature index, mixing time) pairs given."""
        if self.spec.transport != "first-order":
            # evaluate on (temperatures x unique mixing times), then pick the pairs
            times, pick = np.unique(tm, return_inverse=True)
            A = diffusion_mixing_matrix(phys["D_over_L2"][:, 0, :], phys["populations"],
                                        phys["r1"], times, geometry=self.spec.transport)
            return A[:, t_idx, pick]
        r1 = phys["r1"]
        if self.n_sites == 2:  # closed form: gather only the two rates and relaxation rates
            if "k_ab_k_ba" in phys:
                k_ab, k_ba = phys["k_ab_k_ba"]
            else:
                k_ab, k_ba = phys["K"][:, :, 1, 0], phys["K"][:, :, 0, 1]
            return mixing_matrix_two_site(k_ab[:, t_idx], k_ba[:, t_idx],
                                          r1[:, :, 0][:, t_idx], r1[:, :, 1][:, t_idx], tm)
        K = phys["K"]
        return mixing_matrix_paired(K[:, t_idx], r1[:, t_idx], tm[None, :],
                                    phys["populations"][:, t_idx])

    def predict_unscaled(self, phys: dict[str, np.ndarray]) -> np.ndarray:
        """Volumes per unit intensity scale, ``A[i, j] M_j(0)``, shape (W, n_obs)."""
        A = self._mixing(phys, self._combo_t, self._combo_tm)
        W, N = A.shape[0], self.n_sites
        a_obs = A.reshape(W, -1)[:, (self._combo_of_obs * N + self.to_index) * N
                                 + self.from_index]
        start = np.ascontiguousarray(phys["start"]).reshape(W, -1)
        return a_obs * start[:, self.t_index * N + self.from_index]

    def conditional_scale(self, phys: dict[str, np.ndarray], unscaled: np.ndarray,
                          rng: np.random.Generator | None = None) -> np.ndarray:
        """Intensity scale per temperature given the other parameters, shape (W, n_T).

        The scale enters linearly, so with a flat prior its conditional posterior is normal
        with mean ``b/a`` and variance ``1/a`` (``a = sum m^2/sigma^2``, ``b = sum y m/sigma^2``
        over the volumes of that temperature).  Returns the mean, or a draw when ``rng`` is
        given.
        """
        with np.errstate(all="ignore"):
            a = (unscaled**2 * self._w) @ self._group_matrix
            b = (unscaled * self._yw) @ self._group_matrix
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
        ok = ((theta > self.lower) & (theta < self.upper)).all(axis=1)
        if self._ix_p.shape[1] > 0:
            acc = theta[:, self._ix_p].sum(axis=2)
            ok &= (acc < 1.0 - self._p_fixed_mass).all(axis=1)
        if self._ix_m0 is not None:
            ok &= (theta[:, self._ix_m0].sum(axis=2) < 1.0).all(axis=1)
        return ok

    def log_prior(self, theta: np.ndarray, phys: dict[str, np.ndarray] | None = None,
                  support: np.ndarray | None = None) -> np.ndarray:
        """Log prior density (W,), -inf outside the support (up to a constant)."""
        theta = np.atleast_2d(theta)
        if support is None:
            support = self.in_support(theta)
        lp = np.where(support, 0.0, -np.inf)
        if not self._prior_terms:
            return lp
        if phys is None:
            phys = self.unpack(np.clip(theta, self.lower, self.upper))
        for i, mean, sd in self._gauss_p:
            lp = lp - 0.5 * np.sum(((phys["populations"][:, :, i] - mean) / sd) ** 2
                                   / self._population_sets(), axis=1)
        # normal prior on T1 while sampling R1 = 1/T1: Jacobian |dT1/dR1| = T1^2
        for i, t, mean, sd in self._gauss_t1:
            t1 = 1.0 / phys["r1"][:, t, i]
            lp = lp - 0.5 * ((t1 - mean) / sd) ** 2 + 2.0 * np.log(t1)
        if self.sample_temperatures:
            z = (phys["temperature_K"] - self.temperatures_K) / self.temperature_sigma_K
            lp = lp - 0.5 * np.sum(z**2, axis=1)
        return lp

    def _population_sets(self) -> float:
        return 1.0 if self.spec.populations == "per_temperature" else float(self.n_temperatures)

    def variance(self, phys: dict[str, np.ndarray], mu: np.ndarray) -> np.ndarray:
        """Variance of every volume (W, n_obs): sigma^2 plus the fractional error of ``mu``."""
        return self.sigma**2 + (phys["frac_error"][:, None] * mu) ** 2

    def log_likelihood_pointwise(self, theta: np.ndarray,
                                 phys: dict[str, np.ndarray] | None = None,
                                 mu: np.ndarray | None = None) -> np.ndarray:
        """Gaussian log-likelihood of every volume, shape (W, n_obs).

        ``mu``: the predicted volumes of ``phys`` when already computed.
        """
        theta = np.atleast_2d(theta)
        if phys is None:
            phys = self.with_scale(theta)
        if mu is None:
            mu = self.predict(theta, phys)
        var = self.variance(phys, mu)
        return -0.5 * ((self.y - mu) ** 2 / var + np.log(var) + _LOG_2PI)

    def marginal_log_likelihood(self, phys: dict[str, np.ndarray]) -> np.ndarray:
        """Log-likelihood (W,) with the scale of each temperature integrated out (flat prior).

        ``log L = sum_t [ -1/2 sum y^2/s^2 + b^2/(2a) - 1/2 log a + 1/2 log 2 pi ]
        - sum log s - n/2 log 2 pi`` with ``a``, ``b`` as in :meth:`conditional_scale`.
        """
        m = self.predict_unscaled(phys)
        a = (m * m * self._w) @ self._group_matrix
        b = (m * self._yw) @ self._group_matrix
        with np.errstate(divide="ignore", invalid="ignore"):
            per_t = 0.5 * b**2 / a - 0.5 * np.log(a)
        per_t = np.where((a > 0) & (b > 0), per_t, -np.inf)
        return per_t.sum(axis=1) + self._loglik_const

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """Normalised residuals (y - model)/sigma for one parameter vector (for least squares)."""
        return (self.y - self.predict(np.atleast_2d(theta))[0]) / self.sigma

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """Log-posterior (W,) of a batch of parameter vectors (vectorised over walkers)."""
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 1:
            theta = theta[None]
        support = self.in_support(theta)
        if support.all():
            th = theta
        elif not support.any():
            return np.full(theta.shape[0], -np.inf)
        else:
            th = theta[support]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            phys = self.unpack(th, derived=False)
            if self.marginal_scale:
                value = self.marginal_log_likelihood(phys)
            else:
                value = self.log_likelihood_pointwise(th, phys).sum(1)
            if self._prior_terms:
                value = value + self.log_prior(th, phys, support=np.ones(len(th), dtype=bool))
        value[~np.isfinite(value)] = -np.inf
        if th is theta:
            return value
        out = np.full(theta.shape[0], -np.inf)
        out[support] = value
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
