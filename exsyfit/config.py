"""Configuration, the composition root: TOML file -> the typed options of every stage, once.

:func:`load_config` reads the file, :func:`config_from_dict` validates every table and builds
the options each stage takes (:class:`~exsyfit.processing.transforms.ProcessingOptions`,
:class:`~exsyfit.integrate.options.IntegrationOptions`, the figure style, the fit options
of :mod:`exsyfit.fit.options`, :class:`ReportOptions`), reporting every problem at once in the
one format of :mod:`exsyfit.settings`.  The raw document is kept for provenance.

Paths in ``[data]`` are relative to the folder of the config file.  Every key is documented in
``exsyfit info config`` (generated from the option fields and :data:`KEY_HELP`) and in the
README.
"""

from __future__ import annotations

import dataclasses
import math
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
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.io.temperature import TemperatureCalibration
from exsyfit.output.style import PlotStyle
from exsyfit.processing.transforms import ProcessingOptions
from exsyfit.settings import Problems, is_number, option, parse_table

__all__ = ["Config", "DataConfig", "TemperatureConfig", "ReportOptions", "GaussianPrior",
           "DiffusionConfig", "ModelConfig", "PriorConfig", "SamplerConfig", "SiteConfig",
           "config_from_dict", "load_config", "KEY_HELP", "SECTIONS"]

TEMPERATURE_MODELS = ("free", "arrhenius", "eyring")
ALTERNATIVES = ("free", "spin_diffusion", "no_spin_diffusion", "first-order", "sphere", "slab")

#: The ``[temperature]`` table (defined with the calibration it drives).
TemperatureConfig = TemperatureCalibration

#: Largest number of walkers x steps the sampler may hold (the chain is kept in memory:
#: 8 bytes per parameter each).
MAX_CHAIN_SAMPLES = 50_000_000

#: Help of the keys whose options classes (in :mod:`exsyfit.fit.options`) carry no help of
#: their own, shown by ``exsyfit info config``: "table.key" -> help text.
KEY_HELP: dict[str, str] = {
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
    "diffusion.geometry": "'sphere' (radius) or 'slab' (half-thickness): how rates become D",
    "diffusion.length_nm": "particle radius or layer half-thickness, nm; enables D (cm^2/s) "
    "and, for first-order exchange, the transfer coefficient h",
    "diffusion.length_sd_nm": "1-sigma uncertainty of the length, nm (propagated, log-normal)",
}

_TOP_LEVEL = (
    "data", "sites", "model", "priors", "sampler", "temperature",
    "processing", "integration", "plots", "report", "diffusion",
)


def _strings(expected: str) -> Callable[[Any], tuple[str, ...]]:
    """Parser of a list of non-empty strings (one string counts as a list of one)."""
    def parse(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(p, str) and p.strip()
                                                  for p in value):
            raise ValueError(expected)
        return tuple(value)

    return parse


_paths = _strings("a list of folder paths or globs (strings)")
_names = _strings("a list of experiment names (strings)")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a path to a CSV volume table")
    return value


def _mixing_time(value: Any) -> str | float | dict[str, float]:
    if isinstance(value, str) and value.strip():
        return value
    if is_number(value) and 0 < value <= 3600:
        return float(value)
    if isinstance(value, Mapping) and value and all(
            is_number(v) and 0 <= v <= 3600 for v in value.values()):
        return {str(k): float(v) for k, v in value.items()}
    raise ValueError("'auto', 'D8', 'vdlist', 'vclist*rotor', 'param:NAME', seconds "
                     "in (0, 3600], or a table experiment -> seconds (NMRPipe, Sparky)")


def _peak_sigma(value: Any) -> float | str:
    if is_number(value) and value > 0:
        return float(value)
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            if 0 < float(value.strip()[:-1]) <= 100:
                return value.strip()
        except ValueError:
            pass
    raise ValueError("a positive number (intensity units of the peak tables) or a "
                     "percentage of each file's largest volume, e.g. \"2%\"")


