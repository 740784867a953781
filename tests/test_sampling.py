"""Sampler: degenerate chains end as 'not converged' with a reason, the append-only
checkpoint resumes linearly and only when current, the autocorrelation estimate, limits."""

from __future__ import annotations

import json
import time

import emcee
import numpy as np
import pandas as pd
import pytest

from exsyfit.config import config_from_dict
from exsyfit.errors import ExsyfitError, FitError
from exsyfit.fit.checkpoint import Checkpoint, read_fingerprint
from exsyfit.fit.likelihood import problem_from_config, site_pairs
from exsyfit.fit.options import SamplerConfig
from exsyfit.fit.results import FitResult, load_result
from exsyfit.fit.sampling import (
    ConvergenceWarning,
    estimate_tau,
    find_start,
    sample_posterior,
)
from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

from conftest import c8_volume_table


def problem_for(table):
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}}}
    return problem_from_config(table, config_from_dict(raw))


def run(problem, **settings):
    with pytest.warns(ConvergenceWarning):
        return sample_posterior(problem, SamplerConfig(**{"seed": 1, "steps": 150, **settings}))


@pytest.mark.parametrize("damage", ["zeros", "huge_volume", "tiny_sigma"])
def test_degenerate_tables_end_unconverged_with_a_reason(damage):
    table = c8_volume_table()
    if damage == "zeros":
        table["volume"] = 0.0
    elif damage == "huge_volume":
        table.loc[3, "volume"] = 1e308
    else:
        table.loc[3, "sigma"] = 1e-300
    problem = problem_for(table)
    out = run(problem)
    assert not out.converged
    assert "never moved" in out.convergence_reason
    result = FitResult.from_sampling(problem, out)
    summary = result.summary_dict()
    json.dumps(summary)
    assert summary["diagnostics"]["converged"] is False
    assert summary["diagnostics"]["tau_max"] is None
    assert any("did not converge" in w and "never moved" in w for w in summary["warnings"])


def test_short_chain_reason_names_the_slowest_parameter():
    problem = problem_for(c8_volume_table())
    out = run(problem, steps=100)
    assert not out.converged
    slowest = problem.parameter_names[int(np.argmax(out.tau))]
    assert "shorter than 50 autocorrelation times" in out.convergence_reason
    assert slowest in out.convergence_reason


def test_tau_matches_emcee_and_is_infinite_for_a_frozen_chain():
    rng = np.random.default_rng(0)
    phi = np.array([0.5, 0.9, 0.97])
    x = np.zeros((480, 16, 3))
    for t in range(1, len(x)):
        x[t] = phi * x[t - 1] + rng.standard_normal((16, 3))
    ref = emcee.autocorr.integrated_time(x, tol=0, quiet=True)
    np.testing.assert_allclose(estimate_tau(x), ref, rtol=1e-10)
    # thinned estimate of a long chain stays close to the full one (AR(1): tau = 19)
    long = np.zeros((6000, 16, 1))
    for t in range(1, len(long)):
        long[t] = 0.9 * long[t - 1] + rng.standard_normal((16, 1))
    assert 15 < estimate_tau(long)[0] < 24
    x[:, :, 1] = 0.3
    tau = estimate_tau(x)
    assert np.isinf(tau[1]) and np.isfinite(tau[0])


def test_impossible_walker_count_is_a_fit_error():
    problem = problem_for(c8_volume_table())
    with pytest.raises(FitError, match="sampler.walkers = 1000000000000"):
        sample_posterior(problem, SamplerConfig(walkers=10**12))
    with pytest.raises(FitError, match="at least 4"):
        sample_posterior(problem, SamplerConfig(walkers=2, steps=10))


def test_checkpoint_appends_resumes_and_refuses_other_inputs(tmp_path):
    problem = problem_for(c8_volume_table())
    path = tmp_path / "checkpoint.h5"
    settings = SamplerConfig(seed=3, steps=300, checkpoint_every=100)
    sizes = []

    def stop_after_two(done, target):
        sizes.append(path.stat().st_size)
        if done == 200:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sample_posterior(problem, settings, checkpoint=path, progress=stop_after_two,
                         fingerprint="inputs-v1")
    # appended, not rewritten: the second chunk added about as much as the first
    assert sizes[1] < 2.6 * sizes[0]
    assert read_fingerprint(path) == "inputs-v1"
    with pytest.raises(FitError, match="other inputs"):
        sample_posterior(problem, settings, checkpoint=path, resume=True,
                         fingerprint="inputs-v2")
    with pytest.warns(ConvergenceWarning):
        out = sample_posterior(problem, settings, checkpoint=path, resume=True,
                               fingerprint="inputs-v1")
    assert out.resumed_from_step == 200 and out.chain.shape[0] == 300
    saved = Checkpoint(path).read(out.chain.shape[1], problem.parameter_names)
    np.testing.assert_array_equal(saved.chain, out.chain)
    result = FitResult.from_sampling(problem, out)
    assert result.fingerprint == "inputs-v1"
    paths = result.save(tmp_path)
    assert read_fingerprint(paths["posterior"]) == "inputs-v1"
    assert load_result(paths["posterior"], problem).fingerprint == "inputs-v1"


