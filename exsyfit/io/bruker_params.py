"""Bruker parameter files of one experiment folder (acqus, acqu2s, acqu3s, procs, proc2s).

:class:`_Experiment` reads the JCAMP-DX files once; numeric look-ups raise
:class:`~exsyfit.errors.DataFormatError` naming the folder, file and key.  Also here: the
header-derived quantities shared by the readers (dimensionality, MAS rate, set temperature,
mixing times from D<n>, vdlist or vclist).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import nmrglue as ng

from exsyfit.errors import DataFormatError
from exsyfit.io.metadata import acquisition_info

_FNMODE_CODES = {1: "QF", 2: "QSEQ", 3: "TPPI", 4: "States", 5: "States-TPPI",
                 6: "echo-antiecho"}
_MC2_CODES = {0: "QF", 1: "QSEQ", 2: "TPPI", 3: "States", 4: "States-TPPI", 5: "echo-antiecho"}
_WDW_CODES = {0: "none", 1: "em", 2: "gm", 3: "sine", 4: "qsine"}
_LIST_FILES = ("vdlist", "vclist")
_REQUIRED = object()
#: Largest acqus TE accepted as a temperature, K.
MAX_TEMPERATURE_K = 1000.0


# --------------------------------------------------------------------------------------------
# Parameter files
# --------------------------------------------------------------------------------------------


def _read_jcamp(path: Path, folder: Path) -> dict[str, Any]:
    """Parse a JCAMP-DX parameter file; unreadable files raise DataFormatError."""
    try:
        dic = ng.bruker.read_jcamp(str(path), encoding="latin-1")
    except Exception as exc:  # nmrglue raises assorted errors on broken files
        raise DataFormatError(
            f"{folder}: cannot parse parameter file '{path.name}' ({path}): {exc}") from exc
    if not isinstance(dic, dict) or len(dic) <= 2:
        raise DataFormatError(
            f"{folder}: parameter file '{path.name}' ({path}) holds no '##$KEY= value' "
            "parameters; expected a TopSpin JCAMP-DX parameter file")
    return dic


def _optional_file(folder: Path, rel: str) -> dict[str, Any] | None:
    path = folder / rel
    return _read_jcamp(path, folder) if path.is_file() else None


def _value(dic: dict[str, Any], key: str, fname: str, folder: Path,
           default: Any = _REQUIRED, index: int | None = None) -> Any:
    """A numeric parameter (``index`` for arrays such as D, CNST); raise if not a number."""
    if key not in dic:
        if default is _REQUIRED:
            raise DataFormatError(f"{folder}: parameter {key} is missing from '{fname}'")
        return default
    raw = dic[key]
    shown = f"{key}" if index is None else f"{key}[{index}]"
    if index is not None:
        if not isinstance(raw, list) or index >= len(raw):
            if default is _REQUIRED:
                raise DataFormatError(
                    f"{folder}: parameter {shown} is missing from '{fname}' (found {raw!r})")
            return default
        raw = raw[index]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise DataFormatError(
            f"{folder}: parameter {shown} in '{fname}' is {raw!r}; expected a number")
    return raw


def _text(dic: dict[str, Any], key: str) -> str | None:
    v = dic.get(key)
    if v is None:
        return None
    v = str(v).strip().strip("<>").strip()
    return v or None


class _Experiment:
    """Parameter files of one experiment folder, read once."""

    def __init__(self, folder: str | Path, procno: int):
        self.given = str(folder)
        self.folder = Path(folder)
        self.procno = procno
        if not self.folder.is_dir():
            raise DataFormatError(f"{self.folder}: not a folder (expected a Bruker experiment "
                                  "folder <expno> holding acqus and ser/fid)")
        if not (self.folder / "acqus").is_file():
            hint = ""
            if (self.folder / "procs").is_file():
                hint = (" This looks like a processed-data folder (pdata/<procno>); give the "
                        "experiment folder two levels up and choose procno instead.")
            raise DataFormatError(f"{self.folder}: no 'acqus' file, so this is not a Bruker "
                                  f"experiment folder.{hint}")
        self.acqus = _read_jcamp(self.folder / "acqus", self.folder)
        self.acqu2s = _optional_file(self.folder, "acqu2s")
        self.acqu3s = _optional_file(self.folder, "acqu3s")
        self.pdata = self.folder / "pdata" / str(procno)
        self.procs = _optional_file(self.folder, f"pdata/{procno}/procs")
        self.proc2s = _optional_file(self.folder, f"pdata/{procno}/proc2s")

    # -- helpers ---------------------------------------------------------------------------
    def num(self, key: str, default: Any = _REQUIRED, index: int | None = None,
            which: str = "acqus") -> Any:
        dic = {"acqus": self.acqus, "acqu2s": self.acqu2s, "acqu3s": self.acqu3s,
               "procs": self.procs, "proc2s": self.proc2s}[which]
        if dic is None:
            if default is _REQUIRED:
                raise DataFormatError(f"{self.folder}: file '{which}' is missing")
            return default
        return _value(dic, key, which if which.startswith("acqu") else
                      f"pdata/{self.procno}/{which}", self.folder, default, index)

    @property
    def ndim(self) -> int:
        return 3 if self.acqu3s is not None else 2 if self.acqu2s is not None else 1

    def fnmode(self, which: str = "acqu2s") -> str | None:
        code = int(self.num("FnMODE", 0, which=which))
        if code == 0 and which == "acqu2s" and self.proc2s is not None:
            mc2 = int(self.num("MC2", -1, which="proc2s"))
            return _MC2_CODES.get(mc2)
        return _FNMODE_CODES.get(code)

    def sf(self, which: str) -> float:
        """Reference frequency SF (procs/proc2s) or BF1 of the matching acqu file, MHz."""
        acq = "acqus" if which == "procs" else "acqu2s"
        sf = self.num("SF", None, which=which)
        return float(sf) if sf else float(self.num("BF1", which=acq))

    def list_values(self, name: str) -> list[float] | None:
        path = self.folder / name
        if not path.is_file():
            return None
        return _parse_list(path, self.folder, counters=(name == "vclist"))


def _parse_list(path: Path, folder: Path, counters: bool) -> list[float]:
    """Values of a TopSpin vdlist (seconds; suffixes s, m, u, n) or vclist (integers)."""
    units = {"": 1.0, "s": 1.0, "m": 1e-3, "ms": 1e-3, "u": 1e-6, "us": 1e-6, "n": 1e-9,
             "ns": 1e-9}
    values = []
    pattern = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)$")
    for lineno, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        text = line.split("#")[0].strip()
        if not text:
            continue
        m = pattern.match(text)
        unit = m.group(2).lower() if m else None
        if m is None or unit not in units or (counters and unit):
            kind = "an integer loop counter" if counters else "a delay such as 10m or 0.5"
            raise DataFormatError(f"{folder}: '{path.name}' line {lineno} is {text!r}; "
                                  f"expected {kind}")
        values.append(float(m.group(1)) * (1.0 if counters else units[unit]))
    if not values:
        raise DataFormatError(f"{folder}: '{path.name}' is empty")
    return values


def _mas_rate(exp: _Experiment) -> tuple[float | None, str | None]:
    masr = exp.num("MASR", None)
    if masr is not None and masr > 0:
        return float(masr), "MASR"
    cnst31 = exp.num("CNST", None, index=31)
    if cnst31 is not None and cnst31 > 0:
        return float(cnst31), "CNST31"
    return None, None


def _temperature(exp: _Experiment) -> float | None:
    """acqus TE in kelvin; None when not recorded (0) or not a temperature (see checks)."""
    te = exp.num("TE", None)
    return float(te) if te is not None and 0 < te <= MAX_TEMPERATURE_K else None


def _list_dimension(exp: _Experiment) -> tuple[str | None, str | None]:
    """(acqu file of the list dimension, list name) for pseudo-nD data, else (None, None)."""
    candidates = ["acqu2s"] + (["acqu3s"] if exp.ndim == 3 else [])
    for which in candidates:
        code = int(exp.num("FnMODE", 0, which=which))
        if code not in (0, 1):
            continue
        if code == 0 and which == "acqu2s" and exp.fnmode("acqu2s") not in (None, "QF"):
            continue  # old data: FnMODE undefined but proc2s MC2 gives a 2D quadrature mode
        td = int(exp.num("TD", which=which))
        for name in _LIST_FILES:
            vals = exp.list_values(name)
            if vals is not None and len(vals) == td:
                return which, name
    return None, None


def _kind(exp: _Experiment) -> str:
    if exp.ndim == 1:
        return "1D"
    list_dim, _ = _list_dimension(exp)
    if exp.ndim == 2:
        return "pseudo-2D" if list_dim else "2D"
    return "pseudo-3D" if list_dim else "3D"


def _mixing_times(exp: _Experiment, spec: str | float, rotor_period_s: float | None,
                  n_planes: int | None) -> tuple[list[float] | float | None, str]:
    """Mixing time(s) in seconds and a description of where they came from."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec), "given"
    s = str(spec).strip()
    m = re.fullmatch(r"[dD](\d+)", s)
    if m:
        if n_planes:
            for name in ("vdlist", "vclist*rotor"):
                try:
                    vals, src = _mixing_times(exp, name, rotor_period_s, None)
                except DataFormatError:
                    continue
                if isinstance(vals, list) and len(vals) == n_planes:
                    return vals, src
        return float(exp.num("D", index=int(m.group(1)))), f"D{m.group(1)}"
    if s.lower() == "vdlist":
        vals = exp.list_values("vdlist")
        if vals is None:
            raise DataFormatError(f"{exp.folder}: mixing_time='vdlist' but there is no "
                                  "'vdlist' file in the experiment folder")
        return vals, "vdlist"
    if s.lower().replace(" ", "") in ("vclist*rotor", "vclist"):
        vals = exp.list_values("vclist")
        if vals is None:
            raise DataFormatError(f"{exp.folder}: mixing_time='vclist*rotor' but there is no "
                                  "'vclist' file in the experiment folder")
        period = rotor_period_s
        if period is None:
            rate, _ = _mas_rate(exp)
            if rate is None:
                raise DataFormatError(
                    f"{exp.folder}: mixing_time='vclist*rotor' needs the rotor period, but "
                    "acqus has no MAS rate (MASR or CNST31 > 0); pass rotor_period_s")
            period = 1.0 / rate
        return [v * period for v in vals], "vclist*rotor"
    raise DataFormatError(f"{exp.folder}: mixing_time={spec!r} not understood; expected "
                          "'D8' (any D<n>), 'vdlist', 'vclist*rotor' or a number of seconds")


def _acquisition_facts(exp: _Experiment) -> dict[str, Any]:
    """Field, pulse program, D1, probe head, MAS rate and spinning (:mod:`exsyfit.io.metadata`)."""
    channels = [(f"BF{n}", _text(exp.acqus, f"NUC{n}"), exp.num(f"BF{n}", None))
                for n in range(1, 9)]
    rate, src = _mas_rate(exp)
    d1 = exp.num("D", None, index=1)
    facts = acquisition_info(
        channels=channels, pulse_program=_text(exp.acqus, "PULPROG"),
        recycle_delay_s=float(d1) if d1 is not None else None,
        probe=_text(exp.acqus, "PROBHD"), mas_rate_hz=rate, mas_rate_source=src)
    facts.update(temperature_source="set value, uncalibrated (file TE)",
                 temperature_calibrated=False)
    return facts
