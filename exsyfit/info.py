"""Text for ``exsyfit info``: the models and every configuration key, for users.

The keys, their defaults and what a valid value looks like come from the option classes the
config builds (:data:`exsyfit.config.SECTIONS`, through :func:`exsyfit.settings.describe_table`),
so the help cannot drift from the validation.
"""

from __future__ import annotations

import inspect
import re
import textwrap

from exsyfit.config import KEY_HELP, SECTIONS
from exsyfit.settings import describe_table

TOPICS = ("all", "config", "models", "processing", "integration", "plots")

MODELS_TEXT = """\
Models
======

Exchange during the mixing time
  Each site i has a population p_i (summing to 1) and a longitudinal relaxation rate
  R1_i = 1/T1_i.  During the mixing time t_m magnetisation moves between sites with
  first-order rates; detailed balance (p_i k_ij = p_j k_ji) is built in, so each exchanging
  pair A<->B carries one exchange rate k_ex = k_AB + k_BA (two sites: k_AB = k_ex p_B).
  The volume of the peak at F1 = site j, F2 = site i is proportional to
  [exp(-L t_m)]_ij M_j(0), where L holds the rates and R1 (Macura & Ernst 1980; Perrin &
  Dwyer 1990) and M_j(0) = p_j for an equilibrium start (model.start).  With
  model.spin_diffusion a temperature-independent rate is added to every pair's k_ex.

Diffusion-limited uptake (model.transport = 'sphere' or 'slab')
  Ions enter particles by diffusion instead of a single first-order step; k_ex then
  describes the slowest uptake mode, and with diffusion.length_nm the diffusion
  coefficient D (cm^2/s) is reported.

Temperature laws (model.temperature_model)
  free       one k_ex per pair and temperature.
  arrhenius  k_ex = A exp(-Ea / (k_B T)), Ea in eV.
  eyring     k_ex = (k_B T / h) exp(dS/R) exp(-dH/(R T)), dH in kJ/mol, dS in J/(mol K).
  The laws are sampled as (slope, ln k_ex at a reference temperature inside the data),
  which keeps the two nearly uncorrelated; ln A and dS follow from them.

Errors and priors
  Volumes have independent Gaussian errors sigma (from the spectrum noise, or the table's
  sigma column), optionally plus a fraction f of each volume (model.fractional_error).
  One intensity scale per temperature is integrated out.  Rates and T1 have log-uniform
  or uniform priors between the [priors] bounds; populations are uniform unless fixed or
  given {mean, sd}; sample temperatures may carry their uncertainty
  (temperature.sigma_K) into Ea.

Sampling
  The posterior is sampled by an ensemble sampler with differential-evolution moves
  until the chain is longer than sampler.tau_multiple autocorrelation times (or for
  sampler.steps steps); medians and 2.5 / 16 / 84 / 97.5 % quantiles are reported
  (in summary.csv and summary_law.csv the columns q025, q16, q84, q975: q16 to q84 is the
  68 % interval, q025 to q975 the 95 % interval).
  Variants (the free model, with or without spin diffusion) are compared by leave-one-out
  cross-validation (LOO).
"""

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj):`~?(?:[\w.]*\.)?([^`]+)`")


def _clean(text: str) -> str:
    """Docstring text as plain prose: no Sphinx roles or double backquotes."""
    text = _ROLE.sub(r"\1", text)
    text = re.sub(r"``([\"'][^`]*[\"'])``", r"\1", text)
    text = text.replace("``None``", "not set")
    return text.replace("``", "'").replace("`", "'")


def _docstring_help(cls: type) -> dict[str, str]:
    """key -> help from the numpydoc ``Parameters`` section of an options class."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    for line in match.group(1).splitlines():
        if line and not line.startswith(" "):
            names = [n.strip() for n in line.split(":")[0].split(",")]
            for name in names:
                out[name] = ""
        elif names:
            for name in names:
                out[name] = (out[name] + " " + line.strip()).strip()
    return {k: _clean(v) for k, v in out.items()}


def _section_text(name: str, title: str | None = None) -> str:
    cls = SECTIONS[name]
    fallback = {k.split(".", 1)[1]: v for k, v in KEY_HELP.items() if k.startswith(name + ".")}
    fallback = {**_docstring_help(cls), **fallback}
    heading = title or f"[{name}]"
    lines = [heading, "-" * len(heading)]
    for key, default, text in describe_table(cls, name, fallback):
        lines.append(f"  {key} = {default}" if default != "not set" else f"  {key} (not set)")
        if text:
            lines += textwrap.wrap(text, 88, initial_indent="      ",
                                   subsequent_indent="      ")
    return "\n".join(lines)


def _sites_text() -> str:
    lines = ["[sites.<name>] (one table per site, at least two)", "-" * 50]
    for key, text in KEY_HELP.items():
        if key.startswith("sites."):
            lines.append(f"  {key}")
            lines += textwrap.wrap(text, 88, initial_indent="      ",
                                   subsequent_indent="      ")
    return "\n".join(lines)


def _config_text() -> str:
    parts = ["Configuration keys (TOML; relative paths are relative to the config file)",
             _section_text("data"), _sites_text()]
    parts += [_section_text(name) for name in ("model", "priors", "sampler", "temperature",
                                                "diffusion", "report")]
    parts.append("[processing], [integration], [plots]: see exsyfit info processing / "
                 "integration / plots")
    return "\n\n".join(parts)


def describe(topic: str = "all") -> str:
    """Help text for ``topic``: all, config, models, processing, integration or plots."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    parts = []
    if topic in ("all", "models"):
        parts.append(MODELS_TEXT.rstrip())
    if topic in ("all", "config"):
        parts.append(_config_text())
    if topic in ("all", "processing"):
        parts.append(_section_text("processing", "[processing] (raw data only: "
                                   "data.prefer = 'raw' or no 2rr)")
                     + "\n  Settings not set are taken from the processing parameters stored "
                     "with the data\n  (Bruker procs/proc2s, Varian procpar); 'file' says so "
                     "explicitly.")
    if topic in ("all", "integration"):
        parts.append(_section_text("integration"))
    if topic in ("all", "plots"):
        parts.append(_section_text("plots"))
    return "\n\n".join(parts)
