"""Start point, emcee sampling, convergence by autocorrelation time, checkpoints.

Sampling runs in chunks.  After each chunk the integrated autocorrelation time tau of every
parameter is estimated (emcee's estimator); the run stops when the chain is longer than
``tau_multiple`` x the largest tau and tau changed by less than 5 % since the last chunk, or when
``max_steps`` is reached (then ``converged`` is false and a warning is emitted).  With
``steps`` set, exactly that many steps are run.

The chain is checkpointed to an ``.npz`` file (written atomically) after every chunk, so an
interrupted run resumes from the last checkpoint without losing the steps already taken.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import emcee
import numpy as np
from scipy.optimize import least_squares

from exsyfit.errors import FitError
from exsyfit.fit.likelihood import ExsyProblem
from exsyfit.fit.options import SamplerConfig

log = logging.getLogger("exsyfit")


class ConvergenceWarning(UserWarning):
    """The chain is shorter than the requested number of autocorrelation times."""


#: How to sample: seed, walkers, steps, max_steps, tau_multiple, checkpoint_every (the
#: ``[sampler]`` table of the config).
SamplerSettings = SamplerConfig


@dataclass
class SamplingOutput:
    """Raw output of :func:`sample_posterior`.

    Attributes
    ----------
    chain : numpy.ndarray, shape (n_steps, n_walkers, n_parameters)
        Every step, including burn-in.
    log_prob : numpy.ndarray, shape (n_steps, n_walkers)
    burn_in : int
        Steps to discard (2 x tau_max, at least 10 % of the chain).
    tau : numpy.ndarray, shape (n_parameters,)
        Integrated autocorrelation time of each parameter, steps.
    converged : bool
    acceptance_fraction : float
        Mean over walkers.
    sampling_seconds : float
        Wall time of the sampling (all sessions, when resumed).
    n_log_prob_evaluations : int
        Parameter vectors evaluated, including the start-up search.
    map_theta : numpy.ndarray
        Least-squares / maximum a posteriori start point.
    resumed_from_step : int
        Steps taken from a checkpoint (0 for a fresh run).
    """

    chain: np.ndarray
    log_prob: np.ndarray
    burn_in: int
    tau: np.ndarray
    converged: bool
    acceptance_fraction: float
    sampling_seconds: float
    n_log_prob_evaluations: int
    map_theta: np.ndarray
    resumed_from_step: int = 0

    def flat_samples(self) -> np.ndarray:
        """Post-burn-in samples, shape (n_draws, n_parameters), chain-major."""
        post = self.chain[self.burn_in:]
        return np.swapaxes(post, 0, 1).reshape(-1, post.shape[-1])


class _CountingLogProb:
    """Wraps the problem to count evaluated parameter vectors."""

    def __init__(self, problem: ExsyProblem) -> None:
        self.problem = problem
        self.count = 0

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        self.count += theta.shape[0]
        return self.problem(theta)


def _prior_residuals(problem: ExsyProblem, theta: np.ndarray) -> np.ndarray:
    """Residual-like terms so least squares respects informative priors."""
    lp = problem.log_prior(theta[None])[0]
    return np.array([np.sqrt(max(-2.0 * lp, 0.0))]) if np.isfinite(lp) else np.array([1e6])


def find_start(problem: ExsyProblem, counter: _CountingLogProb | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Maximum a posteriori estimate by bounded least squares from several starts.

    Returns
    -------
    theta : numpy.ndarray
        Best parameter vector.
    covariance : numpy.ndarray
        Gauss-Newton covariance at the optimum (regularised), for the walker start ball.
    """
    lo, hi = problem.lower, problem.upper
    span = hi - lo
    lo_in, hi_in = lo + 1e-6 * span, hi - 1e-6 * span

    def fun(theta: np.ndarray) -> np.ndarray:
        if counter is not None:
            counter.count += 1
        with np.errstate(all="ignore"):
            r = problem.residuals(theta)
            r = np.concatenate([r, _prior_residuals(problem, theta)])
        return np.where(np.isfinite(r), r, 1e6)

    k_lo, k_hi = np.log(problem.spec.priors.k_ex_per_s)
    ln_k_grid = np.linspace(max(k_lo, np.log(0.01)), min(k_hi, np.log(1e3)), 5)
    best = None
    for ln_k in ln_k_grid:  # several starting rates: the fit is not convex in ln k
        x0 = problem.initial_guess(ln_k_ex=float(ln_k), Ea_eV=0.3)
        if not problem.in_support(x0[None])[0]:
            continue
        try:
            fit = least_squares(fun, x0, bounds=(lo_in, hi_in), x_scale="jac",
                                max_nfev=200 * problem.n_parameters)
        except ValueError:
            continue
        if best is None or fit.cost < best.cost:
            best = fit
    if best is None:
        theta = problem.initial_guess()
        return theta, np.diag((1e-3 * span) ** 2)
    theta = best.x
    J = best.jac
    try:
        cov = np.linalg.pinv(J.T @ J, rcond=1e-12)
    except np.linalg.LinAlgError:
        cov = np.diag((1e-3 * span) ** 2)
    # keep the ball inside a sane size
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    cap = 0.05 * span
    scale = np.minimum(1.0, cap / np.where(sd > 0, sd, 1.0))
    cov = cov * np.outer(scale, scale) + np.diag((1e-8 * span) ** 2)
    return theta, cov