def _skip_checks(value: Any) -> tuple[str, ...]:
    from exsyfit.integrate.volumes import PLAUSIBILITY_CHECKS

    if not isinstance(value, list) or any(v not in PLAUSIBILITY_CHECKS for v in value):
        raise ValueError(f"a list of check names among {', '.join(PLAUSIBILITY_CHECKS)}")
    return tuple(value)


def _alternatives(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or any(a not in ALTERNATIVES for a in value):
        raise ValueError(f"a list of model variants among {', '.join(ALTERNATIVES)}")
    return tuple(value)


@dataclass(frozen=True)
class DataConfig:
    """Where the data are and how to read them (the ``[data]`` table)."""

    paths: tuple[str, ...] = option(
        (), kind="any", parse=_paths, help="Bruker expno folders / Varian .fid folders "
        "(globs allowed), relative to the config file")
    volumes: Path | None = option(
        None, kind="any", parse=_text, help="a volume table (CSV) to fit instead of reading "
        "spectra, relative to the config file")
    peak_tables: tuple[str, ...] = option(
        (), kind="any", parse=_strings("a list of peak-table files or globs (strings)"),
        help="NMRPipe .tab tables, Sparky peak lists or TopSpin peaklist.xml files, one file "
        "per spectrum, to fit instead of reading spectra (mixing time and temperature per "
        "file from data.mixing_time and temperature.per_experiment; a peaklist.xml inside "
        "its <expno>/pdata/<procno> takes them from the experiment where not given)")
    peak_sigma: float | str | None = option(
        None, kind="any", parse=_peak_sigma, help="uncertainty of a peak-table volume when "
        "the file gives none: a number in the files' intensity units, or \"2%\" of each "
        "file's largest volume")
    peak_tolerance_ppm: float = option(0.5, low=0, high=100, low_open=True,
                                       help="largest distance of a listed peak from its site "
                                       "shift in F1 and in F2, ppm")
    procno: int = option(1, low=1, high=99999, help="Bruker processing number to read")
    prefer: str = option("processed", choices=("processed", "raw"),
                         help="'processed' reads TopSpin's 2rr, 'raw' processes the ser/fid "
                         "here (see exsyfit info processing)")
    normalise_intensity: bool = option(True, help="divide every spectrum by scans and "
                                       "receiver gain")
    mixing_time: str | float = option(
        "auto", kind="any", parse=_mixing_time, help="where the mixing time is read: 'auto' "
        "(Bruker D8, Varian mixN/mix), 'D<n>', 'vdlist', 'vclist*rotor', 'param:NAME' "
        "(Varian), a number in seconds, or a table experiment -> seconds (files without a "
        "mixing time: NMRPipe, Sparky)")
    temperature_tolerance_K: float = option(2.0, low=0, high=100, low_open=True,
                                            help="spectra closer than this share a "
                                            "temperature, K")
    replicates: bool = option(False, help="allow several spectra with the same temperature "
                              "and mixing time")
    skip_checks: tuple[str, ...] = option(
        (), kind="any", parse=_skip_checks, help="volume-table plausibility checks to leave "
        "out: 'temperature_range' (100-1000 K), 'mixing_time_range' (at most 60 s), "
        "'mixing_time_count' (two or more per temperature), 'zero_volumes', "
        "'negative_diagonals' (a sign-flipped spectrum)")
    exclude: tuple[str, ...] = option(
        (), kind="any", parse=_names, help="experiments to leave out, by name (the folder "
        "as given or its last part, e.g. [\"12\"]), instead of editing volumes.csv")


@dataclass(frozen=True)
class ReportOptions:
    """Model comparison and report settings (the ``[report]`` table)."""

    compare_models: bool = option(True, help="also fit the free model beside a global law, "
                                  "for the Arrhenius points and the model comparison")
    alternatives: tuple[str, ...] | None = option(
        None, kind="any", parse=_alternatives, help="further model variants to fit and "
        "compare by LOO: 'free', 'spin_diffusion', 'no_spin_diffusion', 'first-order', "
        "'sphere', 'slab' (when not set: the global law with spin diffusion toggled; [] for "
        "none)")
    title: str = option("", help="title of the report")
    matrix_log: bool = option(True, help="write the single-mixing-time matrix-logarithm "
                              "cross-check (matrixlog.csv)")
    robustness: bool = option(True, help="'run' repeats the analysis under alternative "
                              "defensible choices (integration, regions, baseline, start) and "
                              "reports the spread as a systematic uncertainty")


@dataclass(frozen=True)
class Config:
    """A whole validated configuration: the typed options of every stage."""

    path: Path | None
    sites: tuple[SiteConfig, ...]
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    priors: PriorConfig = PriorConfig()
    sampler: SamplerConfig = SamplerConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    processing: ProcessingOptions = field(default_factory=ProcessingOptions)
    integration: IntegrationOptions = field(default_factory=IntegrationOptions)
    plots: PlotStyle = field(default_factory=PlotStyle)
    report: ReportOptions = ReportOptions()
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

    def input_folders(self) -> list[Path]:
        """The spectrometer data folders of ``[data] paths`` (the part of each pattern before
        its first wildcard), which are only ever read: output must not go inside them.  The
        config's own folder and its parents are not counted."""
        base = self.base_dir.resolve()
        out: list[Path] = []
        for pattern in self.data.paths:
            parts = Path(pattern).expanduser().parts
            fixed = [p for p in parts[:next((i for i, p in enumerate(parts)
                                              if set(p) & set("*?[")), len(parts))]]
            folder = (base / Path(*fixed)).resolve() if fixed else base
            if folder != base and folder not in base.parents and folder not in out:
                out.append(folder)
        return out


#: Every table of the config with the class that holds it (for ``exsyfit info config``).
SECTIONS: dict[str, type] = {
    "data": DataConfig, "temperature": TemperatureConfig, "model": ModelConfig,
    "priors": PriorConfig, "sampler": SamplerConfig, "diffusion": DiffusionConfig,
    "report": ReportOptions, "processing": ProcessingOptions,
    "integration": IntegrationOptions, "plots": PlotStyle,
}


def _check_keys(table: Mapping[str, Any], allowed: list[str], where: str, c: Problems) -> None:
    for key in table:
        if key not in allowed:
            c.unknown(where, key, allowed)


def _get(
    table: Mapping[str, Any], key: str, where: str, default: Any, check: Callable[[Any], bool],
    expected: str, c: Problems,
) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not check(value):
        c.add(f"{where}.{key}", value, expected)
        return default
    return value


def _positive(v: Any) -> bool:
    return is_number(v) and v > 0


def _number(kind: str, low: float, high: float, what: str = "") -> Callable[[Any], Any]:
    """A check for :func:`parse_table`: an integer or number within [low, high]."""

    def check(v: Any) -> Any:
        integer = isinstance(v, int) and not isinstance(v, bool)
        if not (is_number(v) and low <= v <= high) or (kind == "int" and not integer):
            noun = "an integer" if kind == "int" else "a number"
            raise ValueError(f"{noun} in [{low:g}, {high:g}]{what}")
        return int(v) if kind == "int" else float(v)

    return check


#: Site names appear in file names, column names, figure labels and TeX; these would break one.
_BAD_NAME_CHARACTERS = set('"$\\{}^`<>|*?#%&;=') | {chr(i) for i in range(32)}

def _fixed_or_prior(
    value: Any, key: str, c: Problems, lower: float, upper: float
) -> float | GaussianPrior | None:
    """A number (fixed) or {mean, sd} (prior) within (lower, upper)."""
    if is_number(value) and lower < value < upper:
        return float(value)
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("mean", "sd")]
        if extra:
            c.unknown(key, extra[0], ["mean", "sd"])
            return None
        mean, sd = value.get("mean"), value.get("sd")
        if is_number(mean) and lower < mean < upper and _positive(sd):
            return GaussianPrior(float(mean), float(sd))
    c.add(key, value, f"a number in ({lower:g}, {upper:g}) to fix it, or a prior "
          "{mean = ..., sd = ...} with sd > 0")
    return None


