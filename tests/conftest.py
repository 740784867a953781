"""Shared fixtures: synthetic volume tables with a known truth (reference set c8), and the
check of the fuzz tests."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exsyfit.errors import ExsyfitError
from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes
from exsyfit.kinetics.laws import K_B_EV_PER_K

C8_TEMPERATURES_K = (263.0, 283.0, 303.0, 323.0, 343.0)
C8_MIXING_TIMES_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
C8_EA_EV = 0.30
C8_PREFACTOR_K_AB = 9.769659e4  # k_AB(303 K) = 1 s^-1
C8_P_A = 0.9
C8_T1_S = (0.5, 3.0)

SHARED_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def only_exsyfit_errors(call: Callable[[], object]) -> None:
    """Run ``call``; an ExsyfitError is an acceptable outcome, any other exception fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except ExsyfitError:
            pass


def c8_k_ex(temperature_K: float) -> float:
    """True k_ex = k_AB / p_B of the c8 data set, s^-1."""
    k_ab = C8_PREFACTOR_K_AB * np.exp(-C8_EA_EV / (K_B_EV_PER_K * temperature_K))
    return k_ab / (1.0 - C8_P_A)


def c8_volume_table(
    sigma: float = 0.002,
    seed: int = 0,
    temperatures_K=C8_TEMPERATURES_K,
    mixing_times_s=C8_MIXING_TIMES_S,
    scale: float = 1.0,
    k_sd: float = 0.0,
) -> pd.DataFrame:
    """Volumes of the c8 global data set, with Gaussian noise of ``sigma`` on each volume.

    ``k_sd`` (s^-1) adds a temperature-independent (spin-diffusion-like) rate to k_ex.
    """
    rng = np.random.default_rng(seed)
    rows = []
    populations = np.array([C8_P_A, 1.0 - C8_P_A])
    r1 = 1.0 / np.array(C8_T1_S)
    for T in temperatures_K:
        K = exchange_rate_matrix([c8_k_ex(T) + k_sd], populations, [(0, 1)])
        V = scale * predict_volumes(mixing_matrix(K, r1, mixing_times_s), populations)
        for m, tm in enumerate(mixing_times_s):
            for i, to_site in enumerate("AB"):
                for j, from_site in enumerate("AB"):
                    noise = sigma * rng.standard_normal() if sigma > 0 else 0.0
                    rows.append({
                        "experiment": f"T{T:g}_tm{tm:g}",
                        "temperature_K": T,
                        "mixing_time_s": tm,
                        "from_site": from_site,
                        "to_site": to_site,
                        "volume": V[m, i, j] + noise,
                        "sigma": sigma if sigma > 0 else 1e-3,
                    })
    return pd.DataFrame(rows)


@pytest.fixture
def c8_table() -> pd.DataFrame:
    return c8_volume_table()


@pytest.fixture
def two_site_config_dict() -> dict:
    return {
        "data": {"volumes": "volumes.csv"},
        "sites": {"A": {"ppm": 1.3}, "B": {"ppm": 2.3}},
        "model": {"temperature_model": "arrhenius"},
        "sampler": {"seed": 1},
    }


def quick_fit(table: pd.DataFrame, model: str, steps: int = 1500, **extra):
    """A short fixed-length fit of two sites A, B (for tests of figures, reports, comparison).

    ``steps`` fixed (the chain may be shorter than 50 autocorrelation times: the
    convergence warning is silenced here); ``extra`` goes into the ``[model]`` table.
    """
    import warnings

    from exsyfit import config
    from exsyfit.fit import likelihood, results
    from exsyfit.fit import sampling as inference

    cfg = config.config_from_dict({"data": {"volumes": "x.csv"},
                                   "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
                                   "model": {"temperature_model": model, **extra}})
    problem = likelihood.problem_from_config(table, cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = inference.sample_posterior(problem, inference.SamplerSettings(seed=1, steps=steps))
    return results.FitResult.from_sampling(problem, out)
