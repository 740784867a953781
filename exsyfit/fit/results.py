"""Fit results: posterior summaries, tables and the posterior file.

Files written by :meth:`FitResult.save` (all atomically):

``summary.json``
    Posterior medians and 2.5/16/84/97.5 % quantiles of every reported quantity, the global
    temperature law, and sampler diagnostics (see the README for every key).
``summary.csv``, ``summary_law.csv``, ``summary_rounded.csv``
    One row per temperature (numbers: medians, 68 % and 95 % intervals of k_ex, ln k_ex, the
    directional rates, the populations and T1), the global temperature law (one row per
    quantity and pair) and the per-temperature table rounded as text; see
    :mod:`exsyfit.fit.summary_csv`.
``posterior.nc``
    ArviZ InferenceData (netCDF4): groups ``posterior`` (physical quantities with dimensions
    ``chain`` (= walker), ``draw``, ``temperature``, ``site``, ``pair``, ``to_site``,
    ``from_site``, and the sampled vector ``theta`` with dimension ``parameter``),
    ``log_likelihood`` (``volume``, per observation, for LOO/WAIC), ``sample_stats`` (``lp``),
    ``observed_data`` and ``constant_data`` (the volume table).  Open it with
    ``arviz.from_netcdf``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit import __version__
from exsyfit.errors import ExsyfitError
from exsyfit.files import atomic_path, write_bytes_atomic, write_text_atomic
from exsyfit.fit.checkpoint import FINGERPRINT_ATTR, read_fingerprint
from exsyfit.fit.goodness import GoodnessOfFit, goodness_of_fit, mismatch_warning
from exsyfit.fit.likelihood import ExsyProblem
from exsyfit.fit.posterior_file import PosteriorGroup, write_posterior_file
from exsyfit.fit.sampling import SamplingOutput
from exsyfit.fit.summary_csv import law_table, rounded_table, summary_table

#: Upper bound of draws x volumes kept for per-volume quantities (about 160 MB as float64).
MAX_DRAW_VALUES = 20_000_000

QUANTILES = {"q025": 2.5, "q16": 16.0, "median": 50.0, "q84": 84.0, "q975": 97.5}


def _finite_or_none(value: float) -> float | None:
    """A float for JSON, None when it is not finite."""
    value = float(value)
    return value if np.isfinite(value) else None


def stats(values: np.ndarray) -> dict[str, float]:
    """Median and 2.5/16/84/97.5 % quantiles of a 1D sample."""
    values = np.asarray(values, dtype=float).ravel()
    with np.errstate(invalid="ignore"):
        q = np.percentile(values, list(QUANTILES.values()))
    out = dict(zip(QUANTILES, (float(v) for v in q), strict=True))
    return {k: out[k] for k in ("median", "q025", "q16", "q84", "q975")}


@dataclass
class FitResult:
    """Posterior of one model fitted to one volume table.

    Attributes
    ----------
    problem : ExsyProblem
        The model and data.
    theta : numpy.ndarray, shape (n_walkers, n_draws, n_parameters)
        Thinned post-burn-in samples (walker-major, as ArviZ chains).
    lp : numpy.ndarray, shape (n_walkers, n_draws)
        Log-posterior of each sample.
    diagnostics : dict
        Sampler diagnostics (see summary.json).
    derived : dict
        Physical quantities per sample, each with leading axes (n_walkers, n_draws).
    warnings : list of str
        Problems the user should see, each a plain sentence: a sampler that did not
        converge (with the reason), a model that does not describe the data (reduced
        chi-square above 2 or posterior-predictive p below 0.01).
    fingerprint : str or None
        Checksum of the inputs and configuration the fit was made from (stored in
        posterior.nc; see :func:`exsyfit.fit.checkpoint.read_fingerprint`).
    """

    problem: ExsyProblem
    theta: np.ndarray
    lp: np.ndarray
    diagnostics: dict[str, Any]
    derived: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seed: int = 1
    length_scale: Any = None
    fingerprint: str | None = None
    goodness: GoodnessOfFit | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sampling(cls, problem: ExsyProblem, out: SamplingOutput, seed: int = 1,
                      max_draws_per_walker: int = 200, length_scale: Any = None) -> FitResult:
        """Thin the chain, compute physical quantities and diagnostics.

        ``length_scale`` (:class:`exsyfit.fit.options.DiffusionConfig` with ``length_nm`` set)
        adds diffusion coefficients (and, for first-order exchange, transfer coefficients).
        """
        post = out.chain[out.burn_in:]
        lp = out.log_prob[out.burn_in:]
        n_post, n_walkers, _ = post.shape
        tau = np.asarray(out.tau, dtype=float)
        finite = np.isfinite(tau)
        tau_max = float(np.max(tau)) if finite.all() else float("inf")
        tau_thin = float(np.max(tau[finite])) if finite.any() else 1.0
        # per-volume quantities (log-likelihood, predictions) are kept for every draw: bound
        # their size for large tables (at most MAX_DRAW_VALUES numbers, >= 4 draws per walker)
        budget = max(4, MAX_DRAW_VALUES // max(n_walkers * len(problem.y), 1))
        per_walker = max(1, min(max_draws_per_walker, budget))
        thin = max(1, int(tau_thin // 2), int(np.ceil(n_post / per_walker)))
        theta = np.swapaxes(post[::thin], 0, 1)
        lp_t = np.swapaxes(lp[::thin], 0, 1)
        ess = n_post * n_walkers / np.maximum(tau, 1.0)
        diagnostics = {
            "converged": bool(out.converged),
            "convergence_reason": out.convergence_reason,
            "n_walkers": int(n_walkers),
            "n_steps": int(out.chain.shape[0]),
            "burn_in": int(out.burn_in),
            "thin": int(thin),
            "tau_max": _finite_or_none(tau_max),
            "tau": {n: _finite_or_none(t)
                    for n, t in zip(problem.parameter_names, tau, strict=True)},
            "acceptance_fraction": float(out.acceptance_fraction),
            "ess_min": float(np.min(ess)),
            "sampling_seconds": float(out.sampling_seconds),
            "n_log_prob_evaluations": int(out.n_log_prob_evaluations),
            "resumed_from_step": int(out.resumed_from_step),
        }
        result = cls(problem, theta, lp_t, diagnostics, seed=seed, length_scale=length_scale,
                     fingerprint=out.fingerprint)
        result.derived = result._compute_derived()
        return result

    def _compute_derived(self) -> dict[str, np.ndarray]:
        W, D, P = self.theta.shape
        flat = self.theta.reshape(W * D, P)
        rng = np.random.default_rng(self.seed)
        with np.errstate(all="ignore"):  # a degenerate posterior may give non-finite values
            return self._derive(flat, rng, W, D)

    def _derive(self, flat: np.ndarray, rng: np.random.Generator, W: int, D: int,
                ) -> dict[str, np.ndarray]:
        phys = self.problem.with_scale(flat, rng=rng)
        out: dict[str, np.ndarray] = {}
        for key, value in phys.items():
            value = np.asarray(value)
            out[key] = value.reshape((W, D) + value.shape[1:])
        out["T1_s"] = 1.0 / out.pop("r1")
        mu = self.problem.predict(flat, phys)  # once, for the likelihood and the assessment
        loglik = self.problem.log_likelihood_pointwise(flat, phys, mu)
        out["log_likelihood"] = loglik.reshape(W, D, -1)
        out.update(self._transport_draws(phys["k_ex"], rng, (W, D)))
        self._assess(phys, mu, rng)
        return out

    def _assess(self, phys: dict[str, np.ndarray], mu: np.ndarray,
                rng: np.random.Generator) -> None:
        """Goodness of fit into ``diagnostics`` and the warnings it (and convergence) imply."""
        prob = self.problem
        var = prob.variance(phys, mu)
        n_fitted = prob.n_parameters + (prob.n_temperatures if prob.marginal_scale else 0)
        gof = goodness_of_fit(prob.y, prob.sigma, mu, var, prob.t_index, prob.n_temperatures,
                              n_fitted, rng)
        self.goodness = gof
        self.diagnostics["chi2_reduced"] = _finite_or_none(gof.chi2_reduced)
        self.diagnostics["chi2_dof"] = float(gof.dof)
        self.diagnostics["posterior_predictive_p"] = _finite_or_none(gof.posterior_predictive_p)
        notes = []
        if not self.diagnostics.get("converged", True):
            why = self.diagnostics.get("convergence_reason") or "the chain is too short"
            notes.append(f"The sampler did not converge, so the results may be unreliable: "
                         f"{why}.")
        mismatch = mismatch_warning(gof, self.temperatures_K)
        if mismatch:
            notes.append(mismatch)
        self.warnings.extend(n for n in notes if n not in self.warnings)

    def residuals(self) -> pd.DataFrame:
        """Standardised residuals of every volume against the posterior-median prediction.

        Returns
        -------
        pandas.DataFrame
            One row per volume, in the order of the volume table: ``experiment``,
            ``temperature_K``, ``temperature_index``, ``mixing_time_s``, ``from_site``,
            ``to_site``, ``volume``, ``sigma``, ``predicted`` (posterior median),
            ``residual`` (volume - predicted, table units) and ``standardised_residual``
            (residual / sigma).  Group by ``experiment`` for one spectrum.
        """
        table = self.problem.table
        cols = ["experiment", "temperature_K", "temperature_index", "mixing_time_s",
                "from_site", "to_site", "volume", "sigma"]
        out = table[cols].reset_index(drop=True).copy()
        out["predicted"] = self.goodness.predicted_median
        out["residual"] = out["volume"] - out["predicted"]
        out["standardised_residual"] = self.goodness.standardised_residuals
        return out

    def _transport_draws(self, k_ex: np.ndarray, rng: np.random.Generator,
                         lead: tuple[int, int]) -> dict[str, np.ndarray]:
        """D (cm^2/s) and h (m/s) draws from the slowest-mode rates and the length scale."""
        ls = self.length_scale
        if ls is None or getattr(ls, "length_nm", None) is None:
            return {}
        from exsyfit.kinetics.diffusion import (
            propagate_length_scale,
            transfer_coefficient_from_rate,
        )

        transport = self.problem.spec.transport
        geometry = transport if transport != "first-order" else ls.geometry
        draws = propagate_length_scale(k_ex, ls.length_nm * 1e-9, ls.length_sd_nm * 1e-9, rng,
                                       geometry)
        out = {"D_cm2_per_s": draws.D_cm2_per_s.reshape(lead + k_ex.shape[1:])}
        if transport == "first-order":
            length = draws.length_m.reshape((-1,) + (1,) * (k_ex.ndim - 1))
            h = transfer_coefficient_from_rate(k_ex, length, geometry)
            out["h_m_per_s"] = h.reshape(lead + k_ex.shape[1:])
        return out

    # ------------------------------------------------------------------ access
    @property
    def sites(self) -> tuple[str, ...]:
        """Site names."""
        return self.problem.spec.site_names

    @property
    def pairs(self) -> tuple[str, ...]:
        """Exchanging pairs, 'A<->B'."""
        return self.problem.spec.pair_names

    @property
    def keyed_by_pair(self) -> bool:
        """Whether pair quantities in summaries are objects keyed by pair ('A<->B').

        With two sites they are plain statistics; with more sites (even if only one pair
        exchanges) they are keyed by pair.
        """
        return len(self.sites) > 2

    @property
    def temperatures_K(self) -> np.ndarray:
        """Temperatures of the data (group means), K."""
        return self.problem.temperatures_K

    @property
    def temperature_model(self) -> str:
        """'free', 'arrhenius' or 'eyring'."""
        return self.problem.spec.temperature_model

    def draws(self, name: str) -> np.ndarray:
        """Flattened samples of a derived quantity, leading axis = samples."""
        value = self.derived[name]
        return value.reshape((-1,) + value.shape[2:])

    def rate_draws(self, pair: str | None = None) -> np.ndarray:
        """k_ex samples of one pair, shape (n_samples, n_temperatures), s^-1."""
        q = 0 if pair is None else self.pairs.index(pair)
        return self.draws("k_ex")[:, q, :]

    def directional_rate_draws(self, from_site: str, to_site: str) -> np.ndarray:
        """Samples of the rate from_site -> to_site, shape (n_samples, n_temperatures)."""
        i, j = self.sites.index(to_site), self.sites.index(from_site)
        return self.draws("K")[:, :, i, j]

    def predict_buildup(self, temperature_index: int, mixing_times_s: np.ndarray,
                        n_draws: int = 200, seed: int = 0) -> np.ndarray:
        """Posterior-predictive mean volumes on a mixing-time grid.

        Returns
        -------
        numpy.ndarray, shape (n_draws, len(mixing_times_s), N, N)
            ``[..., i, j]`` = volume detected on site i that started on site j.
        """
        flat = self.theta.reshape(-1, self.theta.shape[-1])
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(flat), size=min(n_draws, len(flat)), replace=False)
        return self.problem.predict_grid(flat[pick], temperature_index, mixing_times_s)

    def rate_table(self) -> pd.DataFrame:
        """Posterior of k_ex per temperature and pair, one row each.

        Returns
        -------
        pandas.DataFrame
            ``temperature_K``, ``pair`` ('A<->B'), ``k_ex_per_s_median``, ``k_ex_per_s_q025``,
            ``k_ex_per_s_q16``, ``k_ex_per_s_q84``, ``k_ex_per_s_q975`` (s^-1); the input of
            :func:`exsyfit.kinetics.matrixlog.compare_with_global_fit`.
        """
        k = self.draws("k_ex")
        rows = []
        for q, pair in enumerate(self.pairs):
            for t, T in enumerate(self.temperatures_K):
                st = stats(k[:, q, t])
                rows.append({"temperature_K": float(T), "pair": pair,
                             **{f"k_ex_per_s_{key}": v for key, v in st.items()}})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ summaries
    def _law_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keys = [k for k in ("Ea_eV", "ln_A_per_s", "dH_kJ_per_mol", "dS_J_per_mol_K",
                            "k_sd") if k in self.derived]
        for key in keys:
            values = self.draws(key)
            name = "k_sd_per_s" if key == "k_sd" else key
            if not self.keyed_by_pair:
                out[name] = stats(values[:, 0])
            else:
                out[name] = {p: stats(values[:, q]) for q, p in enumerate(self.pairs)}
        if "Ea_eV" in self.derived:
            from exsyfit.kinetics.laws import KJ_PER_MOL_PER_EV

            ea = self.draws("Ea_eV")
            ln_a = self.draws("ln_A_per_s")
            corr = [float(np.corrcoef(ea[:, q], ln_a[:, q])[0, 1]) for q in range(ea.shape[1])]
            kj = {p: stats(ea[:, q] * KJ_PER_MOL_PER_EV) for q, p in enumerate(self.pairs)}
            out["Ea_kJ_per_mol"] = kj[self.pairs[0]] if not self.keyed_by_pair else kj
            out["Ea_lnA_correlation"] = corr[0] if not self.keyed_by_pair else dict(
                zip(self.pairs, corr, strict=True))
        if self.temperature_model != "free":
            out["reference_temperature_K"] = float(self.problem.T_ref_K)
        if "D_cm2_per_s" in self.derived and len(self.temperatures_K) >= 2:
            from exsyfit.kinetics.diffusion import diffusion_activation_energy

            # one Arrhenius line of ln D against 1/T per draw, (n, pairs)
            ea_d = diffusion_activation_energy(self.draws("temperature_K")[:, None, :],
                                               self.draws("D_cm2_per_s"))
            out["D_Ea_eV"] = stats(ea_d[:, 0]) if not self.keyed_by_pair else {
                p: stats(ea_d[:, q]) for q, p in enumerate(self.pairs)}
            ls = self.length_scale
            out["diffusion"] = {
                "geometry": self.problem.spec.transport
                if self.problem.spec.transport != "first-order" else ls.geometry,
                "length_nm": ls.length_nm, "length_sd_nm": ls.length_sd_nm,
                "D_from": "D/L^2 of the diffusion-limited fit times L^2"
                if self.problem.spec.transport != "first-order"
                else "slowest uptake mode equal to k_ex (pi^2 D/a^2 sphere, pi^2 D/(4 l^2) slab)",
            }
        return out

    def _temperature_entry(self, t: int) -> dict[str, Any]:
        sites, pairs = self.sites, self.pairs
        entry: dict[str, Any] = {"temperature_K": float(self.temperatures_K[t])}
        if self.goodness is not None:
            entry["chi2_reduced"] = _finite_or_none(self.goodness.chi2_reduced_by_temperature[t])
        if self.problem.sample_temperatures:
            entry["sample_temperature_K"] = stats(self.draws("temperature_K")[:, t])
        k_ex = self.draws("k_ex")[:, :, t]
        entry["k_ex_per_s"] = (stats(k_ex[:, 0]) if not self.keyed_by_pair
                               else {p: stats(k_ex[:, q]) for q, p in enumerate(pairs)})
        K = self.draws("K")[:, t]
        rates = {}
        for i, j in self.problem.spec.pairs:
            rates[f"{sites[i]}->{sites[j]}"] = stats(K[:, j, i])
            rates[f"{sites[j]}->{sites[i]}"] = stats(K[:, i, j])
        entry["k_per_s"] = rates
        entry["populations"] = {s: stats(self.draws("populations")[:, t, i])
                                for i, s in enumerate(sites)}
        entry["T1_s"] = {s: stats(self.draws("T1_s")[:, t, i]) for i, s in enumerate(sites)}
        if self.problem.spec.start != "equilibrium":
            entry["start_magnetisation"] = {s: stats(self.draws("start")[:, t, i])
                                            for i, s in enumerate(sites)}
        entry["intensity_scale"] = stats(self.draws("scale")[:, t])
        for key in ("D_over_L2", "D_cm2_per_s", "h_m_per_s"):
            if key in self.derived:
                values = self.draws(key)[:, :, t]
                name = "D_over_L2_per_s" if key == "D_over_L2" else key
                entry[name] = (stats(values[:, 0]) if not self.keyed_by_pair
                               else {p: stats(values[:, q]) for q, p in enumerate(pairs)})
        return entry

    def summary_dict(self) -> dict[str, Any]:
        """Everything summary.json holds, as a dict."""
        spec = self.problem.spec
        out: dict[str, Any] = {
            "exsyfit_version": __version__,
            "temperature_model": self.temperature_model,
            "sites": list(self.sites),
            "pairs": list(self.pairs),
            "transport": spec.transport,
            "rate_definitions": {
                "k_ex_per_s": "k_AB + k_BA of each pair (s^-1)"
                if spec.transport == "first-order"
                else "rate of the slowest uptake mode of the diffusion-limited model, "
                "pi^2 D/L^2 (sphere) or pi^2 D/(4 L^2) (slab), s^-1; D/L^2 itself is "
                "D_over_L2_per_s; Ea and ln A describe k_ex",
                "k_per_s": "'X->Y': first-order rate constant for a spin on X to move to Y "
                "(s^-1, per X spin); p_X k_X->Y = p_Y k_Y->X",
            },
        }
        out.update(self._law_summary())
        out["temperatures"] = [self._temperature_entry(t) for t in range(len(self.temperatures_K))]
        out["diagnostics"] = dict(self.diagnostics)
        out["n_volumes"] = int(len(self.problem.y))
        out["warnings"] = list(self.warnings)
        out["seed"] = int(self.seed)
        return out

    def summary(self) -> pd.DataFrame:
        """One row per temperature: medians and 95 % intervals (a subset of the columns of
        summary.csv, which :meth:`summary_table` gives in full)."""
        rows = []
        for entry in self.summary_dict()["temperatures"]:
            row: dict[str, float] = {"temperature_K": entry["temperature_K"]}

            def put(prefix: str, s: Mapping[str, float], row: dict[str, float] = row) -> None:
                row[prefix] = s["median"]
                row[f"{prefix}_q025"] = s["q025"]
                row[f"{prefix}_q975"] = s["q975"]

            if not self.keyed_by_pair:
                put("k_ex_per_s", entry["k_ex_per_s"])
            else:
                for p, s in entry["k_ex_per_s"].items():
                    put(f"k_ex_per_s[{p}]", s)
            for name, s in entry["k_per_s"].items():
                put(f"k_per_s[{name}]", s)
            for name, s in entry["populations"].items():
                put(f"population[{name}]", s)
            for name, s in entry["T1_s"].items():
                put(f"T1_s[{name}]", s)
            rows.append(row)
        return pd.DataFrame(rows)

    def summary_table(self) -> pd.DataFrame:
        """summary.csv: one row per temperature, medians with 68 % and 95 % intervals of
        k_ex, ln k_ex, the directional rates, populations and T1 (all the columns of
        :meth:`summary` and more; see :func:`exsyfit.fit.summary_csv.summary_table`)."""
        return summary_table(self)

    def law_table(self) -> pd.DataFrame:
        """summary_law.csv: Ea, ln A (or dH, dS), ... one row per quantity and pair (see
        :func:`exsyfit.fit.summary_csv.law_table`)."""
        return law_table(self)

    # ------------------------------------------------------------------ files
    def posterior_groups(self) -> dict[str, PosteriorGroup]:
        """The content of posterior.nc as plain arrays, group by group (see the module
        docstring); :meth:`to_inference_data` and :meth:`save` both use it."""
        d = self.derived
        W, D = self.theta.shape[:2]
        lead = ("chain", "draw")
        posterior: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
            "theta": (lead + ("parameter",), self.theta),
            "k_ex_per_s": (lead + ("pair", "temperature"), d["k_ex"]),
            # (chain, draw, to, from, temperature)
            "k_per_s": (lead + ("to_site", "from_site", "temperature"),
                        np.moveaxis(d["K"], 2, -1)),
            "populations": (lead + ("site", "temperature"), np.moveaxis(d["populations"], 2, -1)),
            "T1_s": (lead + ("site", "temperature"), np.moveaxis(d["T1_s"], 2, -1)),
            "start_magnetisation": (lead + ("site", "temperature"),
                                    np.moveaxis(d["start"], 2, -1)),
            "intensity_scale": (lead + ("temperature",), d["scale"]),
            "temperature_K": (lead + ("temperature",), d["temperature_K"]),
        }
        for key in ("Ea_eV", "ln_A_per_s", "dH_kJ_per_mol", "dS_J_per_mol_K", "k_sd"):
            if key in d:
                posterior[key] = (lead + ("pair",), d[key])
        for key, name in (("D_over_L2", "D_over_L2_per_s"), ("D_cm2_per_s", "D_cm2_per_s"),
                          ("h_m_per_s", "h_m_per_s")):
            if key in d:
                posterior[name] = (lead + ("pair", "temperature"), d[key])
        table = self.problem.table
        coords = {
            "chain": np.arange(W),
            "draw": np.arange(D),
            "parameter": np.array(self.problem.parameter_names, dtype=object),
            "pair": np.array(self.pairs, dtype=object),
            "site": np.array(self.sites, dtype=object),
            "to_site": np.array(self.sites, dtype=object),
            "from_site": np.array(self.sites, dtype=object),
            "temperature": np.array([float(t) for t in self.temperatures_K]),
            "observation": np.arange(len(table)),
        }
        obs = ("observation",)
        constant = {
            "experiment": (obs, table["experiment"].astype(str).to_numpy(dtype=object)),
            "temperature_K_obs": (obs, table["temperature_K"].to_numpy(float)),
            "mixing_time_s": (obs, table["mixing_time_s"].to_numpy(float)),
            "from_site_obs": (obs, table["from_site"].astype(str).to_numpy(dtype=object)),
            "to_site_obs": (obs, table["to_site"].astype(str).to_numpy(dtype=object)),
            "sigma": (obs, table["sigma"].to_numpy(float)),
        }
        groups = {
            "posterior": posterior,
            "log_likelihood": {"volume": (lead + obs, d["log_likelihood"])},
            "sample_stats": {"lp": (lead, self.lp)},
            "observed_data": {"volume": (obs, table["volume"].to_numpy(float))},
            "constant_data": constant,
        }
        return {name: PosteriorGroup(variables, coords) for name, variables in groups.items()}

    def _file_attrs(self) -> dict[str, Any]:
        return {
            "exsyfit_version": __version__,
            "temperature_model": self.temperature_model,
            "reference_temperature_K": float(self.problem.T_ref_K),
            "transport": self.problem.spec.transport,
            "seed": int(self.seed),
            "diagnostics": json.dumps(self.diagnostics),
        }

    def to_inference_data(self) -> Any:
        """The posterior as an ``arviz.InferenceData``."""
        import arviz as az
        import xarray as xr

        groups = {}
        for name, group in self.posterior_groups().items():
            used = {dim for dims, _ in group.variables.values() for dim in dims}
            groups[name] = xr.Dataset(
                {k: (dims, v) for k, (dims, v) in group.variables.items()},
                coords={k: v for k, v in group.coords.items() if k in used},
                attrs=self._file_attrs())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return az.InferenceData(**groups)

    def save(self, outdir: str | Path, stem: str = "") -> dict[str, Path]:
        """Write summary.json, the summary CSVs and posterior.nc into ``outdir``.

        Parameters
        ----------
        outdir : path
            Output folder (created if needed).
        stem : str
            Prefix for the file names (e.g. ``"free_"`` for a comparison fit).

        Returns
        -------
        dict
            File kind -> path written.
        """
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = {
            "summary_json": outdir / f"{stem}summary.json",
            "summary_csv": outdir / f"{stem}summary.csv",
            "summary_law_csv": outdir / f"{stem}summary_law.csv",
            "summary_rounded_csv": outdir / f"{stem}summary_rounded.csv",
            "posterior": outdir / f"{stem}posterior.nc",
        }
        write_text_atomic(paths["summary_json"],
                          json.dumps(self.summary_dict(), indent=2) + "\n")
        write_text_atomic(paths["summary_csv"], self.summary_table().to_csv(index=False))
        # with a byte-order mark, so that Excel reads the text (± and −) as UTF-8
        write_bytes_atomic(paths["summary_law_csv"],
                           self.law_table().to_csv(index=False).encode("utf-8-sig"))
        write_bytes_atomic(paths["summary_rounded_csv"],
                           rounded_table(self).to_csv(index=False).encode("utf-8-sig"))
        attrs = self._file_attrs()
        if self.fingerprint is not None:
            attrs[FINGERPRINT_ATTR] = self.fingerprint
        with atomic_path(paths["posterior"]) as tmp:
            write_posterior_file(tmp, self.posterior_groups(), attrs)
        return paths


def load_result(posterior_path: str | Path, problem: ExsyProblem,
                length_scale: Any = None) -> FitResult:
    """Rebuild a :class:`FitResult` from a posterior.nc and the problem it was fitted to.

    Raises
    ------
    exsyfit.errors.ExsyfitError
        When the file does not match the problem (different parameters).
    """
    import arviz as az

    fingerprint = read_fingerprint(posterior_path)  # also: missing, truncated or corrupt
    try:
        idata = az.from_netcdf(str(posterior_path))
        idata.posterior["parameter"]
        idata.posterior["theta"]
        idata.sample_stats["lp"]
    except Exception as exc:  # noqa: BLE001 - any failure to read is a damaged file
        raise ExsyfitError(
            f"{posterior_path}: cannot be read as an exsyfit posterior ({type(exc).__name__}: "
            f"{exc}); the file is truncated or corrupt: rerun the fit (with --force)") from exc
    names = [str(v) for v in idata.posterior["parameter"].values]
    if tuple(names) != problem.parameter_names:
        raise ExsyfitError(
            f"{posterior_path}: the posterior was sampled with parameters {names[:4]}...; "
            f"the current config gives {list(problem.parameter_names)[:4]}...; rerun the fit"
        )
    theta = np.asarray(idata.posterior["theta"].values)
    lp = np.asarray(idata.sample_stats["lp"].values)
    diagnostics = json.loads(idata.attrs.get("diagnostics", "{}"))
    seed = int(idata.attrs.get("seed", 1))
    result = FitResult(problem, theta, lp, diagnostics, seed=seed, length_scale=length_scale,
                       fingerprint=fingerprint)
    result.derived = result._compute_derived()
    return result
