"""The blocks of a report and their rendering as Markdown and as a self-contained HTML page.

A report is a list of blocks (headings, paragraphs, warnings, tables, code, images); both
renderings come from the same list, so they hold the same numbers.  Every text is escaped for
its format: user text (site names, file names, warnings, the config) can hold Markdown or HTML
characters without changing the page.  HTML images are embedded as ``data:`` URIs when the
block carries one, so report.html opens offline and can be e-mailed on its own.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exsyfit import __version__

__all__ = ["Heading", "Para", "Warning_", "Table", "Code", "Image", "Block", "fmt",
           "md_escape", "to_markdown", "to_html"]


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1-3)."""

    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Warning_:
    """A warning shown in a highlighted box."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of text cells with an optional caption."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Code:
    """Preformatted text (the config as run)."""

    text: str
    language: str = ""


@dataclass(frozen=True)
class Image:
    """A figure: its path relative to the report, a caption and optionally a data URI."""

    path: str
    caption: str
    data_uri: str | None = None


Block = Heading | Para | Warning_ | Table | Code | Image


def fmt(value: Any) -> str:
    """Format a number with four significant digits (``'nan'`` for non-finite values)."""
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.4g}"





_MD_ALWAYS = re.compile(r"([\\`*$~])")
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_LINK = re.compile(r"\](?=[(\[:])")
_MD_LINE_START = re.compile(r"^(\s*)([#>]|[-+*](?=\s)|\d+[.)](?=\s))")


def md_escape(text: str, cell: bool = False) -> str:
    """Escape text so Markdown shows it literally, on one line.

    Backslash-escapes what Markdown would act on anywhere (backslash, backtick, ``*``, ``$``,
    ``~``, ``_`` at a word boundary, ``<`` before a tag name, ``]`` before a link target) and,
    at the start of a paragraph, heading, quote and list markers; in a table ``cell`` also
    ``|``.  Plain numbers, intervals ``[a, b]`` and names like ``k_ex`` stay readable.
    """
    out = _MD_ALWAYS.sub(r"\\\1", " ".join(str(text).split()))
    out = _MD_UNDERSCORE.sub(r"\\_", out)
    out = _MD_TAG.sub(r"\\<", out)
    out = _MD_LINK.sub(r"\\]", out)
    if cell:
        return out.replace("|", r"\|")
    def escape_marker(m: re.Match[str]) -> str:
        marker = m.group(2)
        if marker[0].isdigit():  # an ordered-list marker: escape its '.' or ')'
            return m.group(1) + marker[:-1] + "\\" + marker[-1]
        return m.group(1) + "\\" + marker

    return _MD_LINE_START.sub(escape_marker, out)


def _md_cell(text: str) -> str:
    return md_escape(text, cell=True)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def to_markdown(blocks: Sequence[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + md_escape(b.text))
        elif isinstance(b, Para):
            out.append(md_escape(b.text))
        elif isinstance(b, Warning_):
            out.append(f"> **Warning:** {md_escape(b.text)}")
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.headers) + " |",
                     "|" + "|".join("---" for _ in b.headers) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            if b.caption:
                lines.append("")
                lines.append(f"*{md_escape(b.caption)}*")
            out.append("\n".join(lines))
        elif isinstance(b, Code):
            fence = _fence(b.text)
            out.append(f"{fence}{b.language}\n{b.text.rstrip()}\n{fence}")
        elif isinstance(b, Image):
            target = Path(b.path).as_posix().replace(" ", "%20").replace(")", "%29")
            out.append(f"![{md_escape(Path(b.path).stem)}]({target})\n\n"
                       f"*{md_escape(b.caption)}*")
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:60em;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2} caption{caption-side:bottom;text-align:left;font-style:italic;
color:#555;padding-top:.3em}
.warning{background:#fff3cd;border-left:5px solid #d55e00;padding:.6em 1em;margin:1em 0}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.88em}
figure{margin:1.2em 0} figure img{max-width:100%;height:auto}
figcaption{font-style:italic;color:#555}
""".strip()


def to_html(blocks: Sequence[Block], title: str = "exsyfit report") -> str:
    """Render blocks as a self-contained HTML page (inline CSS; images by path or inlined)."""
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Warning_):
            body.append(f'<div class="warning"><strong>Warning:</strong> {esc(b.text)}</div>')
        elif isinstance(b, Table):
            cap = f"<caption>{esc(b.caption)}</caption>" if b.caption else ""
            head = "".join(f"<th>{esc(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                           for r in b.rows)
            body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
                        "</table>")
        elif isinstance(b, Code):
            body.append(f"<pre><code>{esc(b.text)}</code></pre>")
        elif isinstance(b, Image):
            src = b.data_uri or b.path
            body.append(f'<figure><img src="{esc(src)}" alt="{esc(b.caption)}">'
                        f"<figcaption>{esc(b.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"generator\" content=\"exsyfit {esc(__version__)}\">\n"
            f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")

