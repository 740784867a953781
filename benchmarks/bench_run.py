"""Wall time of ``exsyfit fit`` / ``exsyfit run`` on a 5-temperature x 8-mixing-time volume table.

The baseline in the same run is the sampling alone with emcee's default stretch move (the
straightforward choice), against exsyfit's differential-evolution moves: both are run to the
same convergence criterion (chain longer than 50 autocorrelation times).

Run:  python benchmarks/bench_run.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import emcee
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_logprob import volume_table  # noqa: E402

from exsyfit.config import config_from_dict  # noqa: E402
from exsyfit.fit.likelihood import problem_from_config  # noqa: E402
from exsyfit.fit.sampling import find_start, initial_walkers  # noqa: E402

CONFIG = """\
[data]
volumes = "volumes.csv"
[sites.A]
ppm = 1.0
[sites.B]
ppm = 2.0
[model]
temperature_model = "arrhenius"
[sampler]
seed = 1
[report]
compare_models = {compare}
"""


def steps_to_converge(problem, moves, n_walkers: int = 40, chunk: int = 500,
                      limit: int = 40000) -> tuple[int, float]:
    """Run emcee until 50 tau; return (steps, seconds)."""
    rng = np.random.default_rng(1)
    start, cov = find_start(problem)
    p0 = initial_walkers(problem, start, cov, n_walkers, rng)
    sampler = emcee.EnsembleSampler(n_walkers, problem.n_parameters, problem,
                                    vectorize=True, moves=moves)
    t0 = time.perf_counter()
    state = p0
    while sampler.iteration < limit:
        state = sampler.run_mcmc(state, chunk)
        chain = sampler.get_chain()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = emcee.autocorr.integrated_time(chain[len(chain) // 5:], tol=0, quiet=True)
        if sampler.iteration > 50 * np.max(tau):
            break
    return sampler.iteration, time.perf_counter() - t0


def main() -> int:
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}}}
    problem = problem_from_config(volume_table(), config_from_dict(raw))
    for name, moves in (("stretch (emcee default)", None),
                        ("differential evolution", [(emcee.moves.DEMove(), 1.0)])):
        steps, seconds = steps_to_converge(problem, moves)
        print(f"{name:26s}: {steps:6d} steps to 50 tau, {seconds:6.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        volume_table().to_csv(folder / "volumes.csv", index=False)
        for command, compare in (("fit", "false"), ("run", "true")):
            (folder / "config.toml").write_text(CONFIG.format(compare=compare))
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "exsyfit", command,
                                   str(folder / "config.toml"), "--force", "-q"],
                                  capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stderr)
                return 1
            d = json.loads((folder / "results" / "summary.json").read_text())["diagnostics"]
            extra = " (+ free-model fit, figures, report)" if command == "run" else ""
            print(f"exsyfit {command:3s}: {elapsed:6.1f} s wall{extra}; sampling "
                  f"{d['sampling_seconds']:.1f} s, {d['n_steps']} steps x {d['n_walkers']} "
                  f"walkers, tau_max {d['tau_max']:.0f}, converged: {d['converged']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
