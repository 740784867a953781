"""Fuzzing the configuration and the command line: no input may end in anything but a valid
config or a ConfigError (exit 2 with one ``error:`` line); never a traceback or exit 1.

Each property runs a bounded number of examples without a deadline, so the file takes seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsyfit.cli import main
from exsyfit.config import SECTIONS, Config, config_from_dict, load_config
from exsyfit.errors import ConfigError

FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

BASE = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.6}}}

#: Every key the config knows, and some near misses.
KEYS = sorted({name for cls in SECTIONS.values() for name in
               (f.name for f in dataclasses.fields(cls))}
              | {"ppm", "population", "T1_s", "f1", "f2", "mean", "sd", "pathz", "walker"})

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["auto", "raw", "file", "none", "fit", "procs", "A<->B", "free", "em",
                     "single", "png", "sphere", "1e999", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6),
                                            inner, max_size=4)),
    max_leaves=10,
)


#: Values of the right kind, often in range.
plausible = st.one_of(
    st.booleans(), st.integers(0, 40_000), st.floats(0.001, 5000),
    st.lists(st.floats(0, 1e4), min_size=2, max_size=2).map(sorted),
    st.sampled_from(["auto", "processed", "raw", "file", "fit", "box", "plane", "em", "qsine",
                     "double", "okabe-ito", "log10", "eyring", "free", "per_temperature",
                     "shared", "slab", "D8", "States"]),
)


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict:
    """The minimal valid config with random keys of random tables set to random values."""
    raw = {k: dict(v) for k, v in BASE.items()}
    raw["sites"] = {k: dict(v) for k, v in BASE["sites"].items()}
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from([*SECTIONS, "sites", "bogus"]))
        if table == "sites":
            name = draw(st.sampled_from(["A", "B", "C", 'x"y', "$", "", " A", "A<->B"]))
            raw["sites"].setdefault(name, {})[draw(st.sampled_from(KEYS))] = draw(values)
        elif table in SECTIONS and draw(st.booleans()):  # a real key, a plausible value
            field = draw(st.sampled_from(dataclasses.fields(SECTIONS[table])))
            if not isinstance(raw.get(table, {}), dict):
                raw[table] = {}
            raw.setdefault(table, {})[field.name] = draw(plausible)
        elif draw(st.booleans()):
            raw.setdefault(table, {})
            if isinstance(raw[table], dict):
                raw[table][draw(st.sampled_from(KEYS))] = draw(values)
        else:
            raw[table] = draw(values)
    return raw


@FAST
@given(mutated_configs())
def test_any_config_document_is_valid_or_a_config_error(raw):
    try:
        cfg = config_from_dict(raw)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("config: ")
        assert "np.float64" not in message and "Traceback" not in message
        return
    assert isinstance(cfg, Config)
    # what was accepted is usable: bounded, finite numbers
    assert 4 <= (cfg.sampler.walkers or 32) <= 10_000
    for low, high in dataclasses.asdict(cfg.priors).values():
        assert math.isfinite(low) and math.isfinite(high) and low < high


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_key(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml_key(key: str) -> str:
    """A TOML basic string (JSON escapes are TOML escapes)."""
    return json.dumps(key, ensure_ascii=False)


def to_toml(raw: dict) -> str:
    return "".join(f"{_toml_key(key)} = {_toml_value(value)}\n" for key, value in raw.items())


@FAST
@given(mutated_configs() | st.binary(max_size=200))
def test_any_config_file_loads_or_fails_with_a_config_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(to_toml(doc), encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


# ------------------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    good = root / "job"
    good.mkdir()
    (good / "config.toml").write_text(
        '[data]\nvolumes = "volumes.csv"\n[sites.A]\nppm = 1.0\n[sites.B]\nppm = 2.0\n')
    (good / "volumes.csv").write_text("temperature_K,mixing_time_s\n1,2\n")
    bad = root / "bad.toml"
    bad.write_text("[model]\ntemperature_model = 'quadratic'\n")
    a_file = root / "file.txt"
    a_file.write_text("not a folder")
    return {"root": root, "good": good / "config.toml", "bad": bad, "file": a_file}


TOKENS = ["check", "plot", "report", "fit", "integrate", "info", "simulate", "init", "run",
          "config", "models", "-o", "--output", "--force", "--resume", "-q", "--format",
          "volumes", "varian", "--temperatures", "--mixing-times", "--sigma", "--seed",
          "abc", "-1", "0", "1e308", "nan", "25,50", "300,310", "0.01,0.1", "", "--bogus",
          "GOOD", "BAD", "FILE", "ROOT", "MISSING", "OUT"]


COMMANDS = ["check", "plot", "report", "fit", "integrate", "info", "simulate", "init", "run"]
TARGETS = ["GOOD", "BAD", "FILE", "ROOT", "MISSING", "OUT", "config", "abc", ""]
OPTIONS = [t for t in TOKENS if t not in COMMANDS]
#: A command, its positional argument and random options; or any list of tokens.
command_lines = st.one_of(
    st.tuples(st.sampled_from(COMMANDS), st.sampled_from(TARGETS),
              st.lists(st.sampled_from(["-q", "--force", "-o", "OUT"]), max_size=3,
                       unique=True)).map(lambda t: [t[0], t[1], *t[2]]),
    st.tuples(st.sampled_from(COMMANDS), st.sampled_from(TARGETS),
              st.lists(st.sampled_from(OPTIONS), max_size=4)).map(lambda t: [t[0], t[1], *t[2]]),
    st.lists(st.sampled_from(TOKENS), max_size=6),
)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(command_lines)
def test_any_command_line_is_exit_0_or_2_without_a_traceback(sandbox, argv):
    root = sandbox["root"]
    names = {"GOOD": sandbox["good"], "BAD": sandbox["bad"], "FILE": sandbox["file"],
             "ROOT": root, "MISSING": root / "missing" / "x.toml", "OUT": root / "out"}
    argv = [str(names.get(a, a)) for a in argv]
    if argv[:1] in (["fit"], ["run"], ["integrate"]) and str(sandbox["good"]) in argv:
        argv = ["check", *argv[1:]]  # a real fit takes seconds; its inputs are fuzzed above
    if argv[:1] == ["simulate"] and "volumes" not in argv:
        argv += ["--format", "volumes"]  # vendor series take a second each
    err = io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)  # relative names land in the sandbox
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
    finally:
        os.chdir(cwd)
    text = err.getvalue()
    assert "Traceback" not in text, (argv, text)
    assert status in (0, 2), (argv, text)
    if status == 2:
        lines = [line for line in text.splitlines() if line.strip()]
        errors = [k for k, line in enumerate(lines) if line.startswith("error: ")]
        assert len(errors) == 1, (argv, text)  # then only the listing of its problems
        assert all(line.startswith("  ") for line in lines[errors[0] + 1:]), (argv, text)
    assert sandbox["file"].read_text() == "not a folder"
