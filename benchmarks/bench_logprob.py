"""Cost of the log-posterior and of the whole sampler against a per-walker scipy expm baseline.

Problem: two sites, 5 temperatures x 8 mixing times (160 volumes), Arrhenius model with
per-temperature T1 (the default model).  Both implementations compute the same number (checked
below): the baseline loops over walkers, temperatures and mixing times and calls
``scipy.linalg.expm`` for every mixing matrix, as a straightforward implementation would.

Measured side by side in one run:

* kernel: the vectorised log-posterior on 64 walkers at once, per walker (target >= 300 x
  below the baseline);
* end to end: everything :func:`exsyfit.fit.sampling.sample_posterior` does (start search,
  sampler, autocorrelation estimates, appending to the HDF5 checkpoint) with the default
  settings, run to convergence, divided by the parameter vectors it evaluated (target >= 100 x
  below the baseline).

Run:  python benchmarks/bench_logprob.py
"""

from __future__ import annotations

import os

# one BLAS thread for both implementations: on a busy machine idle BLAS threads spin and
# inflate the times of whichever side calls BLAS (here scipy's expm)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.linalg  # noqa: E402

from exsyfit.config import config_from_dict  # noqa: E402
from exsyfit.fit.likelihood import problem_from_config  # noqa: E402
from exsyfit.fit.options import SamplerConfig  # noqa: E402
from exsyfit.fit.sampling import find_start, initial_walkers, sample_posterior  # noqa: E402
from exsyfit.kinetics.exchange import (  # noqa: E402
    exchange_rate_matrix,
    mixing_matrix,
    predict_volumes,
)
from exsyfit.kinetics.laws import K_B_EV_PER_K, arrhenius_ln_k  # noqa: E402

TEMPERATURES = (263.0, 283.0, 303.0, 323.0, 343.0)
MIXING_TIMES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
N_WALKERS = 64


def volume_table(seed: int = 0, sigma: float = 0.002, temperatures=TEMPERATURES,
                 mixing_times=MIXING_TIMES, populations=(0.9, 0.1),
                 k_ex_303: float = 10.0) -> pd.DataFrame:
    """Two noisy sites (T1 = 0.5/3 s), Ea 0.30 eV, k_ex(303 K) = ``k_ex_303`` s^-1."""
    rng = np.random.default_rng(seed)
    p = np.asarray(populations, dtype=float)
    rows = []
    for T in temperatures:
        k_ex = k_ex_303 * np.exp(-0.3 / K_B_EV_PER_K * (1 / T - 1 / 303))
        K = exchange_rate_matrix([k_ex], p, [(0, 1)])
        V = predict_volumes(mixing_matrix(K, [2.0, 1 / 3], mixing_times), p)
        for m, tm in enumerate(mixing_times):
            for i, a in enumerate("AB"):
                for j, b in enumerate("AB"):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T, mixing_time_s=tm,
                                     from_site=b, to_site=a,
                                     volume=V[m, i, j] + sigma * rng.standard_normal(),
                                     sigma=sigma))
    return pd.DataFrame(rows)


def baseline_log_posterior(problem, theta: np.ndarray) -> float:
    """Straightforward per-walker version: expm for every (temperature, mixing time)."""
    names = problem.parameter_names
    if np.any(theta <= problem.lower) or np.any(theta >= problem.upper):
        return -np.inf
    ea = theta[names.index("Ea_eV[A<->B]")]
    ref = theta[names.index("ln_k_ex_ref[A<->B]")]
    p_a = theta[names.index("p[A]")]
    p = np.array([p_a, 1 - p_a])
    y, sigma = problem.y, problem.sigma
    total = 0.0
    for t, T in enumerate(problem.temperatures_K):
        k_ex = np.exp(arrhenius_ln_k(T, ea, ref, problem.T_ref_K))
        r1 = np.array([theta[names.index(f"R1_per_s[{s}]@{T:.1f}K")] for s in "AB"])
        k_ab, k_ba = k_ex * p[1], k_ex * p[0]
        L = np.array([[r1[0] + k_ab, -k_ba], [-k_ab, r1[1] + k_ba]])
        sel = np.flatnonzero(problem.t_index == t)
        model = np.empty(len(sel))
        for n, row in enumerate(sel):
            A = scipy.linalg.expm(-L * problem.mixing_time_s[row])
            j = problem.from_index[row]
            model[n] = A[problem.to_index[row], j] * p[j]
        w = 1 / sigma[sel] ** 2
        a, b = np.sum(model**2 * w), np.sum(model * y[sel] * w)
        total += 0.5 * b**2 / a - 0.5 * np.log(a)
    const = (-0.5 * np.sum(y**2 / sigma**2) - np.sum(np.log(sigma))
             - 0.5 * len(y) * np.log(2 * np.pi) + 0.5 * problem.n_temperatures * np.log(2 * np.pi))
    return total + const


