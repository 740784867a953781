"""Tables of settings: one validator for every options class, driven by its dataclass fields.

An options class declares each setting with :func:`option`: its default, a line of help for
the user, and the rule its value must follow (kind, allowed values, bounds, or a parser of
its own).  :func:`parse_table` builds the class from a TOML table and reports every problem at
once, each as ``[table.key]: found <value>; expected <rule>``; unknown keys are named with the
nearest valid key.  :func:`describe_table` turns the same fields into the help text of
``exsyfit info``.

Classes whose fields carry no rule can pass ``checks`` (key -> callable returning the
normalised value or raising ``ValueError("expected ...")``) and still get the same messages.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from exsyfit.errors import ConfigError

__all__ = ["Rule", "option", "rule_of", "Problems", "parse_table", "check_value", "is_number",
           "format_value", "describe_table", "problem_lines"]

T = TypeVar("T")
_KEY = "exsyfit"
_KINDS = ("bool", "int", "float", "str", "choice", "any")


@dataclass(frozen=True)
class Rule:
    """What a setting may hold, and its help text.

    Parameters
    ----------
    help : str
        One line (or a few) for the user: meaning and unit.
    kind : {"bool", "int", "float", "str", "choice", "any"}
        Type of the value; ``int`` accepts whole numbers only, ``float`` any finite number.
    choices : tuple of str
        Allowed strings for ``kind = "choice"`` (matched case-insensitively).
    low, high : float or None
        Bounds of a number (inclusive unless ``low_open`` / ``high_open``).
    nullable : bool
        ``None`` (left out) is a valid value.
    null_words : tuple of str
        Strings that stand for ``None`` (e.g. ``"file"``: take the value from the data file).
    parse : callable or None
        Custom parser: value -> normalised value, raising ``ValueError("expected ...")``.
    expected : str
        Text after "expected" in messages; generated from the rule when empty.
    """

    help: str = ""
    kind: str = "any"
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    nullable: bool = False
    null_words: tuple[str, ...] = ()
    parse: Callable[[Any], Any] | None = None
    expected: str = ""

    def expected_text(self) -> str:
        """What a valid value looks like, in words."""
        if self.expected:
            return self.expected
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = " or ".join(repr(c) for c in self.choices)
        elif self.kind == "str":
            text = "a string"
        elif self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            text = noun + _bounds_text(self)
        else:
            text = "a valid value"
        extra = [repr(w) for w in self.null_words]
        return f"{text} (or {' or '.join(extra)})" if extra else text


def _bounds_text(rule: Rule) -> str:
    lo, hi = rule.low, rule.high
    if lo is not None and hi is not None:
        left = "(" if rule.low_open else "["
        right = ")" if rule.high_open else "]"
        return f" in {left}{_num(lo)}, {_num(hi)}{right}"
    if lo is not None:
        return f" {'>' if rule.low_open else '>='} {_num(lo)}"
    if hi is not None:
        return f" {'<' if rule.high_open else '<='} {_num(hi)}"
    return ""


def _num(x: float) -> str:
    return f"{x:g}"


def option(default: Any = dataclasses.MISSING, *, help: str,  # noqa: A002 - the natural name
           default_factory: Any = dataclasses.MISSING, kind: str | None = None,
           **rule: Any) -> Any:
    """A dataclass field with a default, help text and a validation rule (see :class:`Rule`).

    ``kind`` is inferred from the default when not given (bool, int, float, str; a default of
    ``None`` makes the setting nullable).
    """
    if kind is None:
        if "choices" in rule:
            kind = "choice"
        elif isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, int):
            kind = "int"
        elif isinstance(default, float):
            kind = "float"
        elif isinstance(default, str):
            kind = "str"
        else:
            kind = "any"
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if default is None:
        rule.setdefault("nullable", True)
    meta = {_KEY: Rule(help=help, kind=kind, **rule)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def rule_of(f: dataclasses.Field) -> Rule | None:
    """The :class:`Rule` of a field declared with :func:`option`, else None."""
    return f.metadata.get(_KEY)


def format_value(value: Any) -> str:
    """A value as the user wrote it in TOML (``nan``, ``1e+12``, ``'abc'``, ``[1, 2]``)."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10**15 else f"{float(value):g}"
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) and abs(value) < 1e15 else f"{value:g}"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(format_value(v) for v in value) + "]"
    elif value is None:
        text = "nothing"
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def check_value(rule: Rule, value: Any) -> Any:
    """The normalised value, or ``ValueError`` whose text is what was expected."""
    if isinstance(value, str) and value.strip().lower() in rule.null_words:
        return None
    if value is None and rule.nullable:
        return None
    if rule.parse is not None:
        try:
            return rule.parse(value)
        except (TypeError, ValueError, OverflowError) as exc:
            text = str(exc)
            raise ValueError(text.removeprefix("expected ") or rule.expected_text()) from None
    expected = rule.expected_text()
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(expected)
        return value
    if rule.kind == "choice":
        if not isinstance(value, str) or value.strip().lower() not in rule.choices:
            raise ValueError(expected)
        return value.strip().lower()
    if rule.kind == "str":
        if not isinstance(value, str):
            raise ValueError(expected)
        return value
    if rule.kind in ("int", "float"):
        if not is_number(value) or (rule.kind == "int" and not isinstance(value, int)):
            raise ValueError(expected)
        lo, hi = rule.low, rule.high
        if lo is not None and (value < lo or (rule.low_open and value == lo)):
            raise ValueError(expected)
        if hi is not None and (value > hi or (rule.high_open and value == hi)):
            raise ValueError(expected)
        return int(value) if rule.kind == "int" else float(value)
    return value