def test_resume_from_a_checkpoint_without_steps_starts_afresh(tmp_path):
    # a run stopped before its first chunk was appended leaves metadata only
    problem = problem_for(c8_volume_table())
    settings = SamplerConfig(seed=3, steps=150)
    with pytest.warns(ConvergenceWarning):
        fresh = sample_posterior(problem, settings)
    path = tmp_path / "checkpoint.h5"
    Checkpoint(path).create(fresh.chain.shape[1], problem.parameter_names, fresh.map_theta)
    with pytest.warns(ConvergenceWarning):
        out = sample_posterior(problem, settings, checkpoint=path, resume=True)
    assert out.resumed_from_step == 0
    np.testing.assert_array_equal(out.chain, fresh.chain)


def test_truncated_checkpoint_and_posterior_name_the_file(tmp_path):
    problem = problem_for(c8_volume_table())
    path = tmp_path / "checkpoint.h5"
    with pytest.warns(ConvergenceWarning):
        out = sample_posterior(problem, SamplerConfig(steps=100, checkpoint_every=50),
                               checkpoint=path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ExsyfitError, match="checkpoint.h5.*truncated or corrupt"):
        sample_posterior(problem, SamplerConfig(steps=200), checkpoint=path, resume=True)
    paths = FitResult.from_sampling(problem, out).save(tmp_path)
    post = paths["posterior"]
    post.write_bytes(post.read_bytes()[:5000])
    with pytest.raises(ExsyfitError, match="posterior.nc"):
        load_result(post, problem)
    with pytest.raises(ExsyfitError, match="posterior.nc"):
        read_fingerprint(post)


def test_start_search_scales_to_twelve_sites():
    n = 12
    names = [f"S{i}" for i in range(n)]
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.5, n)
    p /= p.sum()
    pairs = site_pairs(names)
    rows = []
    for T in (280.0, 320.0):
        K = exchange_rate_matrix(np.full(len(pairs), 2.0 * T / 300), p, pairs)
        V = predict_volumes(mixing_matrix(K, np.ones(n), [0.02, 0.5], populations=p), p)
        for m, tm in enumerate([0.02, 0.5]):
            for i in range(n):
                for j in range(n):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T,
                                     mixing_time_s=tm, from_site=names[j], to_site=names[i],
                                     volume=V[m, i, j] + 1e-4 * rng.standard_normal(),
                                     sigma=1e-4))
    raw = {"data": {"volumes": "v.csv"},
           "sites": {s: {"ppm": float(i)} for i, s in enumerate(names)}}
    problem = problem_from_config(pd.DataFrame(rows), config_from_dict(raw))
    assert problem.n_parameters > 150
    t0 = time.perf_counter()
    theta, _ = find_start(problem)
    assert time.perf_counter() - t0 < 60
    # far better than the generic initial guess
    assert problem(theta[None])[0] > problem(problem.initial_guess()[None])[0] + 1e4


def test_sampler_draws_from_a_correlated_gaussian():
    from exsyfit.fit.sampling import EnsembleChunks

    rng = np.random.default_rng(5)
    d = 5
    m = rng.standard_normal((d, d))
    cov = m @ m.T + 0.3 * np.eye(d)
    prec = np.linalg.inv(cov)
    mu = np.linspace(-2.0, 3.0, d)

    def log_prob(x):
        r = x - mu
        return -0.5 * np.einsum("ij,jk,ik->i", r, prec, r)

    x0 = mu + rng.standard_normal((24, d))
    sampler = EnsembleChunks(log_prob, 24, d, seed=1)
    chain, lps, accepted, _, _ = sampler.run(x0, log_prob(x0), 3000)
    more, more_lps, more_accepted, _, _ = sampler.run(chain[-1], lps[-1], 3000)
    chain, lps = np.concatenate([chain, more]), np.concatenate([lps, more_lps])
    accepted = accepted + more_accepted
    post = chain[1000:].reshape(-1, d)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(post.mean(axis=0) - mu) < 0.06 * sd)
    np.testing.assert_allclose(np.cov(post.T), cov, atol=0.06 * np.outer(sd, sd).max())
    np.testing.assert_allclose(lps[-1], log_prob(chain[-1]))
    assert 0.15 < accepted.mean() / 6000 < 0.5
