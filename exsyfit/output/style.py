"""Figure style (the ``[plots]`` table), palettes, new figures and saving them to files.

Colours follow the Okabe-Ito colour-blind-safe palette by default.  :func:`save_figure` writes
every format of a :class:`PlotStyle` through :func:`exsyfit.files.atomic_path` (a unique
temporary file renamed over the target, readable as the umask allows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exsyfit.files import atomic_path, output_error
from exsyfit.settings import parse_table

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PlotStyle", "OKABE_ITO", "TOL_BRIGHT", "MARKERS", "new_figure", "save_figure",
           "safe_name"]

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
"""Okabe & Ito (2008) colour-blind-safe palette (blue first; yellow late, it is pale)."""
TOL_BRIGHT = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
"""Paul Tol's 'bright' qualitative palette (colour-blind safe)."""
PALETTES = {"okabe-ito": OKABE_ITO, "tol-bright": TOL_BRIGHT}
WIDTHS_IN = {"single": 3.3, "double": 7.0}
FORMATS = ("png", "pdf", "svg", "eps")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")


# --------------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotStyle:
    """Figure settings (the ``[plots]`` table of the config).

    Parameters
    ----------
    width : {"single", "double"} or float
        Figure width: one journal column (3.3 in), two columns (7.0 in) or inches.
    font_size : float
        Base font size, pt (tick labels and legends are 1 pt smaller).
    formats : tuple of str
        File formats written by :func:`save_figure` (``png``, ``pdf``, ``svg``, ``eps``).
    dpi : int
        Resolution of raster formats, dots per inch.
    palette : str or tuple of str
        ``"okabe-ito"`` (default), ``"tol-bright"`` or a list of matplotlib colours.
    arrhenius_axis : {"ln", "log10"}
        Natural or decadic logarithm of the rate on Arrhenius/Eyring plots.
    eyring : bool
        Also write the Eyring figure for Arrhenius fits (always written for Eyring fits).
    mixing_time_axis : {"auto", "linear", "log"}
        Mixing-time axis of build-up figures; ``auto`` is logarithmic when the longest mixing
        time is 20 or more times the shortest.
    """

    width: str | float = "single"
    font_size: float = 8.0
    formats: tuple[str, ...] = ("png", "pdf")
    dpi: int = 300
    palette: str | tuple[str, ...] = "okabe-ito"
    arrhenius_axis: str = "ln"
    eyring: bool = False
    mixing_time_axis: str = "auto"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "[plots]") -> PlotStyle:
        """Build a style from a config table, reporting every problem in one ConfigError.

        Parameters
        ----------
        d : mapping
            Key/value pairs (the parsed ``[plots]`` TOML table).
        where : str
            Path of the table in the config, used in messages.

        Raises
        ------
        ConfigError
            Unknown keys (with the nearest valid key suggested) or invalid values, each named
            by its key path, e.g. ``[plots.width]``.
        """
        return parse_table(cls, d, where.strip("[]"), checks=_STYLE_CHECKS)

    @property
    def width_in(self) -> float:
        """Figure width, inches."""
        if isinstance(self.width, str):
            return WIDTHS_IN[self.width]
        return float(self.width)

    @property
    def colours(self) -> tuple[str, ...]:
        """The palette as a tuple of colours."""
        if isinstance(self.palette, str):
            return PALETTES[self.palette]
        return tuple(self.palette)

    def colour(self, k: int) -> str:
        """k-th colour of the palette (cycling)."""
        c = self.colours
        return c[k % len(c)]

    def rc(self) -> dict[str, Any]:
        """matplotlib rcParams for figures in this style."""
        small = self.font_size - 1.0
        return {
            "font.size": self.font_size,
            "axes.labelsize": self.font_size,
            "axes.titlesize": self.font_size,
            "xtick.labelsize": small,
            "ytick.labelsize": small,
            "legend.fontsize": small,
            "legend.title_fontsize": small,
            "figure.titlesize": self.font_size + 1,
            "axes.linewidth": 0.7,
            "lines.linewidth": 1.2,
            "lines.markersize": 3.5,
            "xtick.major.width": 0.7,
            "ytick.major.width": 0.7,
            "xtick.direction": "in",
            "ytick.direction": "in",
            "xtick.top": False,
            "ytick.right": True,
            "legend.frameon": False,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "svg.fonttype": "none",
            "savefig.dpi": self.dpi,
            "mathtext.default": "regular",
        }


