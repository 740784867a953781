"""Configuration: TOML file -> frozen dataclasses, with every problem reported at once.

Paths in ``[data]`` are relative to the folder of the config file.  Every key is documented in
``exsyfit info config`` (generated from :data:`KEY_HELP`) and in the README.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exsyfit.errors import ConfigError
from exsyfit.fit.options import (
    DiffusionConfig,
    GaussianPrior,
    ModelConfig,
    PriorConfig,
    SamplerConfig,
    SiteConfig,
)

TEMPERATURE_MODELS = ("free", "arrhenius", "eyring")

#: Documentation of every key, shown by ``exsyfit info config``: "table.key" -> help text.
KEY_HELP: dict[str, str] = {
    "data.paths": "list of Bruker expno folders / Varian .fid folders (globs allowed), "
    "relative to the config file",
    "data.volumes": "a volume table (CSV) to fit instead of reading spectra",
    "data.procno": "Bruker processing number to read (default 1)",
    "data.prefer": "'processed' (TopSpin's 2rr, default) or 'raw' (process the ser/fid here)",
    "data.normalise_intensity": "divide every spectrum by scans and receiver gain (default true)",
    "data.mixing_time": "where the mixing time is read: 'auto' (Bruker D8, Varian mixN/mix), "
    "'D<n>', 'vdlist', 'vclist*rotor', 'param:NAME' (Varian) or a number in seconds",
    "data.temperature_tolerance_K": "spectra closer than this share a temperature (default 2)",
    "data.replicates": "allow several spectra with the same temperature and mixing time",
    "temperature.slope": "sample temperature = slope x set temperature + offset_K (default 1)",
    "temperature.offset_K": "see slope (default 0)",
    "temperature.sigma_K": "1-sigma uncertainty of the sample temperature, K (default 0)",
    "temperature.per_experiment": "table: experiment folder -> sample temperature, K",
    "sites.<name>.ppm": "chemical shift of the site's diagonal peak, ppm (required)",
    "sites.<name>.population": "fix the population (number) or give a prior {mean, sd}",
    "sites.<name>.T1_s": "fix T1 in s (number) or give a prior {mean, sd} in s",
    "sites.<name>.start_magnetisation": "starting magnetisation for model.start = 'given' "
    "(relative units, e.g. from a 1D CP spectrum)",
    "sites.<name>.T1_s_by_temperature": "T1 at given sample temperatures, fixed or a prior, "
    'e.g. {"263" = 0.45, "303" = {mean = 0.5, sd = 0.05}} (saturation-recovery results); '
    "other temperatures use T1_s",
    "sites.<name>.ppm_by_temperature": "shift at given sample temperatures, e.g. "
    '{"263" = 1.21, "303" = 1.30}, for phases whose shift moves with temperature '
    "(paramagnetic electrodes); other temperatures use ppm",
    "model.temperature_model": "'free' (rates per temperature), 'arrhenius' or 'eyring'",
    "model.exchange": "exchanging pairs, e.g. ['A<->B', 'A<->C']; default every pair",
    "model.populations": "'shared' across temperatures (default) or 'per_temperature'",
    "model.T1": "'per_temperature' (default) or 'shared' (one T1 per site)",
    "model.start": "'equilibrium' (M(0) = populations, default), 'given' (sites.*."
    "start_magnetisation) or 'fitted' (per temperature, for cross-polarisation starts)",
    "model.spin_diffusion": "add a temperature-independent rate to every pair (default false)",
    "model.fractional_error": "fit an extra error proportional to each volume (default false)",
    "model.reference_temperature_K": "temperature at which ln k is sampled (default: centre "
    "of the data in 1/T)",
    "model.temperature_uncertainty": "sample temperatures within temperature.sigma_K "
    "(or the table's temperature_sigma_K) so Ea includes it (default: true when a sigma is set)",
    "model.transport": "'first-order' exchange (default), or diffusion-limited uptake into "
    "'sphere' or 'slab' particles",
    "priors.k_ex_per_s": "[low, high] bounds of the log-uniform prior on exchange rates",
    "priors.Ea_eV": "[low, high] bounds of the uniform prior on Ea",
    "priors.dH_kJ_per_mol": "[low, high] bounds of the uniform prior on the activation enthalpy",
    "priors.T1_s": "[low, high] bounds of the log-uniform prior on T1",
    "priors.spin_diffusion_per_s": "[low, high] bounds of the uniform prior on the "
    "spin-diffusion rate",
    "priors.fractional_error": "[low, high] bounds of the log-uniform prior on the fractional "
    "error",
    "sampler.seed": "random seed (default 1)",
    "sampler.walkers": "number of walkers (default: 3 x parameters, at least 32, even)",
    "sampler.steps": "a fixed number of steps (default: automatic, until 50 tau)",
    "sampler.max_steps": "upper limit of automatic sampling (default 20000)",
    "sampler.tau_multiple": "converged when the chain is longer than this many autocorrelation "
    "times (default 50)",
    "sampler.checkpoint_every": "steps between checkpoints (default 500)",
    "processing.*": "processing of raw data (see exsyfit info processing)",
    "integration.*": "peak integration (see exsyfit info integration)",
    "plots.*": "figure settings (see exsyfit info plots)",
    "report.compare_models": "also fit the free model beside a global law, for the Arrhenius "
    "points and the model comparison (default true)",
    "report.alternatives": "further model variants to fit and compare by LOO: 'free', "
    "'spin_diffusion', 'no_spin_diffusion', 'first-order', 'sphere', 'slab' (default: the "
    "global law with spin diffusion toggled; [] for none)",
    "report.title": "title of the report",
    "report.matrix_log": "write the single-mixing-time matrix-logarithm cross-check "
    "(matrixlog.csv, default true)",
    "diffusion.geometry": "'sphere' (radius) or 'slab' (half-thickness): how rates become D",
    "diffusion.length_nm": "particle radius or layer half-thickness, nm; enables D (cm^2/s) "
    "and, for first-order exchange, the transfer coefficient h",
    "diffusion.length_sd_nm": "1-sigma uncertainty of the length, nm (propagated, log-normal)",
}

_TOP_LEVEL = (
    "data", "sites", "model", "priors", "sampler", "temperature",
    "processing", "integration", "plots", "report", "diffusion",
)


@dataclass(frozen=True)
class DataConfig:
    """Where the data are and how to read them."""

    paths: tuple[str, ...] = ()
    volumes: Path | None = None
    procno: int = 1
    prefer: str = "processed"
    normalise_intensity: bool = True
    mixing_time: str | float = "auto"
    temperature_tolerance_K: float = 2.0
    replicates: bool = False


@dataclass(frozen=True)
class TemperatureConfig:
    """Calibration of set temperature to sample temperature."""

    slope: float = 1.0
    offset_K: float = 0.0
    sigma_K: float = 0.0
    per_experiment: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The calibration as the plain dict the series reader takes."""
        out: dict[str, Any] = {"slope": self.slope, "offset_K": self.offset_K,
                               "sigma_K": self.sigma_K}
        if self.per_experiment:
            out["per_experiment"] = dict(self.per_experiment)
        return out