def best_time(func, repeats: int) -> tuple[float, float]:
    """Shortest wall time and shortest CPU time (this process) of ``repeats`` calls, s."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> int:
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}}}
    problem = problem_from_config(volume_table(), config_from_dict(raw))
    rng = np.random.default_rng(1)
    start, cov = find_start(problem)
    thetas = initial_walkers(problem, start, cov, N_WALKERS, rng)  # walkers near the mode
    fast = problem(thetas)
    slow = np.array([baseline_log_posterior(problem, th) for th in thetas])
    assert np.allclose(fast, slow, rtol=1e-9, atol=1e-6), "implementations disagree"

    def baseline_call() -> None:
        for th in thetas:
            baseline_log_posterior(problem, th)

    # wall and CPU times: on a shared machine the CPU time of this process is the fairer
    # measure; both are printed, the targets are checked on CPU time
    f_wall, f_cpu = best_time(lambda: problem(thetas), 50)
    s_wall, s_cpu = best_time(baseline_call, 3)
    print(f"problem: {len(problem.y)} volumes, {problem.n_parameters} parameters, "
          f"{N_WALKERS} walkers")
    print(f"vectorised: {f_cpu / N_WALKERS * 1e6:10.2f} us CPU ({f_wall / N_WALKERS * 1e6:.2f} "
          "us wall) per walker")
    print(f"scipy expm: {s_cpu / N_WALKERS * 1e6:10.2f} us CPU ({s_wall / N_WALKERS * 1e6:.2f} "
          "us wall) per walker")
    print(f"kernel speed-up:     {s_cpu / f_cpu:8.1f} x CPU, {s_wall / f_wall:.1f} x wall "
          "(target >= 300 x)")
    finite = np.isfinite(fast)
    print(f"max |difference| of the log-posteriors: "
          f"{np.max(np.abs(fast[finite] - slow[finite])):.2e} ({finite.sum()} finite of "
          f"{N_WALKERS})")
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        out = sample_posterior(problem, SamplerConfig(seed=1),
                               checkpoint=Path(tmp) / "checkpoint.h5")
        cpu = time.process_time() - cpu
    n = out.n_log_prob_evaluations
    s_wall2, s_cpu2 = best_time(baseline_call, 3)
    base_cpu = min(s_cpu, s_cpu2) / N_WALKERS
    base_wall = min(s_wall, s_wall2) / N_WALKERS
    print(f"end to end: {out.chain.shape[0]} steps x {out.chain.shape[1]} walkers "
          f"(converged: {out.converged}), {n} parameter vectors in {cpu:.2f} s CPU "
          f"({out.sampling_seconds:.2f} s wall) = {cpu / n * 1e6:.2f} us CPU "
          f"({out.sampling_seconds / n * 1e6:.2f} us wall) per vector")
    e2e_cpu = base_cpu / (cpu / n)
    print(f"end-to-end speed-up: {e2e_cpu:8.1f} x CPU, "
          f"{base_wall / (out.sampling_seconds / n):.1f} x wall (target >= 100 x)")
    return 0 if s_cpu / f_cpu >= 300 and e2e_cpu >= 100 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