def _check_width(v: Any) -> str | float:
    if isinstance(v, str) and v in WIDTHS_IN:
        return v
    if isinstance(v, int | float) and not isinstance(v, bool) and 0.5 <= v <= 20:
        return float(v)
    raise ValueError("'single' (3.3 in), 'double' (7.0 in) or a width in inches (0.5-20)")


def _check_font(v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool) and 4 <= v <= 30:
        return float(v)
    raise ValueError("a font size in pt between 4 and 30 (7-9 pt is legible in print)")


def _check_formats(v: Any) -> tuple[str, ...]:
    items = [v] if isinstance(v, str) else v
    if (isinstance(items, list | tuple) and items
            and all(isinstance(x, str) and x.lower() in FORMATS for x in items)):
        return tuple(dict.fromkeys(x.lower() for x in items))
    raise ValueError(f"a non-empty list of formats from {', '.join(FORMATS)}")


def _check_dpi(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and 50 <= v <= 2400:
        return int(v)
    raise ValueError("an integer resolution between 50 and 2400 dpi")


def _check_palette(v: Any) -> str | tuple[str, ...]:
    from matplotlib.colors import is_color_like

    if isinstance(v, str) and v.lower() in PALETTES:
        return v.lower()
    if isinstance(v, list | tuple) and len(v) >= 2 and all(
            isinstance(c, str) and is_color_like(c) for c in v):
        return tuple(v)
    raise ValueError(f"{' or '.join(repr(p) for p in PALETTES)}, or a list of at least two "
                     "matplotlib colours")


def _check_choice(options: Sequence[str]) -> Any:
    def check(v: Any) -> str:
        if isinstance(v, str) and v in options:
            return v
        raise ValueError(" or ".join(repr(o) for o in options))
    return check


def _check_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError("true or false")


_STYLE_CHECKS = {
    "width": _check_width,
    "font_size": _check_font,
    "formats": _check_formats,
    "dpi": _check_dpi,
    "palette": _check_palette,
    "arrhenius_axis": _check_choice(("ln", "log10")),
    "eyring": _check_bool,
    "mixing_time_axis": _check_choice(("auto", "linear", "log")),
}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def pyplot() -> Any:
    """matplotlib.pyplot, imported on first use."""
    import matplotlib.pyplot as plt

    return plt


def new_figure(style: PlotStyle, height_in: float, width_in: float | None = None,
                layout: str | None = "constrained") -> Figure:
    """A pyplot figure in the style (width in inches, default the style's width)."""
    import matplotlib as mpl

    with mpl.rc_context(style.rc()):
        return pyplot().figure(figsize=(width_in or style.width_in, height_in), layout=layout)



def save_figure(fig: Figure, path_stem: str | Path, style: PlotStyle | None = None,
                ) -> list[Path]:
    """Write a figure in every format of the style, atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path_stem : path
        File name without extension (``.../figures/arrhenius``); its folder is created.
    style : PlotStyle, optional
        Formats and raster resolution (default PNG at 300 dpi and vector PDF).

    Returns
    -------
    list of Path
        The files written, in the order of ``style.formats``.

    Raises
    ------
    exsyfit.errors.OutputError
        When the folder cannot be created or written.
    """
    import matplotlib as mpl

    from exsyfit import __version__

    style = style or PlotStyle()
    stem = Path(path_stem)
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(stem.parent, exc) from exc
    tight = fig.get_layout_engine() is None
    written = []
    for fmt in style.formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        meta: dict[str, Any] = {"Creator": f"exsyfit {__version__}"}
        if fmt == "pdf":
            meta["CreationDate"] = None
        elif fmt == "svg":
            meta = {"Creator": f"exsyfit {__version__}", "Date": None}
        elif fmt == "eps":
            meta = {}
        with atomic_path(path) as tmp, mpl.rc_context(style.rc()):
            fig.savefig(tmp, format=fmt, dpi=style.dpi, metadata=meta,
                        bbox_inches="tight" if tight else None, pad_inches=0.03)
        written.append(path)
    return written


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, ``-_.``; at most 60 characters)."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))
    return keep.strip("._")[:60] or "spectrum"

