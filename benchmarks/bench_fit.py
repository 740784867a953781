"""Wall time of one fit of a 6-temperature x 9-mixing-time volume table, stage by stage.

Stages: imports, problem build, start search (least squares), sampling (the ensemble sampler
alone, tau excluded), tau (autocorrelation estimates during and after sampling), posterior
summaries, and writing summary.json/summary.csv/posterior.nc.  The fit is the default model
(two sites, Arrhenius, T1 per temperature), run to convergence with the default sampler
settings, in this process, with no model variants.

Run:  python benchmarks/bench_fit.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from exsyfit.config import config_from_dict  # noqa: E402
from exsyfit.fit import sampling  # noqa: E402
from exsyfit.fit.likelihood import problem_from_config  # noqa: E402
from exsyfit.fit.results import FitResult  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T0
TEMPERATURES = (253.0, 273.0, 293.0, 313.0, 333.0, 353.0)
MIXING_TIMES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


def volume_table() -> pd.DataFrame:
    """Two sites (p = 0.88/0.12, T1 = 0.5/3 s), Ea 0.30 eV, k_ex(303 K) = 5 s^-1."""
    # imported here, after the import stage is timed (bench_logprob also imports scipy.linalg)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_logprob import volume_table as two_site_table

    return two_site_table(seed=3, temperatures=TEMPERATURES, mixing_times=MIXING_TIMES,
                          populations=(0.88, 0.12), k_ex_303=5.0)


class _Timed:
    """Wraps a function and sums its wall time."""

    def __init__(self, func):
        self.func, self.seconds, self.calls = func, 0.0, 0

    def __call__(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.func(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1


def main() -> int:
    table = volume_table()
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "sampler": {"seed": 1}}
    config = config_from_dict(raw)
    t = time.perf_counter()
    problem = problem_from_config(table, config)
    t_build = time.perf_counter() - t
    start = sampling.find_start = _Timed(sampling.find_start)
    tau = sampling.estimate_tau = _Timed(sampling.estimate_tau)
    t = time.perf_counter()
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        out = sampling.sample_posterior(problem, config.sampler,
                                        checkpoint=Path(tmp) / "checkpoint.h5")
        t_sample = time.perf_counter() - t
        cpu_sample = time.process_time() - cpu
        t = time.perf_counter()
        result = FitResult.from_sampling(problem, out, seed=1)
        summary = result.summary_dict()
        t_summary = time.perf_counter() - t
        t = time.perf_counter()
        result.save(tmp)
        t_write = time.perf_counter() - t
    sampler_only = t_sample - start.seconds - tau.seconds
    total = IMPORT_SECONDS + t_build + t_sample + t_summary + t_write
    n_eval = out.n_log_prob_evaluations
    print(f"problem: {len(problem.y)} volumes ({len(TEMPERATURES)} T x {len(MIXING_TIMES)} t_m), "
          f"{problem.n_parameters} parameters, {out.chain.shape[1]} walkers")
    print(f"converged: {out.converged} after {out.chain.shape[0]} steps "
          f"(tau_max {np.max(out.tau):.0f}); Ea = {summary['Ea_eV']['median']:.3f} eV "
          f"[{summary['Ea_eV']['q025']:.3f}, {summary['Ea_eV']['q975']:.3f}] (true 0.300); "
          f"chi2_reduced {summary['diagnostics'].get('chi2_reduced', float('nan')):.2f}")
    rows = [("imports", IMPORT_SECONDS), ("problem build", t_build),
            ("start search", start.seconds), ("sampling (sampler + log-posterior + checkpoint)",
                                              sampler_only),
            (f"tau ({tau.calls} estimates)", tau.seconds),
            ("summaries (derived quantities, goodness of fit)", t_summary),
            ("writing summary.json/csv + posterior.nc", t_write)]
    for name, sec in rows:
        print(f"  {name:50s} {sec:7.2f} s")
    print(f"  {'total':50s} {total:7.2f} s")
    print(f"end to end: {n_eval} parameter vectors evaluated, "
          f"{(t_sample) / n_eval * 1e6:.2f} us wall ({cpu_sample / n_eval * 1e6:.2f} us CPU) "
          "per vector including start search and tau")
    print(f"whole process: {time.process_time():.2f} s CPU (the machine's load inflates wall "
          "times, not CPU times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
