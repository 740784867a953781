"""Options of the fitting stage: sites, kinetic model, priors, sampler and length scale.

These frozen dataclasses are built by :mod:`exsyfit.config` from the ``[sites]``, ``[model]``,
``[priors]``, ``[sampler]`` and ``[diffusion]`` tables and handed to the fit layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GaussianPrior:
    """A normal prior with mean and standard deviation (same units as the quantity)."""

    mean: float
    sd: float

@dataclass(frozen=True)
class SiteConfig:
    """One site: name, ppm and optional fixed values or priors."""

    name: str
    ppm: float
    population: float | GaussianPrior | None = None
    T1_s: float | GaussianPrior | None = None
    start_magnetisation: float | None = None
    ppm_by_temperature: Mapping[float, float] = field(default_factory=dict)
    T1_s_by_temperature: Mapping[float, float | GaussianPrior] = field(default_factory=dict)

@dataclass(frozen=True)
class ModelConfig:
    """Kinetic model choices."""

    temperature_model: str = "arrhenius"
    exchange: tuple[tuple[int, int], ...] = ()
    populations: str = "shared"
    T1: str = "per_temperature"
    start: str = "equilibrium"
    spin_diffusion: bool = False
    fractional_error: bool = False
    reference_temperature_K: float | None = None
    temperature_uncertainty: bool | None = None
    transport: str = "first-order"

@dataclass(frozen=True)
class PriorConfig:
    """Bounds of the default (uninformative) priors."""

    k_ex_per_s: tuple[float, float] = (1e-3, 1e5)
    Ea_eV: tuple[float, float] = (0.0, 2.0)
    dH_kJ_per_mol: tuple[float, float] = (0.0, 200.0)
    T1_s: tuple[float, float] = (1e-3, 1e3)
    spin_diffusion_per_s: tuple[float, float] = (0.0, 100.0)
    fractional_error: tuple[float, float] = (1e-4, 1.0)

@dataclass(frozen=True)
class SamplerConfig:
    """emcee settings."""

    seed: int = 1
    walkers: int | None = None
    steps: int | None = None
    max_steps: int = 20000
    tau_multiple: float = 50.0
    checkpoint_every: int = 500

@dataclass(frozen=True)
class DiffusionConfig:
    """Length scale that turns rates into diffusion or transfer coefficients."""

    geometry: str = "sphere"
    length_nm: float | None = None
    length_sd_nm: float = 0.0
