"""Text for ``exsyfit info``: models and configuration keys, generated from the code."""

from __future__ import annotations

import dataclasses
import inspect
import textwrap

from exsyfit.config import KEY_HELP

MODELS_TEXT = """\
Exchange model (exsyfit.kinetics.exchange)
{model}

Parameters and likelihood (exsyfit.fit.likelihood)
{likelihood}

Temperature laws (exsyfit.kinetics.laws)
{kinetics}
"""


def _options_text(cls: type, title: str) -> str:
    lines = [title, "-" * len(title), "Defaults:"]
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
        lines.append(f"  {f.name} = {default!r}")
    doc = inspect.getdoc(cls) or ""
    if doc:
        lines += ["", doc]
    return "\n".join(lines)


def _config_text() -> str:
    lines = ["Configuration keys", "------------------"]
    for key, text in KEY_HELP.items():
        lines.append(f"  {key}")
        lines += textwrap.wrap(text, 90, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def describe(topic: str = "all") -> str:
    """Help text for ``topic``: all, config, models, processing, integration or plots."""
    from exsyfit.fit import likelihood
    from exsyfit.kinetics import exchange as model
    from exsyfit.kinetics import laws as kinetics

    parts = []
    if topic in ("all", "models"):
        parts.append(MODELS_TEXT.format(model=inspect.getdoc(model),
                                        likelihood=inspect.getdoc(likelihood),
                                        kinetics=inspect.getdoc(kinetics)))
    if topic in ("all", "config"):
        parts.append(_config_text())
    if topic in ("all", "processing"):
        from exsyfit.processing.transforms import ProcessingOptions

        parts.append(_options_text(ProcessingOptions, "[processing] (raw data only)"))
    if topic in ("all", "integration"):
        from exsyfit.integrate.options import IntegrationOptions

        parts.append(_options_text(IntegrationOptions, "[integration]"))
    if topic in ("all", "plots"):
        from exsyfit.output.figures import PlotStyle

        parts.append(_options_text(PlotStyle, "[plots]"))
    return "\n\n".join(parts)