def initial_walkers(problem: ExsyProblem, theta: np.ndarray, cov: np.ndarray, n_walkers: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Walkers drawn from N(theta, cov), redrawn until inside the support (finite density)."""
    out = np.empty((n_walkers, len(theta)))
    filled = 0
    shrink = 1.0
    for _ in range(200):
        draws = rng.multivariate_normal(theta, cov * shrink, size=2 * n_walkers,
                                        method="eigh")
        lp = problem(draws)
        good = draws[np.isfinite(lp)]
        take = min(len(good), n_walkers - filled)
        out[filled:filled + take] = good[:take]
        filled += take
        if filled == n_walkers:
            return out
        shrink *= 0.5
    span = problem.upper - problem.lower
    out[filled:] = theta + 1e-6 * span * rng.standard_normal((n_walkers - filled, len(theta)))
    return out


def default_walkers(n_parameters: int) -> int:
    """3 x the number of parameters, at least 32, rounded up to even."""
    n = max(32, 3 * n_parameters)
    return n + (n % 2)


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _tau(chain: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return emcee.autocorr.integrated_time(chain, tol=0, quiet=True)


def sample_posterior(
    problem: ExsyProblem,
    settings: SamplerSettings | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SamplingOutput:
    """Sample the posterior of ``problem`` with emcee.

    Parameters
    ----------
    problem : ExsyProblem
        The log-posterior (vectorised over walkers).
    settings : SamplerSettings, optional
        Seed, walkers, steps and convergence criterion.
    checkpoint : path, optional
        ``.npz`` file to write the chain to after every chunk.
    resume : bool
        Continue the chain found in ``checkpoint`` instead of starting afresh.
    progress : callable(done_steps, target_steps), optional
        Called after every chunk.

    Returns
    -------
    SamplingOutput
    """
    settings = settings or SamplerSettings()
    rng = np.random.default_rng(settings.seed)
    counter = _CountingLogProb(problem)
    n_dim = problem.n_parameters
    n_walkers = settings.walkers or default_walkers(n_dim)
    checkpoint = Path(checkpoint) if checkpoint is not None else None

    prev_chain = np.empty((0, n_walkers, n_dim))
    prev_lp = np.empty((0, n_walkers))
    prev_seconds, prev_evals, accepted_prev = 0.0, 0, np.zeros(n_walkers)
    if resume and checkpoint is not None and checkpoint.exists():
        saved = np.load(checkpoint)
        prev_chain, prev_lp = saved["chain"], saved["log_prob"]
        if prev_chain.shape[1:] != (n_walkers, n_dim):
            raise FitError(
                f"{checkpoint}: checkpoint has {prev_chain.shape[1]} walkers x "
                f"{prev_chain.shape[2]} parameters; the current config needs {n_walkers} x "
                f"{n_dim}: the model changed since the interrupted run, so start afresh "
                "(without --resume, with --force)"
            )
        map_theta = saved["map_theta"]
        prev_seconds = float(saved["sampling_seconds"])
        prev_evals = int(saved["n_log_prob_evaluations"])
        accepted_prev = saved["accepted"]
        rng = np.random.default_rng([settings.seed, len(prev_chain)])
        start = prev_chain[-1]
        log.info("resuming from %s: %d steps already taken", checkpoint, len(prev_chain))
    else:
        map_theta, cov = find_start(problem, counter)
        start = initial_walkers(problem, map_theta, cov, n_walkers, rng)

    # differential-evolution proposals: 50 tau in about a quarter of the steps of emcee's
    # default stretch move on the global two-site problem (benchmarks/bench_run.py)
    moves = [(emcee.moves.DEMove(), 1.0)]
    sampler = emcee.EnsembleSampler(n_walkers, n_dim, counter, vectorize=True, moves=moves)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    state: emcee.State | np.ndarray = start

    chunk = max(50, int(settings.checkpoint_every))
    target = settings.steps if settings.steps is not None else settings.max_steps
    done = len(prev_chain)
    tau_old = None
    converged = False
    t0 = time.perf_counter()
    chain_parts = [prev_chain]
    lp_parts = [prev_lp]
    accepted = accepted_prev.astype(float)
    while done < target:
        n = min(chunk, target - done)
        sampler.reset()
        state = sampler.run_mcmc(state, n, progress=False)
        chain_parts.append(sampler.get_chain())
        lp_parts.append(sampler.get_log_prob())
        accepted = accepted + sampler.acceptance_fraction * n
        done += n
        seconds = prev_seconds + time.perf_counter() - t0
        if checkpoint is not None:
            _atomic_savez(
                checkpoint, chain=np.concatenate(chain_parts), log_prob=np.concatenate(lp_parts),
                map_theta=map_theta, sampling_seconds=seconds,
                n_log_prob_evaluations=prev_evals + counter.count, accepted=accepted,
            )
        if progress is not None:
            progress(done, target)
        if settings.steps is None:
            chain = np.concatenate(chain_parts)
            tau = _tau(chain[len(chain) // 5:])
            tau_max = float(np.max(tau))
            stable = tau_old is not None and np.all(np.abs(tau - tau_old) < 0.05 * tau)
            tau_old = tau
            if done > settings.tau_multiple * tau_max and stable:
                converged = True
                break
    chain = np.concatenate(chain_parts)
    log_prob = np.concatenate(lp_parts)
    tau = _tau(chain[len(chain) // 5:])
    tau_max = float(np.max(tau))
    if settings.steps is not None:
        converged = len(chain) > settings.tau_multiple * tau_max
    if not converged:
        warnings.warn(
            f"the chain ({len(chain)} steps) is shorter than {settings.tau_multiple:g} "
            f"autocorrelation times (tau_max = {tau_max:.0f} steps): the posterior may not "
            "have converged; increase sampler.max_steps or sampler.steps",
            ConvergenceWarning, stacklevel=2,
        )
    burn = int(min(max(2 * tau_max, 0.1 * len(chain)), 0.5 * len(chain)))
    return SamplingOutput(
        chain=chain, log_prob=log_prob, burn_in=burn, tau=tau, converged=converged,
        acceptance_fraction=float(np.mean(accepted / max(len(chain), 1))),
        sampling_seconds=prev_seconds + time.perf_counter() - t0,
        n_log_prob_evaluations=prev_evals + counter.count, map_theta=map_theta,
        resumed_from_step=len(prev_chain),
    )