def _by_temperature(value: Any, key: str, c: Problems, example: str,
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
        if temperature in out:  # "263" and "263.0": one would silently replace the other
            c.add(f"{key}.{t}", t, f"one entry per temperature ({temperature:g} K given twice)")
            continue
        parsed = parse(item, f"{key}.{t}")
        if parsed is not None:
            out[temperature] = parsed
    return out


def _ppm_by_temperature(value: Any, key: str, c: Problems) -> dict[float, float]:
    """{"263" = 1.2, ...}: shift (ppm) of a site at given sample temperatures (K)."""

    def ppm(item: Any, where: str) -> float | None:
        if is_number(item):
            return float(item)
        c.add(where, item, "a shift in ppm")
        return None

    return _by_temperature(value, key, c, '{"263" = 1.21, "303" = 1.30}', ppm)


def _t1_by_temperature(value: Any, key: str, c: Problems,
                       ) -> dict[float, float | GaussianPrior]:
    """{"263" = 0.45, "303" = {mean = 0.5, sd = 0.05}}: T1 (s) fixed or with a prior per T."""
    return _by_temperature(value, key, c, '{"263" = 0.45, "303" = {mean = 0.5, sd = 0.05}}',
                           lambda item, where: _fixed_or_prior(item, where, c, 0, math.inf))


def _site_name_problem(name: str) -> str | None:
    if not name.strip() or name != name.strip():
        return "a name without leading or trailing spaces"
    if len(name) > 40:
        return "a name of at most 40 characters"
    if "<->" in name or any(ch in _BAD_NAME_CHARACTERS for ch in name):
        return ("a name of letters, digits, spaces and . , : ' + - _ ( ) [ ] / "
                "(no quotes, $, backslash, braces or '<->')")
    return None


def _parse_sites(raw: Any, c: Problems) -> tuple[SiteConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        c.add("sites", raw, "at least two tables [sites.<name>] with a ppm key each")
        return ()
    sites = []
    allowed = ["ppm", "population", "T1_s", "start_magnetisation", "ppm_by_temperature",
               "T1_s_by_temperature"]
    for name, table in raw.items():
        where = f"sites.{name}"
        bad_name = _site_name_problem(str(name))
        if bad_name:
            c.add("sites", str(name), f"a site name: {bad_name}")
            continue
        if not isinstance(table, dict):
            c.add(where, table, "a table with at least 'ppm'")
            continue
        _check_keys(table, allowed, where, c)
        if "ppm" not in table:
            c.add(f"{where}.ppm", None, "the chemical shift of the site's diagonal peak, ppm")
            continue
        ppm = _get(table, "ppm", where, float("nan"), lambda v: is_number(v) and abs(v) <= 1e5,
                   "a number in [-1e+05, 1e+05] (ppm)", c)
        population = None
        if "population" in table:
            population = _fixed_or_prior(table["population"], f"{where}.population", c, 0, 1)
        t1 = None
        if "T1_s" in table:
            t1 = _fixed_or_prior(table["T1_s"], f"{where}.T1_s", c, 0, 1e6)
        m0 = _get(table, "start_magnetisation", where, None,
                  lambda v: _positive(v) and v < 1e100, "a positive number", c)
        by_t = _ppm_by_temperature(table.get("ppm_by_temperature", {}),
                                   f"{where}.ppm_by_temperature", c)
        t1_by_t = _t1_by_temperature(table.get("T1_s_by_temperature", {}),
                                     f"{where}.T1_s_by_temperature", c)
        sites.append(SiteConfig(str(name), float(ppm), population, t1, m0, by_t, t1_by_t))
    if len(sites) < 2 and not c:
        c.add("sites", list(raw), "at least two sites")
    return tuple(sites)


def _parse_pairs(raw: Any, names: tuple[str, ...], c: Problems) -> tuple[tuple[int, int], ...]:
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



def _section(raw: Mapping[str, Any], name: str, c: Problems) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        c.add(name, value, "a table")
        return {}
    return value


def _parse_data(raw: Mapping[str, Any], base: Path, c: Problems) -> DataConfig:
    d = _section(raw, "data", c)
    data = parse_table(DataConfig, d, "data", problems=c)
    if data.peak_tables and (data.paths or data.volumes is not None):
        c.add("data", "peak_tables with paths or volumes",
              "only one of data.paths, data.volumes and data.peak_tables")
    if not data.paths and data.volumes is None and not data.peak_tables:
        if "paths" in d:
            if d["paths"] == []:  # other bad values are named by the table check
                c.add("data.paths", d["paths"], "at least one folder path or glob (or "
                      "data.volumes, a CSV table)")
        elif "volumes" not in d and "peak_tables" not in d:
            c.add("data", "neither paths nor volumes",
                  "data.paths (spectrometer folders) or data.volumes (a CSV table)")
    if data.paths and data.volumes is not None:
        c.add("data", "both paths and volumes", "only one of data.paths and data.volumes")
    if data.volumes is not None:
        data = dataclasses.replace(data, volumes=base / data.volumes)
    return data


def _one_of(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(" or ".join(repr(o) for o in options))
        return v

    return check


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def _parse_model(raw: Mapping[str, Any], names: tuple[str, ...], c: Problems) -> ModelConfig:
    m = _section(raw, "model", c)
    checks = {
        "temperature_model": _one_of(*TEMPERATURE_MODELS),
        "exchange": lambda v: (),  # checked below against the site names
        "populations": _one_of("shared", "per_temperature"),
        "T1": _one_of("per_temperature", "shared"),
        "start": _one_of("equilibrium", "given", "fitted"),
        "spin_diffusion": _flag,
        "fractional_error": _flag,
        "reference_temperature_K": _number("float", 10, 5000, " K"),
        "temperature_uncertainty": _flag,
        "transport": _one_of("first-order", "sphere", "slab"),
    }
    model = parse_table(ModelConfig, m, "model", checks=checks, problems=c)
    return dataclasses.replace(model, exchange=_parse_pairs(m.get("exchange"), names, c))


#: Range each prior's bounds must lie in: [floor, ceiling] (floor exclusive on a log scale).
_PRIOR_RANGES: dict[str, tuple[float, float, bool]] = {
    "k_ex_per_s": (1e-12, 1e15, True),
    "Ea_eV": (-5.0, 20.0, False),
    "dH_kJ_per_mol": (-500.0, 2000.0, False),
    "T1_s": (1e-9, 1e6, True),
    "spin_diffusion_per_s": (0.0, 1e9, False),
    "fractional_error": (1e-9, 10.0, True),
}


def _prior_bounds(key: str) -> Callable[[Any], tuple[float, float]]:
    floor, ceiling, log_scale = _PRIOR_RANGES[key]

    def check(v: Any) -> tuple[float, float]:
        if not (isinstance(v, list) and len(v) == 2 and all(is_number(x) for x in v)
                and v[0] < v[1] and floor <= v[0] and v[1] <= ceiling):
            scale = " (log-uniform, so low > 0)" if log_scale else ""
            raise ValueError(f"[low, high] with low < high, within [{floor:g}, {ceiling:g}]"
                             f"{scale}")
        return (float(v[0]), float(v[1]))

    return check


def _parse_priors(raw: Mapping[str, Any], c: Problems) -> PriorConfig:
    checks = {key: _prior_bounds(key) for key in _PRIOR_RANGES}
    return parse_table(PriorConfig, _section(raw, "priors", c), "priors", checks=checks,
                       problems=c)


def _parse_sampler(raw: Mapping[str, Any], c: Problems) -> SamplerConfig:
    s = _section(raw, "sampler", c)
    checks = {
        "seed": _number("int", 0, 2**32 - 1),
        "walkers": _number("int", 4, 10_000),
        "steps": _number("int", 1, 10_000_000),
        "max_steps": _number("int", 1, 10_000_000),
        "tau_multiple": _number("float", 1, 10_000),
        "checkpoint_every": _number("int", 1, 10_000_000),
    }
    sampler = parse_table(SamplerConfig, s, "sampler", checks=checks, problems=c)
    length = sampler.steps if sampler.steps is not None else sampler.max_steps
    walkers = sampler.walkers if sampler.walkers is not None else 32
    if walkers * length > MAX_CHAIN_SAMPLES:
        key = "walkers" if "walkers" in s else ("steps" if "steps" in s else "max_steps")
        c.add(f"sampler.{key}", s.get(key),
              f"walkers x steps <= {MAX_CHAIN_SAMPLES:,} (the chain is held in memory; "
              f"found {walkers:,} x {length:,})")
    return sampler


def _parse_temperature(raw: Mapping[str, Any], c: Problems) -> TemperatureConfig:
    return parse_table(TemperatureConfig, _section(raw, "temperature", c), "temperature",
                       problems=c)


def _parse_report(raw: Mapping[str, Any], c: Problems) -> ReportOptions:
    return parse_table(ReportOptions, _section(raw, "report", c), "report", problems=c)


def _parse_diffusion(raw: Mapping[str, Any], c: Problems) -> DiffusionConfig:
    checks = {
        "geometry": _one_of("sphere", "slab"),
        "length_nm": _number("float", 1e-3, 1e9, " (nm; particle radius or layer "
                             "half-thickness)"),
        "length_sd_nm": _number("float", 0, 1e9, " (nm)"),
    }
    return parse_table(DiffusionConfig, _section(raw, "diffusion", c), "diffusion",
                       checks=checks, problems=c)


def _stage_options(raw: Mapping[str, Any], name: str, cls: type, c: Problems) -> Any:
    """Options of one stage built by the class's own ``from_dict`` (problems collected)."""
    table = _section(raw, name, c)
    built = c.collect(lambda: cls.from_dict(table, where=f"[{name}]"))
    return built if built is not None else cls()


def config_from_dict(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document and build a :class:`Config` with every stage's options.

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
    c = Problems(str(path) if path is not None else "config")
    if not isinstance(raw, Mapping):
        c.add("", raw, "a TOML document")
        c.raise_if_any()
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
        processing=_stage_options(raw, "processing", ProcessingOptions, c),
        integration=_stage_options(raw, "integration", IntegrationOptions, c),
        plots=_stage_options(raw, "plots", PlotStyle, c),
        report=_parse_report(raw, c),
        diffusion=_parse_diffusion(raw, c),
        raw=dict(raw),
    )
    if cfg.model.start == "given":
        missing = [s.name for s in sites if s.start_magnetisation is None]
        if missing:
            c.add(f"sites.{missing[0]}.start_magnetisation", None,
                  "a starting magnetisation for every site when model.start = 'given'")
    c.raise_if_any()
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file (UTF-8, a byte-order mark is accepted).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, not valid TOML, or has invalid settings (all
        listed).
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a TOML config file (e.g. "
                          f"{path / 'config.toml'})")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: is not a regular file; expected a TOML config file")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text: byte {exc.start}); "
                          "expected a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc}); expected a readable "
                          "config file") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(raw, path)