@dataclass(frozen=True)
class Config:
    """A whole validated configuration."""

    path: Path | None
    sites: tuple[SiteConfig, ...]
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    priors: PriorConfig = PriorConfig()
    sampler: SamplerConfig = SamplerConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    processing: Mapping[str, Any] = field(default_factory=dict)
    integration: Mapping[str, Any] = field(default_factory=dict)
    plots: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    diffusion: DiffusionConfig = DiffusionConfig()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def site_names(self) -> tuple[str, ...]:
        """Site names in config order."""
        return tuple(s.name for s in self.sites)

    @property
    def base_dir(self) -> Path:
        """Folder relative paths are resolved against (the config file's folder)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def pair_names(self) -> list[str]:
        """Names 'A<->B' of the exchanging pairs."""
        names = self.site_names
        return [f"{names[i]}<->{names[j]}" for i, j in self.model.exchange]


class _Collector:
    """Collects every problem of a config so they can be reported together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, key: str, found: Any, expected: str) -> None:
        self.problems.append(f"[{key}]: found {found!r}; expected {expected}")

    def unknown(self, where: str, key: str, allowed: list[str]) -> None:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        full = f"{where}.{key}" if where else key
        self.problems.append(
            f"[{full}]: unknown key{hint}; valid keys here: {', '.join(allowed)}"
        )

    def raise_if_any(self) -> None:
        if self.problems:
            if len(self.problems) == 1:
                raise ConfigError(f"{self.source}: {self.problems[0]}")
            listing = "\n  ".join(self.problems)
            raise ConfigError(f"{self.source}: {len(self.problems)} problems:\n  {listing}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_keys(table: Mapping[str, Any], allowed: list[str], where: str, c: _Collector) -> None:
    for key in table:
        if key not in allowed:
            c.unknown(where, key, allowed)


def _get(
    table: Mapping[str, Any], key: str, where: str, default: Any, check: Callable[[Any], bool],
    expected: str, c: _Collector,
) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not check(value):
        c.add(f"{where}.{key}", value, expected)
        return default
    return value


def _positive(v: Any) -> bool:
    return _is_number(v) and v > 0


def _bounds(v: Any) -> bool:
    return (
        isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and v[0] < v[1]
    )


def _fixed_or_prior(
    value: Any, key: str, c: _Collector, lower: float, upper: float
) -> float | GaussianPrior | None:
    """A number (fixed) or {mean, sd} (prior) within (lower, upper)."""
    if _is_number(value) and lower < value < upper:
        return float(value)
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("mean", "sd")]
        if extra:
            c.unknown(key, extra[0], ["mean", "sd"])
            return None
        mean, sd = value.get("mean"), value.get("sd")
        if _is_number(mean) and lower < mean < upper and _positive(sd):
            return GaussianPrior(float(mean), float(sd))
    c.add(key, value, f"a number in ({lower:g}, {upper:g}) to fix it, or a prior "
          "{mean = ..., sd = ...} with sd > 0")
    return None


