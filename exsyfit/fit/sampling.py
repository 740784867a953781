"""Start point, ensemble MCMC, convergence by autocorrelation time, checkpoints.

The start is the maximum a posteriori point found by bounded least squares (Jacobian by
finite differences evaluated as one batch of parameter vectors).  Sampling uses emcee's
ensemble sampler with differential-evolution moves (:class:`EnsembleChunks`), which evaluates
the vectorised log-posterior on half the ensemble at a time.

Sampling runs in chunks.  After each chunk the integrated autocorrelation time tau of every
parameter is estimated (emcee's estimator, on the chain thinned to a bounded length); the run
stops when the chain is longer than ``tau_multiple`` x the largest tau and tau changed by less
than 5 % since the last chunk, or when ``max_steps`` is reached (then ``converged`` is false,
the reason is given in plain words and a :class:`ConvergenceWarning` is emitted).  With
``steps`` set, exactly that many steps are run.  A chain that never moves or whose tau cannot
be estimated ends as not converged with its reason, never with an exception.

Every chunk is appended to an HDF5 checkpoint (:mod:`exsyfit.fit.checkpoint`), so an
interrupted run resumes from the last chunk, at a cost linear in the steps.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
    convergence_reason : str
        Why the chain is (or is not) considered converged, in plain words.
    fingerprint : str or None
        The fingerprint of the inputs and configuration given to :func:`sample_posterior`.
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
    convergence_reason: str = ""
    fingerprint: str | None = None

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


def batch_residuals(problem: ExsyProblem, thetas: np.ndarray) -> np.ndarray:
    """Normalised residuals of many parameter vectors at once, shape (W, n_obs + 1).

    ``(y - model)/sigma`` of every volume (scale at its conditional optimum), plus one term
    ``sqrt(-2 log prior)`` so least squares respects informative priors.  Non-finite values
    become 1e6.
    """
    thetas = np.atleast_2d(thetas)
    with np.errstate(all="ignore"):
        r = (problem.y - problem.predict(thetas)) / problem.sigma
        lp = problem.log_prior(thetas)
        prior = np.where(np.isfinite(lp), np.sqrt(np.clip(-2.0 * lp, 0.0, None)), 1e6)
        r = np.concatenate([r, prior[:, None]], axis=1)
    return np.where(np.isfinite(r), r, 1e6)


def find_start(problem: ExsyProblem, counter: _CountingLogProb | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Maximum a posteriori estimate by bounded least squares from several starts.

    The Jacobian is taken by forward differences, all columns evaluated as one batch of
    parameter vectors, so the search costs about as many vectorised calls as iterations
    (seconds even for a dozen sites).

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
    n_dim = problem.n_parameters

    def count(n: int) -> None:
        if counter is not None:
            counter.count += n

    def fun(theta: np.ndarray) -> np.ndarray:
        count(1)
        return batch_residuals(problem, theta[None])[0]

    def jac(theta: np.ndarray) -> np.ndarray:
        h = 1e-7 * np.maximum(np.abs(theta), 1e-2 * span)
        h = np.where(theta + h > hi_in, -h, h)  # step away from the upper bound
        batch = np.vstack([theta[None], theta[None] + np.diag(h)])
        count(len(batch))
        r = batch_residuals(problem, batch)
        return ((r[1:] - r[0]) / h[:, None]).T

    k_lo, k_hi = np.log(problem.spec.priors.k_ex_per_s)
    # large problems (many sites): fewer starts and a bounded number of iterations; the
    # start only has to be near the mode, the sampler's burn-in does the rest
    large = n_dim > 60
    n_starts = 2 if large else 5
    ln_k_grid = np.linspace(max(k_lo, np.log(0.01)), min(k_hi, np.log(1e3)), n_starts)
    best = None
    for ln_k in ln_k_grid:  # several starting rates: the fit is not convex in ln k
        x0 = problem.initial_guess(ln_k_ex=float(ln_k), Ea_eV=0.3)
        if not problem.in_support(x0[None])[0]:
            continue
        try:
            fit = least_squares(fun, x0, jac=jac, bounds=(lo_in, hi_in), x_scale="jac",
                                max_nfev=40 if large else max(100, 20 * n_dim),
                                ftol=1e-6 if large else 1e-8,
                                tr_solver="lsmr" if large else "exact")
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or fit.cost < best.cost:
            best = fit
    if best is None or not np.all(np.isfinite(best.x)):
        theta = problem.initial_guess()
        return theta, np.diag((1e-3 * span) ** 2)
    theta = best.x
    J = best.jac
    try:
        cov = np.linalg.pinv(J.T @ J, rcond=1e-12)
    except (np.linalg.LinAlgError, ValueError):
        cov = np.diag((1e-3 * span) ** 2)
    if not np.all(np.isfinite(cov)):
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


#: Upper bound of the memory a chain may take (the whole chain is kept), bytes.
MAX_CHAIN_BYTES = 4 * 2**30
#: Steps between convergence checks (and checkpoint appends) at most.
CHECK_EVERY = 250
#: The autocorrelation time is estimated on at most this many (thinned) steps.
TAU_MAX_ROWS = 500


def _check_size(n_walkers: int, n_dim: int, target: int) -> None:
    if n_walkers < 4:
        raise FitError(f"sampler.walkers = {n_walkers}: expected at least 4 walkers "
                       f"(default {default_walkers(n_dim)})")
    need = 8.0 * n_walkers * (n_dim + 1) * target
    if need > MAX_CHAIN_BYTES:
        raise FitError(
            f"sampler.walkers = {n_walkers} with {n_dim} parameters and {target} steps needs "
            f"about {need / 2**30:.3g} GiB for the chain; expected at most "
            f"{MAX_CHAIN_BYTES / 2**30:.0f} GiB: use fewer walkers (default "
            f"{default_walkers(n_dim)}) or fewer steps (sampler.steps / sampler.max_steps)")


def _integrated_time(x: np.ndarray, c: float = 5.0) -> np.ndarray:
    """emcee's integrated autocorrelation time of every column of x (n, W, d), vectorised:
    the normalised autocorrelation function of every walker by FFT, averaged over walkers,
    summed with Sokal's automatic window (smallest M with M >= c tau(M))."""
    n = x.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = x - x.mean(axis=0, keepdims=True)
    f = np.fft.rfft(xc, n=size, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        acf = acf / acf[0:1]
        rho = acf.mean(axis=1)  # (n, d)
        taus = 2.0 * np.cumsum(rho, axis=0) - 1.0
    window = np.arange(n)[:, None] >= c * taus
    first = np.where(window.any(axis=0), np.argmax(window, axis=0), n - 1)
    return taus[first, np.arange(x.shape[2])]


def estimate_tau(chain: np.ndarray) -> np.ndarray:
    """Integrated autocorrelation time of every parameter, steps (emcee's estimator).

    Estimated on the chain thinned to at most :data:`TAU_MAX_ROWS` steps (then multiplied by
    the thinning), so the cost stays bounded however long the chain grows.  A parameter whose
    chain never moves gives ``inf``.

    Parameters
    ----------
    chain : numpy.ndarray, shape (n_steps, n_walkers, n_parameters)

    Returns
    -------
    numpy.ndarray, shape (n_parameters,)
    """
    thin = max(1, int(np.ceil(len(chain) / TAU_MAX_ROWS)))
    x = chain[::thin]
    if len(x) < 2:
        return np.full(chain.shape[-1], np.inf)
    tau = _integrated_time(x) * thin
    tau = np.where(np.isfinite(tau), tau, np.inf)
    tau[np.ptp(x, axis=(0, 1)) == 0] = np.inf
    return np.maximum(tau, 1.0)


def _not_converged_reason(problem: ExsyProblem, chain: np.ndarray, tau: np.ndarray,
                          acceptance: float, tau_multiple: float) -> str:
    names = problem.parameter_names
    n = len(chain)
    if acceptance == 0.0 or np.all(np.ptp(chain[n // 2:], axis=(0, 1)) == 0):
        return ("the chain never moved (no proposal was accepted): the posterior is "
                "degenerate or its density is not finite near the start; check the volumes "
                "and sigmas of the table and the priors")
    bad = [names[k] for k in np.flatnonzero(~np.isfinite(tau))]
    if bad:
        return (f"the autocorrelation time of {', '.join(bad[:3])} could not be estimated "
                "(its chain did not move): the data do not constrain it, or the posterior "
                "is degenerate")
    k = int(np.argmax(tau))
    flat = ""
    if tau[k] > n / 10:
        flat = (f"; {names[k]} wanders over a wide range (a flat posterior: the data hardly "
                "constrain it)")
    return (f"the chain ({n} steps) is shorter than {tau_multiple:g} autocorrelation times "
            f"(tau_max = {tau[k]:.0f} steps, parameter {names[k]}){flat}; increase "
            "sampler.max_steps or sampler.steps")


class EnsembleChunks:
    """emcee's ensemble sampler with differential-evolution moves, advanced chunk by chunk.

    :class:`emcee.EnsembleSampler` with ``vectorize=True`` evaluates the log-posterior once
    per half-ensemble on all its walkers at once; :class:`emcee.moves.DEMove` proposes
    ``x + gamma (x_a - x_b)`` from two walkers of the other half (ter Braak, Stat. Comput. 16
    (2006) 239; Nelson et al., ApJS 210 (2014) 11).  The chain is not stored by emcee: each
    chunk is handed back, so the caller keeps one buffer and appends to the checkpoint.
    DE moves reach 50 tau in a quarter of the steps emcee's default stretch move needs on this
    problem (``benchmarks/bench_run.py``).

    Parameters
    ----------
    log_prob : callable
        Vectorised log-posterior, (W, d) -> (W,); NaN is treated as -inf.
    n_walkers, n_dim : int
    seed : int or sequence of int
        Seed of the sampler's random state (reproducible chains).
    """

    def __init__(self, log_prob: Callable[[np.ndarray], np.ndarray], n_walkers: int,
                 n_dim: int, seed: int | list[int]) -> None:
        import emcee

        def finite_log_prob(thetas: np.ndarray) -> np.ndarray:
            out = np.asarray(log_prob(thetas), dtype=float)
            return np.where(np.isnan(out), -np.inf, out)

        self._emcee = emcee
        self.sampler = emcee.EnsembleSampler(n_walkers, n_dim, finite_log_prob,
                                             vectorize=True, moves=emcee.moves.DEMove())
        self.sampler.random_state = np.random.RandomState(seed).get_state()

    def run(self, x: np.ndarray, lp: np.ndarray, n_steps: int,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance ``n_steps``.

        Returns
        -------
        chain : (n_steps, W, d); log_prob : (n_steps, W); accepted : (W,) moves accepted;
        x, lp : the final state.
        """
        W, d = x.shape
        chain = np.empty((n_steps, W, d))
        lps = np.empty((n_steps, W))
        accepted = np.zeros(W)
        previous = x.copy()
        start = self._emcee.State(x.copy(), log_prob=lp.copy())
        steps = self.sampler.sample(start, iterations=n_steps, store=False,
                                    skip_initial_state_check=True)
        # -inf - (-inf) in the acceptance test of walkers outside the prior is a rejection
        with np.errstate(invalid="ignore"):
            for step, state in enumerate(steps):
                chain[step] = state.coords  # a copy: emcee updates its state in place
                lps[step] = state.log_prob
                accepted += np.any(chain[step] != previous, axis=1)
                previous = chain[step]
        return chain, lps, accepted, chain[-1].copy(), lps[-1].copy()


def sample_posterior(
    problem: ExsyProblem,
    settings: SamplerSettings | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    fingerprint: str | None = None,
) -> SamplingOutput:
    """Sample the posterior of ``problem`` (differential-evolution ensemble MCMC).

    Parameters
    ----------
    problem : ExsyProblem
        The log-posterior (vectorised over walkers).
    settings : SamplerSettings, optional
        Seed, walkers, steps and convergence criterion.
    checkpoint : path, optional
        HDF5 file the chain is appended to after every chunk of ``checkpoint_every`` steps
        (or :data:`CHECK_EVERY`, whichever is smaller) (:class:`exsyfit.fit.checkpoint.Checkpoint`).
    resume : bool
        Continue the chain found in ``checkpoint`` instead of starting afresh.
    progress : callable(done_steps, target_steps), optional
        Called after every chunk.
    fingerprint : str, optional
        Checksum of the inputs and the configuration; stored in the checkpoint, and on
        ``resume`` compared with the stored one.

    Returns
    -------
    SamplingOutput

    Raises
    ------
    exsyfit.errors.FitError
        For impossible sampler settings, or a checkpoint written for another model or (by
        fingerprint) other inputs.
    exsyfit.errors.ExsyfitError
        For a truncated or corrupt checkpoint.
    """
    from exsyfit.fit.checkpoint import Checkpoint

    settings = settings or SamplerSettings()
    for key in ("steps", "max_steps"):
        value = getattr(settings, key)
        if value is not None and value < 2:
            raise FitError(f"sampler.{key} = {value}: expected at least 2 steps")
    rng = np.random.default_rng(settings.seed)
    counter = _CountingLogProb(problem)
    n_dim = problem.n_parameters
    n_walkers = settings.walkers or default_walkers(n_dim)
    target = settings.steps if settings.steps is not None else settings.max_steps
    _check_size(n_walkers, n_dim, target)
    if n_walkers < 2 * n_dim + 2:
        # the differential-evolution proposals of one half-ensemble span at most as many
        # directions as the other half has walkers, less one: fewer than 2 d + 2 walkers
        # cannot explore every parameter
        log.warning("sampler.walkers = %d is too few for the %d parameters of this model; "
                    "using %d (at least twice the number of parameters, plus two)",
                    n_walkers, n_dim, 2 * n_dim + 2)
        n_walkers = 2 * n_dim + 2
        _check_size(n_walkers, n_dim, target)
    store = Checkpoint(checkpoint) if checkpoint is not None else None

    sampler_seed: int | list[int] = settings.seed
    chain_parts: list[np.ndarray] = []
    lp_parts: list[np.ndarray] = []
    prev_seconds, prev_evals, accepted = 0.0, 0, np.zeros(n_walkers)
    saved = None
    if resume and store is not None and store.path.exists():
        saved = store.read(n_walkers, problem.parameter_names)
        if fingerprint is not None and saved.fingerprint not in (None, fingerprint):
            raise FitError(
                f"{store.path}: the checkpoint was written for other inputs or another "
                "configuration (their checksums changed since the interrupted run); start "
                "afresh (without --resume, or with --force)")
    # a run stopped before its first chunk was appended left no steps: start afresh
    if saved is not None and len(saved.chain):
        chain_parts, lp_parts = [saved.chain], [saved.log_prob]
        map_theta = saved.map_theta
        prev_seconds, prev_evals = saved.sampling_seconds, saved.n_log_prob_evaluations
        accepted = saved.accepted.astype(float)
        sampler_seed = [settings.seed, len(saved.chain)]
        log.info("resuming from %s: %d steps already taken", store.path, len(saved.chain))
    else:
        map_theta, cov = find_start(problem, counter)
        if store is not None:
            store.create(n_walkers, problem.parameter_names, map_theta, fingerprint)
    done = resumed = sum(len(c) for c in chain_parts)
    # the whole chain in one buffer (pages are only touched as steps are written), so a
    # long or resumed run costs time and memory linear in its steps
    size = max(target, done)
    chain_buf = np.empty((size, n_walkers, n_dim))
    lp_buf = np.empty((size, n_walkers))
    if done:
        chain_buf[:done] = chain_parts[0]
        lp_buf[:done] = lp_parts[0]
        x, lp = chain_buf[done - 1].copy(), lp_buf[done - 1].copy()
    else:
        x = initial_walkers(problem, map_theta, cov, n_walkers, rng)
        lp = counter(x)
    del chain_parts, lp_parts
    sampler = EnsembleChunks(counter, n_walkers, n_dim,
                             sampler_seed if resumed else settings.seed)

    # convergence is checked (and the checkpoint appended) at least every CHECK_EVERY steps:
    # both are cheap, and a run stops at most one short chunk after it has converged
    chunk = max(50, min(int(settings.checkpoint_every), CHECK_EVERY))
    tau_old = tau = None
    converged = False
    t0 = time.perf_counter()
    while done < target:
        n = min(chunk, target - done)
        part, lps, acc, x, lp = sampler.run(x, lp, n)
        chain_buf[done:done + n] = part
        lp_buf[done:done + n] = lps
        accepted += acc
        done += n
        if store is not None:
            store.append(part, lps, accepted, prev_seconds + time.perf_counter() - t0,
                         prev_evals + counter.count)
        if progress is not None:
            progress(done, target)
        if settings.steps is None:
            if (tau_old is not None and np.all(np.isfinite(tau_old))
                    and done < 0.8 * settings.tau_multiple * np.max(tau_old)):
                tau = None
                continue  # cannot have converged yet: skip the estimate
            tau = estimate_tau(chain_buf[done // 5:done])
            tau_max = float(np.max(tau))
            stable = (tau_old is not None and np.all(np.isfinite(tau))
                      and np.all(np.abs(tau - tau_old) < 0.05 * tau))
            tau_old = tau
            if done > settings.tau_multiple * tau_max and stable:
                converged = True
                break
    chain, log_prob = chain_buf[:done], lp_buf[:done]
    if tau is None or not converged:
        tau = estimate_tau(chain[len(chain) // 5:])
    tau_max = float(np.max(tau))
    if settings.steps is not None:
        converged = bool(np.isfinite(tau_max) and len(chain) > settings.tau_multiple * tau_max)
    acceptance = float(np.mean(accepted / max(len(chain), 1)))
    if converged:
        reason = (f"the chain ({len(chain)} steps) is longer than {settings.tau_multiple:g} "
                  f"autocorrelation times (tau_max = {tau_max:.0f} steps)")
    else:
        reason = _not_converged_reason(problem, chain, tau, acceptance, settings.tau_multiple)
        warnings.warn(f"the posterior may not have converged: {reason}", ConvergenceWarning,
                      stacklevel=2)
    n = len(chain)
    burn = (int(min(max(2 * tau_max, 0.1 * n), 0.5 * n)) if np.isfinite(tau_max)
            else n // 2)
    return SamplingOutput(
        chain=chain, log_prob=log_prob, burn_in=burn, tau=tau, converged=converged,
        acceptance_fraction=acceptance,
        sampling_seconds=prev_seconds + time.perf_counter() - t0,
        n_log_prob_evaluations=prev_evals + counter.count, map_theta=map_theta,
        resumed_from_step=resumed,
        convergence_reason=reason, fingerprint=fingerprint,
    )
