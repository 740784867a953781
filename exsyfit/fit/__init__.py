"""Bayesian fitting of volume tables: parameters, likelihood, sampling, results, comparison."""