def _by_temperature(value: Any, key: str, c: _Collector, example: str,
                    parse: Callable[[Any, str], Any]) -> dict[float, Any]:
    """A table keyed by sample temperature (K, as a string), each value parsed by ``parse``
    (which returns None after reporting a problem)."""
    out: dict[float, Any] = {}
    if not isinstance(value, dict):
        c.add(key, value, f"a table of temperature (K) -> value, e.g. {example}")
        return out
    for t, item in value.items():
        try:
            temperature = float(t)
        except ValueError:
            temperature = float("nan")
        if not (math.isfinite(temperature) and temperature > 0):
            c.add(f"{key}.{t}", t, "a temperature in K as the key")
            continue
        parsed = parse(item, f"{key}.{t}")
        if parsed is not None:
            out[temperature] = parsed
    return out


def _ppm_by_temperature(value: Any, key: str, c: _Collector) -> dict[float, float]:
    """{"263" = 1.2, ...}: shift (ppm) of a site at given sample temperatures (K)."""

    def ppm(item: Any, where: str) -> float | None:
        if _is_number(item):
            return float(item)
        c.add(where, item, "a shift in ppm")
        return None

    return _by_temperature(value, key, c, '{"263" = 1.21, "303" = 1.30}', ppm)


def _t1_by_temperature(value: Any, key: str, c: _Collector,
                       ) -> dict[float, float | GaussianPrior]:
    """{"263" = 0.45, "303" = {mean = 0.5, sd = 0.05}}: T1 (s) fixed or with a prior per T."""
    return _by_temperature(value, key, c, '{"263" = 0.45, "303" = {mean = 0.5, sd = 0.05}}',
                           lambda item, where: _fixed_or_prior(item, where, c, 0, math.inf))