class Problems:
    """Every problem of a config, to be reported together in one :class:`ConfigError`."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.items: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, key: str, found: Any, expected: str) -> None:
        """``[key]: found <value>; expected <expected>``."""
        self.items.append(f"[{key}]: found {format_value(found)}; expected {expected}")

    def unknown(self, where: str, key: Any, allowed: Sequence[str]) -> None:
        """An unknown key, with the nearest valid one."""
        close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        full = f"{where}.{key}" if where else str(key)
        self.items.append(f"[{full}]: unknown key{hint}; valid keys here: "
                          f"{', '.join(allowed)}")

    def collect(self, build: Callable[[], T]) -> T | None:
        """Call ``build``; on :class:`ConfigError` keep its problems and return None."""
        try:
            return build()
        except ConfigError as exc:
            self.items += problem_lines(str(exc))
            return None

    def error(self) -> ConfigError:
        """The error listing every problem (one line when there is one)."""
        head = f"{self.source}: " if self.source else ""
        if len(self.items) == 1:
            return ConfigError(head + self.items[0])
        listing = "\n  ".join(self.items)
        return ConfigError(f"{head}{len(self.items)} problems:\n  {listing}")

    def raise_if_any(self) -> None:
        """Raise :meth:`error` when a problem was found."""
        if self.items:
            raise self.error()


def problem_lines(message: str) -> list[str]:
    """The single problems of a message written by :meth:`Problems.error`."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines = lines[1:]
    return lines


def parse_table(cls: type[T], table: Any, where: str, *,
                checks: Mapping[str, Callable[[Any], Any]] | None = None,
                problems: Problems | None = None, paths: Mapping[str, str] | None = None,
                ) -> T:
    """Build ``cls`` from a table of settings, validating every key against the field rules.

    Parameters
    ----------
    cls : dataclass type
        The options class; its fields carry :func:`option` rules or are checked by
        ``checks``.
    table : mapping
        The TOML table.
    where : str
        Key path of the table in the config (``"processing"``), used in messages.
    checks : mapping, optional
        Parsers for fields without a rule (key -> callable raising ``ValueError``).
    problems : Problems, optional
        Collect problems here instead of raising; bad values are replaced by the defaults.
    paths : mapping, optional
        Key path to show for a key (for tables flattened from sub-tables).

    Raises
    ------
    ConfigError
        Listing every unknown key and every bad value (when ``problems`` is not given).
    """
    own = problems if problems is not None else Problems()
    if not isinstance(table, Mapping):
        own.add(where, table, "a table of settings")
        table = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    checks = checks or {}
    values: dict[str, Any] = {}
    for key, value in table.items():
        path = (paths or {}).get(key, f"{where}.{key}")
        f = fields.get(key)
        if f is None:
            base, _, name = path.rpartition(".")
            own.unknown(base, name, list(fields))
            continue
        rule = rule_of(f)
        try:
            if rule is not None:
                values[key] = check_value(rule, value)
            elif key in checks:
                values[key] = checks[key](value)
            else:
                values[key] = value
        except (TypeError, ValueError, OverflowError) as exc:
            expected = str(exc).removeprefix("expected ") or "a valid value"
            own.add(path, value, expected)
    if problems is None:
        own.raise_if_any()
    return cls(**values)  # with problems collected: the valid values, defaults for the rest


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def describe_table(cls: type, where: str, fallback: Mapping[str, str] | None = None,
                   ) -> list[tuple[str, str, str]]:
    """``(key, default, help)`` of every setting of ``cls`` for ``exsyfit info``.

    Help comes from the field's :func:`option` rule (with what a valid value looks like),
    else from ``fallback`` (key -> text).
    """
    rows = []
    for f in dataclasses.fields(cls):
        rule = rule_of(f)
        default = _default_of(f)
        empty = default is None or (isinstance(default, tuple | list) and not default)
        shown = "not set" if empty else format_value(default)
        if rule is not None:
            text = rule.help.rstrip(".")
            text += f"; {rule.expected_text()}" if rule.kind != "any" else ""
        else:
            text = (fallback or {}).get(f.name, "")
        rows.append((f"{where}.{f.name}", shown, text))
    return rows
