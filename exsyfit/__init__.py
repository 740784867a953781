"""exsyfit: Li-ion exchange rates and activation energies from 2D EXSY NMR series.

The most used functions are importable from the package (loaded on first use, so that
``exsyfit --version`` stays instant)::

    import exsyfit
    config = exsyfit.load_config("config.toml")
    series = exsyfit.read_series(config)  # calibrated sample temperatures
    volumes = exsyfit.integrate_series(series.spectra, {"A": 1.3, "B": 2.3}).table
    result = exsyfit.fit_volumes(config, volumes)
    result.summary(); exsyfit.plot_arrhenius(result); exsyfit.plot_buildup(result, 0)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": "exsyfit.config",
    "config_from_dict": "exsyfit.config",
    "Spectrum2D": "exsyfit.io.spectrum",
    "read_series": "exsyfit.io.series",
    "experiment_table": "exsyfit.io.series",
    "integrate_series": "exsyfit.integrate.series",
    "read_volume_table": "exsyfit.integrate.volumes",
    "problem_from_config": "exsyfit.fit.likelihood",
    "ExsyProblem": "exsyfit.fit.likelihood",
    "sample_posterior": "exsyfit.fit.sampling",
    "FitResult": "exsyfit.fit.results",
    "load_result": "exsyfit.fit.results",
    "compare_models": "exsyfit.fit.compare",
    "rates_from_volumes": "exsyfit.kinetics.matrixlog",
    "matrix_log_table": "exsyfit.kinetics.matrixlog",
    "plot_arrhenius": "exsyfit.output.figures",
    "plot_buildup": "exsyfit.output.figures",
    "plot_series_overview": "exsyfit.output.show",
    "simulate_series": "exsyfit.simulate.series",
    "simulate_volume_table": "exsyfit.simulate.series",
    "example_truth": "exsyfit.simulate.series",
    "ExsyfitError": "exsyfit.errors",
}

__all__ = ["__version__", "fit_volumes", *_LAZY]


def fit_volumes(config: Any, volumes: Any, *, checkpoint: Any = None) -> Any:
    """Fit a volume table (pandas DataFrame) with the model of a config; returns a FitResult."""
    from exsyfit.workflow.pipeline import fit_one

    return fit_one(config, volumes, checkpoint)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exsyfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