def _parse_sites(raw: Any, c: _Collector) -> tuple[SiteConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        c.add("sites", raw, "at least two tables [sites.<name>] with a ppm key each")
        return ()
    sites = []
    allowed = ["ppm", "population", "T1_s", "start_magnetisation", "ppm_by_temperature",
               "T1_s_by_temperature"]
    for name, table in raw.items():
        where = f"sites.{name}"
        if not isinstance(table, dict):
            c.add(where, table, "a table with at least 'ppm'")
            continue
        _check_keys(table, allowed, where, c)
        if "ppm" not in table:
            c.add(f"{where}.ppm", None, "the chemical shift of the site's diagonal peak, ppm")
            continue
        ppm = _get(table, "ppm", where, float("nan"), _is_number, "a number (ppm)", c)
        population = None
        if "population" in table:
            population = _fixed_or_prior(table["population"], f"{where}.population", c, 0, 1)
        t1 = None
        if "T1_s" in table:
            t1 = _fixed_or_prior(table["T1_s"], f"{where}.T1_s", c, 0, math.inf)
        m0 = _get(table, "start_magnetisation", where, None, _positive, "a positive number", c)
        by_t = _ppm_by_temperature(table.get("ppm_by_temperature", {}),
                                   f"{where}.ppm_by_temperature", c)
        t1_by_t = _t1_by_temperature(table.get("T1_s_by_temperature", {}),
                                     f"{where}.T1_s_by_temperature", c)
        sites.append(SiteConfig(str(name), float(ppm), population, t1, m0, by_t, t1_by_t))
    if len(sites) < 2 and not c.problems:
        c.add("sites", list(raw), "at least two sites")
    return tuple(sites)


def _parse_pairs(raw: Any, names: tuple[str, ...], c: _Collector) -> tuple[tuple[int, int], ...]:
    every = tuple((i, j) for i in range(len(names)) for j in range(i + 1, len(names)))
    if raw is None:
        return every
    if not isinstance(raw, list) or not raw:
        c.add("model.exchange", raw, "a list like ['A<->B', 'A<->C']")
        return every
    pairs: list[tuple[int, int]] = []
    for item in raw:
        parts = str(item).split("<->") if isinstance(item, str) else []
        parts = [p.strip() for p in parts]
        if len(parts) != 2 or parts[0] == parts[1] or any(p not in names for p in parts):
            c.add("model.exchange", item,
                  f"'X<->Y' with two different sites among {', '.join(names)}")
            continue
        i, j = sorted((names.index(parts[0]), names.index(parts[1])))
        if (i, j) in pairs:
            c.add("model.exchange", item, "each pair listed once")
            continue
        pairs.append((i, j))
    return tuple(sorted(pairs)) if pairs else every


def _choice(table: Mapping[str, Any], key: str, where: str, default: str,
            options: tuple[str, ...], c: _Collector) -> str:
    return _get(table, key, where, default, lambda v: v in options,
                " or ".join(repr(o) for o in options), c)


def _section(raw: Mapping[str, Any], name: str, c: _Collector) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        c.add(name, value, "a table")
        return {}
    return value


def _parse_data(raw: Mapping[str, Any], base: Path, c: _Collector) -> DataConfig:
    d = _section(raw, "data", c)
    allowed = ["paths", "volumes", "procno", "prefer", "normalise_intensity", "mixing_time",
               "temperature_tolerance_K", "replicates"]
    _check_keys(d, allowed, "data", c)
    paths = d.get("paths", [])
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        c.add("data.paths", paths, "a list of folder paths or globs (strings)")
        paths = []
    volumes = _get(d, "volumes", "data", None, lambda v: isinstance(v, str) and v != "",
                   "a path to a CSV volume table", c)
    if not paths and volumes is None and "paths" not in d:
        c.add("data", "neither paths nor volumes",
              "data.paths (spectrometer folders) or data.volumes (a CSV table)")
    if paths and volumes is not None:
        c.add("data", "both paths and volumes", "only one of data.paths and data.volumes")
    mixing = _get(d, "mixing_time", "data", "auto",
                  lambda v: isinstance(v, str) or _positive(v),
                  "'auto', 'D8', 'vdlist', 'vclist*rotor', 'param:NAME' or seconds", c)
    return DataConfig(
        paths=tuple(paths),
        volumes=(base / volumes) if volumes is not None else None,
        procno=_get(d, "procno", "data", 1, lambda v: isinstance(v, int) and v > 0,
                    "a positive integer", c),
        prefer=_choice(d, "prefer", "data", "processed", ("processed", "raw"), c),
        normalise_intensity=_get(d, "normalise_intensity", "data", True,
                                 lambda v: isinstance(v, bool), "true or false", c),
        mixing_time=mixing,
        temperature_tolerance_K=_get(d, "temperature_tolerance_K", "data", 2.0, _positive,
                                     "a positive number (K)", c),
        replicates=_get(d, "replicates", "data", False, lambda v: isinstance(v, bool),
                        "true or false", c),
    )


def _parse_model(raw: Mapping[str, Any], names: tuple[str, ...], c: _Collector) -> ModelConfig:
    m = _section(raw, "model", c)
    allowed = ["temperature_model", "exchange", "populations", "T1", "start", "spin_diffusion",
               "fractional_error", "reference_temperature_K", "temperature_uncertainty",
               "transport"]
    _check_keys(m, allowed, "model", c)

    def flag(key: str, default: bool | None) -> bool | None:
        return _get(m, key, "model", default, lambda v: isinstance(v, bool), "true or false", c)

    return ModelConfig(
        temperature_model=_choice(m, "temperature_model", "model", "arrhenius",
                                  TEMPERATURE_MODELS, c),
        exchange=_parse_pairs(m.get("exchange"), names, c),
        populations=_choice(m, "populations", "model", "shared",
                            ("shared", "per_temperature"), c),
        T1=_choice(m, "T1", "model", "per_temperature", ("per_temperature", "shared"), c),
        start=_choice(m, "start", "model", "equilibrium", ("equilibrium", "given", "fitted"), c),
        spin_diffusion=bool(flag("spin_diffusion", False)),
        fractional_error=bool(flag("fractional_error", False)),
        reference_temperature_K=_get(m, "reference_temperature_K", "model", None, _positive,
                                     "a temperature in K", c),
        temperature_uncertainty=flag("temperature_uncertainty", None),
        transport=_choice(m, "transport", "model", "first-order",
                          ("first-order", "sphere", "slab"), c),
    )


def _parse_priors(raw: Mapping[str, Any], c: _Collector) -> PriorConfig:
    p = _section(raw, "priors", c)
    defaults = PriorConfig()
    allowed = list(PriorConfig.__dataclass_fields__)
    _check_keys(p, allowed, "priors", c)
    values = {}
    # lowest allowed value of "low": rates on a log scale need low > 0, a uniform rate >= 0
    floors = {"Ea_eV": None, "dH_kJ_per_mol": None, "spin_diffusion_per_s": 0.0}
    for key in allowed:
        floor = floors.get(key, "positive")
        if floor == "positive":
            rule, expected = (lambda v: v[0] > 0), " and low > 0"
        elif floor is None:
            rule, expected = (lambda v: True), ""
        else:
            rule, expected = (lambda v: v[0] >= 0), " and low >= 0"
        value = _get(p, key, "priors", getattr(defaults, key),
                     lambda v, rule=rule: _bounds(v) and rule(v),
                     "[low, high] with low < high" + expected, c)
        values[key] = tuple(float(x) for x in value)
    return PriorConfig(**values)


def _parse_sampler(raw: Mapping[str, Any], c: _Collector) -> SamplerConfig:
    s = _section(raw, "sampler", c)
    allowed = list(SamplerConfig.__dataclass_fields__)
    _check_keys(s, allowed, "sampler", c)

    def integer(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    walkers = _get(s, "walkers", "sampler", None, lambda v: integer(v) and v >= 4,
                   "an integer >= 4", c)
    return SamplerConfig(
        seed=_get(s, "seed", "sampler", 1, lambda v: isinstance(v, int) and v >= 0,
                  "a non-negative integer", c),
        walkers=walkers,
        steps=_get(s, "steps", "sampler", None, integer, "a positive integer", c),
        max_steps=_get(s, "max_steps", "sampler", 20000, integer, "a positive integer", c),
        tau_multiple=_get(s, "tau_multiple", "sampler", 50.0, _positive, "a positive number",
                          c),
        checkpoint_every=_get(s, "checkpoint_every", "sampler", 500, integer,
                              "a positive integer", c),
    )


def _parse_temperature(raw: Mapping[str, Any], c: _Collector) -> TemperatureConfig:
    t = _section(raw, "temperature", c)
    allowed = ["slope", "offset_K", "sigma_K", "per_experiment"]
    _check_keys(t, allowed, "temperature", c)
    per = t.get("per_experiment", {})
    if not isinstance(per, dict) or not all(_positive(v) for v in per.values()):
        c.add("temperature.per_experiment", per, "a table: experiment folder -> kelvin")
        per = {}
    return TemperatureConfig(
        slope=_get(t, "slope", "temperature", 1.0, _positive, "a positive number", c),
        offset_K=_get(t, "offset_K", "temperature", 0.0, _is_number, "a number (K)", c),
        sigma_K=_get(t, "sigma_K", "temperature", 0.0, lambda v: _is_number(v) and v >= 0,
                     "a number >= 0 (K)", c),
        per_experiment={str(k): float(v) for k, v in per.items()},
    )


ALTERNATIVES = ("free", "spin_diffusion", "no_spin_diffusion", "first-order", "sphere", "slab")


def _parse_report(raw: Mapping[str, Any], c: _Collector) -> dict[str, Any]:
    r = _section(raw, "report", c)
    allowed = ["compare_models", "alternatives", "title", "matrix_log"]
    _check_keys(r, allowed, "report", c)
    out = dict(r)
    for key in ("compare_models", "matrix_log"):
        _get(r, key, "report", True, lambda v: isinstance(v, bool), "true or false", c)
    _get(r, "title", "report", "", lambda v: isinstance(v, str), "a string", c)
    alts = r.get("alternatives", [])
    if not isinstance(alts, list) or any(a not in ALTERNATIVES for a in alts):
        c.add("report.alternatives", alts,
              f"a list of model variants among {', '.join(ALTERNATIVES)}")
    return out


def _parse_diffusion(raw: Mapping[str, Any], c: _Collector) -> DiffusionConfig:
    d = _section(raw, "diffusion", c)
    allowed = ["geometry", "length_nm", "length_sd_nm"]
    _check_keys(d, allowed, "diffusion", c)
    return DiffusionConfig(
        geometry=_choice(d, "geometry", "diffusion", "sphere", ("sphere", "slab"), c),
        length_nm=_get(d, "length_nm", "diffusion", None, _positive,
                       "a positive length in nm (particle radius or layer half-thickness)", c),
        length_sd_nm=_get(d, "length_sd_nm", "diffusion", 0.0,
                          lambda v: _is_number(v) and v >= 0, "a number >= 0 (nm)", c),
    )


def _split_problems(message: str) -> list[str]:
    """One entry per problem of a section validator's message, keys written as [a.b]."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines = lines[1:]
    return [re.sub(r"^\[([\w.]+)\]\.([\w.]+)", r"[\1.\2]", line) for line in lines]


def _validate_subsection(name: str, table: dict[str, Any], c: _Collector) -> None:
    """Let the owning module validate its own section (processing, integration, plots)."""
    if not table:
        return
    try:
        if name == "processing":
            from exsyfit.processing.transforms import ProcessingOptions

            ProcessingOptions.from_dict(table, where="[processing]")
        elif name == "integration":
            from exsyfit.integrate.integration import IntegrationOptions

            IntegrationOptions.from_dict(table, where="[integration]")
        elif name == "plots":
            from exsyfit.output.figures import PlotStyle

            PlotStyle.from_dict(table, where="[plots]")
    except ConfigError as exc:
        for problem in _split_problems(str(exc)):
            c.problems.append(problem)
    except ImportError:  # pragma: no cover - module not present in a partial install
        pass


def config_from_dict(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document and build a :class:`Config`.

    Parameters
    ----------
    raw : mapping
        The TOML document as a dict.
    path : Path, optional
        The file it came from (for messages and relative paths).

    Raises
    ------
    ConfigError
        Listing every problem found, each with its key path.
    """
    c = _Collector(str(path) if path is not None else "config")
    _check_keys(raw, list(_TOP_LEVEL), "", c)
    base = path.parent if path is not None else Path.cwd()
    sites = _parse_sites(raw.get("sites"), c)
    names = tuple(s.name for s in sites)
    cfg = Config(
        path=path,
        sites=sites,
        data=_parse_data(raw, base, c),
        model=_parse_model(raw, names, c),
        priors=_parse_priors(raw, c),
        sampler=_parse_sampler(raw, c),
        temperature=_parse_temperature(raw, c),
        processing=_section(raw, "processing", c),
        integration=_section(raw, "integration", c),
        plots=_section(raw, "plots", c),
        report=_parse_report(raw, c),
        diffusion=_parse_diffusion(raw, c),
        raw=dict(raw),
    )
    if cfg.model.start == "given":
        missing = [s.name for s in sites if s.start_magnetisation is None]
        if missing:
            c.add(f"sites.{missing[0]}.start_magnetisation", None,
                  "a starting magnetisation for every site when model.start = 'given'")
    for name in ("processing", "integration", "plots"):
        _validate_subsection(name, dict(getattr(cfg, name)), c)
    c.raise_if_any()
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or has invalid settings (all listed).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(raw, path)
