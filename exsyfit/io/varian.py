"""Varian/Agilent (VnmrJ) 2D exchange spectra: ``<name>.fid/{fid, procpar}``.

What is read
------------
* ``procpar`` with a tolerant parser of its own (string values may span lines, which breaks
  some other parsers), and the binary ``fid`` through :func:`nmrglue.varian.read_fid`.
* The indirect dimension must be hypercomplex (States, ``phase = 1, 2``; States-TPPI done with
  a frequency-axial-displacement phase cycle in the sequence looks the same on disk).
* Block order on disk: the t1 increment (``ni``) is the outermost loop; inside it every arrayed
  parameter, the first one named in ``array`` varying fastest; parameters in parentheses in
  ``array`` are arrayed together (``array = '(mix,nt),phase'``).
* An arrayed experiment gives one :class:`~exsyfit.io.spectrum.Spectrum2D` per array element
  (usually one per mixing time).

Conventions
--------------------------------------
* Varian FIDs rotate in the opposite sense to Bruker ones, in both dimensions: a plain FFT
  followed by ``fftshift`` gives NMR order (index 0 = highest ppm) directly, with the carrier at
  index n/2.  The t1 interferogram of a hypercomplex pair is ``Re S(phase=1) + i Re S(phase=2)``.
* ppm of point i: ``(sw - rfl + rfp)/sfrq - i * sw/(n * sfrq)`` (``sw1``, ``rfl1``, ``rfp1`` and
  the F1 frequency in F1; the F1 frequency is ``sfrq`` unless ``refsource1`` names another).
* Processing is :func:`exsyfit.processing.transforms.transform_2d` (States mode, no digital filter)
  on the
  conjugated FID with the phase = 2 rows negated, which turns the Varian sense into the
  Bruker sense the shared transform expects.  Phases: the Varian spectrum (plain FFT) is
  multiplied by ``exp(i (rp + lp * i/n) pi/180)`` with i the point index in NMR order (left
  edge = 0); on the conjugated data this is the TopSpin convention with ``p0 = rp``,
  ``p1 = lp`` (and rp1, lp1 in F1).  The sign of ``rp`` was checked on real VnmrJ data; the
  pivot and sign of ``lp`` are an assumption (no real Varian data with a first-order phase and
  a clean line was available), so pass ``phases=``, set ``auto_phase`` or check the phase on
  the data when ``lp`` is not zero.
* Stored processing defaults used when the options leave them open: the phases and the sizes
  ``fn/2``, ``fn1/2`` (when active); VnmrJ windows (lb, gf, sb) are not translated.
* ``temp`` is the VT set temperature in degrees Celsius; when VT is off (``temp`` inactive) the
  temperature is unknown (``None``).
* Intensities: the fid holds the sum of ``nt`` scans; ``gain`` is in dB, so the common scale
  divides by ``nt * 10**(gain/20)``.

Volumes: as for Bruker raw data, the first point of each FID and of each t1 interferogram is
halved and each transform is scaled by ``2 sf/sw``, so a peak's volume (intensity x ppm^2)
equals its time-domain amplitude at t1 = t2 = 0 in each hypercomplex channel, whatever the zero
filling and for any window equal to 1 at t = 0; then the normalisation above is applied.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from exsyfit.errors import DataFormatError
from exsyfit.io.metadata import ACQUISITION_KEYS, acquisition_info
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.io.varian_checks import check_procpar, temperature_problem

__all__ = [
    "is_varian_experiment",
    "read_procpar",
    "read_metadata",
    "read_experiment",
    "varian_nucleus",
]

_FILE_HEADER_BYTES = 32
_BLOCK_HEADER_BYTES = 28
_KELVIN = 273.15
_MIXING_NAMES = ("mixN", "mix")

# --------------------------------------------------------------------------------------------
# procpar
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+', re.DOTALL)


@dataclass(frozen=True)
class _Param:
    """One procpar parameter: its values (strings or floats) and whether it is active."""

    values: tuple[Any, ...]
    active: bool
    is_string: bool


def read_procpar(path: str | os.PathLike) -> dict[str, _Param]:
    """Parse a VnmrJ ``procpar`` file.

    Parameters
    ----------
    path : path-like
        The ``procpar`` file.

    Returns
    -------
    dict
        Parameter name -> ``_Param`` (``values`` tuple, ``active`` flag, ``is_string``).

    Raises
    ------
    DataFormatError
        When the file is missing or not a procpar file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read the parameter file ({exc.strerror})") from exc
    tokens = _TOKEN.findall(text)
    params: dict[str, _Param] = {}
    pos = 0
    try:
        while pos < len(tokens):
            name = tokens[pos]
            header = tokens[pos + 1: pos + 11]
            basictype, active = int(header[1]), int(header[8])
            pos += 11
            count = int(tokens[pos])
            raw = tokens[pos + 1: pos + 1 + count]
            pos += 1 + count
            n_enum = int(tokens[pos])
            pos += 1 + n_enum
            if len(raw) != count or len(header) != 10:
                raise ValueError("file ends inside a parameter")
            if basictype == 2:
                values: tuple[Any, ...] = tuple(v[1:-1] if v.startswith('"') else v for v in raw)
            else:
                values = tuple(float(v) for v in raw)
            params[name] = _Param(values, bool(active), basictype == 2)
    except (ValueError, IndexError) as exc:
        near = tokens[pos] if pos < len(tokens) else "end of file"
        raise DataFormatError(
            f"{path}: not a readable VnmrJ procpar file (stopped near {near!r}: {exc}); "
            "expected lines 'name subtype basictype ...', value count, values, enumerations"
        ) from exc
    if not params:
        raise DataFormatError(f"{path}: empty parameter file; expected VnmrJ procpar entries")
    return params


def _num(pp: dict[str, _Param], name: str, folder: Path, default: float | None = None,
         index: int = 0) -> float:
    """Numeric procpar value ``name`` (element ``index`` if arrayed)."""
    p = pp.get(name)
    if p is None or not p.values:
        if default is not None:
            return default
        raise DataFormatError(f"{folder / 'procpar'}: parameter {name!r} is missing")
    if p.is_string:
        raise DataFormatError(
            f"{folder / 'procpar'}: parameter {name!r} = {p.values[0]!r} is text; expected a number"
        )
    value = float(p.values[index if len(p.values) > 1 else 0])
    if not np.isfinite(value):
        raise DataFormatError(f"{folder / 'procpar'}: parameter {name!r} = {value} is not finite")
    return value


def _text(pp: dict[str, _Param], name: str, default: str = "") -> str:
    p = pp.get(name)
    if p is None or not p.values:
        return default
    return str(p.values[0])


def varian_nucleus(tn: str) -> str:
    """Convert a VnmrJ nucleus name (``"Li7"``, ``"H1"``) to the usual ``"7Li"`` form."""
    m = re.fullmatch(r"\s*([A-Za-z]+)(\d+)\s*", tn)
    if m:
        return f"{m.group(2)}{m.group(1)}"
    m = re.fullmatch(r"\s*(\d+)([A-Za-z]+)\s*", tn)
    return f"{m.group(1)}{m.group(2)}" if m else tn.strip()


# --------------------------------------------------------------------------------------------
# layout of the arrayed / 2D data
# --------------------------------------------------------------------------------------------


def _array_groups(pp: dict[str, _Param], folder: Path) -> list[tuple[str, ...]]:
    """Arrayed parameter groups, fastest-varying first (``array`` string order)."""
    spec = _text(pp, "array").strip()
    if not spec:
        return []
    groups: list[tuple[str, ...]] = []
    for m in re.finditer(r"\(([^)]*)\)|([^,()\s]+)", spec):
        names = tuple(n.strip() for n in (m.group(1) or m.group(2)).split(",") if n.strip())
        if names:
            groups.append(names)
    for names in groups:
        lengths = {n: len(pp[n].values) if n in pp else 0 for n in names}
        if any(v == 0 for v in lengths.values()) or len(set(lengths.values())) != 1:
            raise DataFormatError(
                f"{folder / 'procpar'}: array = {spec!r} names parameters that are missing or "
                f"of unequal length {lengths}"
            )
    return groups


@dataclass(frozen=True)
class _Layout:
    ni: int
    groups: list[tuple[str, ...]]      # arrayed groups other than phase, fastest first
    lengths: list[int]
    phase_position: int                # index of 'phase' among all groups (fastest first)
    all_groups: list[tuple[str, ...]]

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.lengths)) if self.lengths else 1

    def element_indices(self, element: int) -> dict[str, int]:
        """Index into each arrayed parameter's values for one array element."""
        out: dict[str, int] = {}
        rest = element
        for names, n in zip(self.groups, self.lengths, strict=True):
            k = rest % n
            rest //= n
            for name in names:
                out[name] = k
        return out


def _layout(pp: dict[str, _Param], folder: Path) -> _Layout:
    ni = int(_num(pp, "ni", folder, default=1.0))
    phases = pp.get("phase")
    all_groups = _array_groups(pp, folder)
    if ni <= 1:
        arr = _text(pp, "array")
        extra = f", arrayed over {arr!r}" if arr else ""
        raise DataFormatError(
            f"{folder}: is a 1D experiment (ni = {ni}{extra}); an EXSY series needs 2D spectra "
            "with an indirect dimension (ni > 1, phase = 1,2)"
        )
    phase_values = tuple(int(v) for v in phases.values) if phases is not None else ()
    if sorted(phase_values) != [1, 2]:
        raise DataFormatError(
            f"{folder / 'procpar'}: phase = {','.join(map(str, phase_values)) or 'missing'}; "
            "only hypercomplex (States) F1 with phase = 1,2 is supported"
        )
    flat = [n for g in all_groups for n in g]
    if "phase" not in flat:
        raise DataFormatError(f"{folder / 'procpar'}: phase = 1,2 but 'phase' is not in array")
    phase_position = next(i for i, g in enumerate(all_groups) if "phase" in g)
    if len(all_groups[phase_position]) > 1:
        raise DataFormatError(
            f"{folder / 'procpar'}: phase is arrayed jointly with {all_groups[phase_position]}; "
            "expected phase on its own"
        )
    if phase_values != (1, 2):
        raise DataFormatError(f"{folder / 'procpar'}: phase order {phase_values}; expected 1,2")
    groups = [g for g in all_groups if "phase" not in g]
    lengths = [len(pp[g[0]].values) for g in groups]
    return _Layout(ni, groups, lengths, phase_position, all_groups)


# --------------------------------------------------------------------------------------------
# fid
# --------------------------------------------------------------------------------------------


def _check_fid_size(fid_path: Path) -> dict[str, int]:
    """Read the 32-byte file header and check the file holds every block it announces."""
    import nmrglue as ng

    try:
        size = fid_path.stat().st_size
        with open(fid_path, "rb") as f:
            head = ng.varian.fileheader2dic(ng.varian.get_fileheader(f))
    except OSError as exc:
        raise DataFormatError(f"{fid_path}: cannot read the fid ({exc.strerror})") from exc
    except Exception as exc:  # struct.error on a short or foreign file
        raise DataFormatError(f"{fid_path}: not a VnmrJ fid file ({exc})") from exc
    nblocks, ntraces, npts = head["nblocks"], head["ntraces"], head["np"]
    ebytes, nbheaders = head["ebytes"], head["nbheaders"]
    if nblocks <= 0 or ntraces <= 0 or npts <= 0 or ebytes not in (2, 4) or nbheaders < 0:
        raise DataFormatError(
            f"{fid_path}: file header is not a VnmrJ fid header "
            f"(nblocks={nblocks}, ntraces={ntraces}, np={npts}, ebytes={ebytes})"
        )
    expected = _FILE_HEADER_BYTES + nblocks * (
        nbheaders * _BLOCK_HEADER_BYTES + ntraces * npts * ebytes
    )
    if size < expected:
        raise DataFormatError(
            f"{fid_path}: truncated: {size} bytes, the header announces {nblocks} blocks of "
            f"{ntraces} x {npts} points ({expected} bytes)"
        )
    return head


def _read_blocks(folder: Path) -> tuple[dict[str, int], np.ndarray]:
    """All FID blocks as a complex array (n_blocks*n_traces, np/2)."""
    import nmrglue as ng

    fid_path = folder / "fid"
    if not fid_path.is_file():
        raise DataFormatError(f"{folder}: no 'fid' file; expected {fid_path}")
    head = _check_fid_size(fid_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, data = ng.varian.read_fid(str(fid_path), as_2d=True)
        except Exception as exc:
            raise DataFormatError(f"{fid_path}: cannot read the FID blocks ({exc})") from exc
    data = np.atleast_2d(np.asarray(data, dtype=np.complex128))
    if not np.all(np.isfinite(data)):
        raise DataFormatError(f"{fid_path}: contains non-finite numbers (NaN or inf)")
    return head, data


# --------------------------------------------------------------------------------------------
# processing: exsyfit.processing.transforms (Bruker sense) after conjugation
# --------------------------------------------------------------------------------------------


def _bruker_sense_rows(cube: np.ndarray) -> np.ndarray:
    """Hypercomplex Varian FID (ni, 2, np/2) -> rows in the sense
    :mod:`exsyfit.processing.transforms` uses.

    Conjugating the FID reverses the direct dimension and negating the phase = 2 rows
    conjugates the t1 interferogram, so the shared (Bruker-sense) transform in States mode gives
    the Varian spectrum; the phases then keep their VnmrJ values with the TopSpin sign
    convention of :func:`exsyfit.processing.transforms.phase`.
    """
    rows = np.conj(cube)
    rows[:, 1, :] *= -1.0
    return rows.reshape(-1, cube.shape[-1])


def _acquisition(pp: dict[str, _Param], folder: Path) -> Any:
    """AcquisitionParameters (and stored defaults) for
    :func:`exsyfit.processing.transforms.process_2d`."""
    from exsyfit.processing.transforms import AcquisitionParameters, ProcessingOptions

    sw2 = _num(pp, "sw", folder)
    sw1 = _num(pp, "sw1", folder)
    sfrq = _num(pp, "sfrq", folder)
    f1_name = _text(pp, "refsource1", "sfrq") or "sfrq"
    f1_mhz = _num(pp, f1_name, folder) if f1_name in pp else sfrq
    if sw2 <= 0 or sw1 <= 0 or sfrq <= 0 or f1_mhz <= 0:
        raise DataFormatError(
            f"{folder / 'procpar'}: sw = {sw2}, sw1 = {sw1}, sfrq = {sfrq}, "
            f"{f1_name} = {f1_mhz}; expected positive values"
        )
    left2 = (sw2 - _num(pp, "rfl", folder, 0.0) + _num(pp, "rfp", folder, 0.0)) / sfrq
    left1 = (sw1 - _num(pp, "rfl1", folder, 0.0) + _num(pp, "rfp1", folder, 0.0)) / f1_mhz

    def size(name: str) -> int | None:
        p = pp.get(name)
        if p is None or not p.active or p.is_string or not p.values:
            return None
        n = int(float(p.values[0])) // 2
        return n if n >= 8 else None

    defaults = ProcessingOptions(
        p0_f2=_num(pp, "rp", folder, 0.0), p1_f2=_num(pp, "lp", folder, 0.0),
        p0_f1=_num(pp, "rp1", folder, 0.0), p1_f1=_num(pp, "lp1", folder, 0.0),
        size_f2=size("fn"), size_f1=size("fn1"),
    )
    return AcquisitionParameters(
        sw_hz_f2=sw2, sw_hz_f1=sw1, sf_mhz_f2=sfrq, sf_mhz_f1=f1_mhz,
        carrier_ppm_f2=left2 - 0.5 * sw2 / sfrq, carrier_ppm_f1=left1 - 0.5 * sw1 / f1_mhz,
        fnmode="States", grpdly=0.0, defaults=defaults,
    )


# --------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------


def is_varian_experiment(folder: str | os.PathLike) -> bool:
    """True when ``folder`` is a directory holding both ``procpar`` and ``fid``."""
    p = Path(folder)
    return p.is_dir() and (p / "procpar").is_file() and (p / "fid").is_file()


def _require_folder(folder: str | os.PathLike) -> Path:
    p = Path(folder)
    if not p.is_dir():
        raise DataFormatError(f"{p}: not a folder; expected a VnmrJ '<name>.fid' folder")
    if not (p / "procpar").is_file():
        raise DataFormatError(f"{p}: no 'procpar' file; expected {p / 'procpar'} beside the fid")
    return p


def _mixing_values(
    pp: dict[str, _Param], folder: Path, mixing_time: str | float | None
) -> tuple[str | None, tuple[float, ...] | None]:
    """(parameter name or None, values in s) for the requested mixing-time source."""
    if mixing_time is None:
        return None, None
    if isinstance(mixing_time, int | float) and not isinstance(mixing_time, bool):
        if not np.isfinite(mixing_time) or mixing_time < 0:
            raise DataFormatError(f"{folder}: mixing time {mixing_time!r} must be >= 0 seconds")
        return None, (float(mixing_time),)
    spec = str(mixing_time)
    if spec == "auto":
        names: tuple[str, ...] = _MIXING_NAMES
    elif spec.startswith("param:"):
        names = (spec[len("param:"):].strip(),)
        if names[0] not in pp:
            raise DataFormatError(
                f"{folder / 'procpar'}: no parameter {names[0]!r} (mixing_time = {spec!r})"
            )
    else:
        raise DataFormatError(
            f"{folder}: mixing_time = {spec!r}; expected 'auto', 'param:NAME' or seconds"
        )
    for name in names:
        p = pp.get(name)
        if p is None or p.is_string or not p.values:
            continue
        vals = tuple(float(v) for v in p.values)
        if not all(np.isfinite(v) and v >= 0 for v in vals):
            raise DataFormatError(f"{folder / 'procpar'}: {name} = {vals}; expected seconds >= 0")
        return name, vals
    return None, None


def read_metadata(
    folder: str | os.PathLike, *, mixing_time: str | float | None = "auto", **_: Any
) -> dict[str, Any]:
    """Read the acquisition parameters of a VnmrJ experiment without its data.

    Parameters
    ----------
    folder : path-like
        The ``<name>.fid`` folder.
    mixing_time : {"auto", "param:NAME"} or float
        Where the mixing time comes from: ``mixN`` then ``mix`` ("auto"), a named procpar
        parameter, or a value in seconds.

    Returns
    -------
    dict
        ``format`` ("varian"), ``nucleus``, ``sf_mhz``, ``temperature_K`` (VT set temperature or
        None), ``temperature_error`` (why ``temp`` is not usable, or None), ``scans`` (per
        element), ``receiver_gain`` (dB), ``receiver_gain_linear``,
        ``mas_rate_hz``, ``pulse_program``, ``mixing_time_parameter``, ``mixing_times_s``
        (one per array element), ``n_elements``, ``ndim`` (1 or 2), ``td_f2``/``td_f1``
        (complex points), ``size`` (``"ni x np/2"``), ``has_processed`` (False), ``has_raw``,
        ``has_2rr``, ``has_ser``, ``array``.
    """
    p = _require_folder(folder)
    pp = read_procpar(p / "procpar")
    check_procpar(pp, p)
    ni = int(_num(pp, "ni", p, default=1.0))
    np2 = int(_num(pp, "np", p)) // 2
    temp = pp.get("temp")
    temperature = None
    temperature_error = temperature_problem(pp, p)
    if temp is not None and temp.active and temp.values and not temp.is_string \
            and temperature_error is None:
        temperature = float(temp.values[0]) + _KELVIN
    srate = pp.get("srate")
    mas = float(srate.values[0]) if srate is not None and srate.values and not srate.is_string \
        else None
    groups = _array_groups(pp, p)
    lengths = [len(pp[g[0]].values) for g in groups if "phase" not in g]
    n_el = int(np.prod(lengths)) if lengths else 1
    mixing_list: list[float | None] = [None] * n_el
    name = None
    mix_err = None
    try:
        name, mix = _mixing_values(pp, p, mixing_time)
        if mix is not None and len(mix) == 1:
            mixing_list = [mix[0]] * n_el
        elif mix is not None:
            mixing_list = _per_element(pp, groups, name, p, n_el)
    except DataFormatError as exc:
        mix_err = str(exc)
    nt = pp.get("nt")
    scans = [float(v) for v in nt.values] if nt is not None and nt.values else [1.0]
    gain = _num(pp, "gain", p, default=0.0)
    dims = "1D" if ni <= 1 else "2D"
    return {
        **_acquisition_facts(pp, p, mas),
        "format": "varian",
        "folder": str(p),
        "dimensionality": dims if n_el == 1 else f"arrayed {dims}",
        "nucleus": varian_nucleus(_text(pp, "tn", "?")),
        "nucleus_f1": varian_nucleus(_text(pp, "tn", "?")) if ni > 1 else None,
        "sf_mhz": _num(pp, "sfrq", p),
        "temperature_K": temperature,
        "temperature_error": temperature_error,
        "scans": int(scans[0]) if len(scans) == 1 else [int(s) for s in scans],
        "receiver_gain": gain,
        "receiver_gain_linear": 10.0 ** (gain / 20.0),
        "mas_rate_hz": mas,
        "mas_rate_source": "srate" if mas is not None else None,
        "pulse_program": _text(pp, "seqfil") or None,
        "td": (np2, ni) if ni > 1 else (np2,),
        "si": None,
        "fnmode": "States" if ni > 1 else None,
        "mixing_time_s": mixing_list[0] if n_el == 1 else mixing_list,
        "mixing_time_source": name if name is not None else (
            "user value" if mixing_list[0] is not None else None),
        "mixing_time_error": mix_err,
        "mixing_times_s": mixing_list,
        "n_elements": n_el,
        "array": _text(pp, "array"),
        "ndim": 2 if ni > 1 else 1,
        "size": f"{ni}x{np2}",
        "has_processed": False,
        "has_raw": (p / "fid").is_file(),
        "has_2rr": False,
        "has_ser": (p / "fid").is_file(),
        "has_fid": (p / "fid").is_file(),
    }


def _optional(pp: dict[str, _Param], name: str, folder: Path) -> float | None:
    p = pp.get(name)
    if p is None or not p.values or p.is_string:
        return None
    return _num(pp, name, folder)


def _acquisition_facts(pp: dict[str, _Param], folder: Path, mas: float | None
                       ) -> dict[str, Any]:
    """Field, pulse program, d1, probe, MAS rate and spinning (:mod:`exsyfit.io.metadata`)."""
    channels = [(label, _text(pp, nuc) or None, _optional(pp, label, folder))
                for label, nuc in (("sfrq", "tn"), ("dfrq", "dn"), ("dfrq2", "dn2"),
                                   ("dfrq3", "dn3"))]
    facts = acquisition_info(
        channels=channels, pulse_program=_text(pp, "seqfil") or None,
        recycle_delay_s=_optional(pp, "d1", folder), probe=_text(pp, "probe") or None,
        mas_rate_hz=mas, mas_rate_source="srate" if mas else None)
    facts.update(temperature_source="set value, uncalibrated (file temp)",
                 temperature_calibrated=False)
    return facts


def _per_element(
    pp: dict[str, _Param], groups: list[tuple[str, ...]], name: str | None, folder: Path,
    n_el: int,
) -> list[float | None]:
    """Values of an arrayed parameter, one per non-phase array element."""
    non_phase = [g for g in groups if "phase" not in g]
    if name is None or not any(name in g for g in non_phase):
        raise DataFormatError(
            f"{folder / 'procpar'}: {name} has several values but is not in array = "
            f"{_text(pp, 'array')!r}"
        )
    out: list[float | None] = []
    lengths = [len(pp[g[0]].values) for g in non_phase]
    for element in range(n_el):
        rest = element
        for g, n in zip(non_phase, lengths, strict=True):
            k = rest % n
            rest //= n
            if name in g:
                out.append(float(pp[name].values[k]))
    return out


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def _element_value(pp: dict[str, _Param], name: str, idx: dict[str, int], default: float,
                   folder: Path) -> float:
    p = pp.get(name)
    if p is None or not p.values or p.is_string:
        return default
    k = idx.get(name, 0) if len(p.values) > 1 else 0
    if len(p.values) > 1 and name not in idx:
        raise DataFormatError(f"{folder / 'procpar'}: {name} has several values but is not arrayed")
    return float(p.values[k])


def read_experiment(
    folder: str | os.PathLike,
    *,
    options: Any = None,
    normalise: bool = True,
    mixing_time: str | float | None = "auto",
    phases: Sequence[float] | None = None,
    **_: Any,
) -> list[Spectrum2D]:
    """Read and process a VnmrJ 2D exchange experiment.

    Parameters
    ----------
    folder : path-like
        The ``<name>.fid`` folder (read only).
    options : exsyfit.processing.transforms.ProcessingOptions, optional
        Windows, sizes, phases, baseline, auto-phase (one phase for all array elements);
        unset fields come from procpar (phases, fn/fn1) and then the shared defaults (no
        window).  Short t1 data want ``window_f1 = "qsine", ssb_f1 = 2``.
    normalise : bool
        Divide by ``nt * 10**(gain/20)`` so arrayed and separate experiments share a scale.
    mixing_time : {"auto", "param:NAME"} or float
        Mixing-time source (see :func:`read_metadata`).
    phases : sequence of 4 floats, optional
        ``(rp, lp, rp1, lp1)`` in degrees instead of the stored values.

    Returns
    -------
    list of Spectrum2D
        One per array element (usually per mixing time), ``format = "varian"``.

    Raises
    ------
    DataFormatError
        1D data, non-hypercomplex F1, missing or truncated files, unreadable parameters.
    """
    p = _require_folder(folder)
    pp = read_procpar(p / "procpar")
    check_procpar(pp, p)
    lay = _layout(pp, p)
    head, blocks = _read_blocks(p)
    np2 = int(_num(pp, "np", p)) // 2
    expected = lay.ni * 2 * lay.n_elements
    if blocks.shape != (expected, np2):
        raise DataFormatError(
            f"{p / 'fid'}: holds {blocks.shape[0]} traces of {blocks.shape[1]} complex points; "
            f"procpar (ni = {lay.ni}, phase = 1,2, {lay.n_elements} array element(s), "
            f"np = {2 * np2}) expects {expected} traces of {np2}"
        )
    # traces: for t1 (outer), groups in reverse order of speed, ..., fastest group
    shape = (lay.ni,) + tuple(len(pp[g[0]].values) for g in reversed(lay.all_groups)) + (np2,)
    cube = blocks.reshape(shape)
    n_groups = len(lay.all_groups)
    # axis of group k (fastest first) in cube: 1 + (n_groups - 1 - k)
    phase_axis = 1 + (n_groups - 1 - lay.phase_position)
    other_axes = [1 + (n_groups - 1 - k) for k, g in enumerate(lay.all_groups) if "phase" not in g]
    # order: elements (fastest group first in the flattening -> reverse for C order), t1, phase
    cube = np.moveaxis(cube, [*reversed(other_axes), 0, phase_axis],
                       list(range(len(other_axes) + 2)))
    cube = cube.reshape((lay.n_elements, lay.ni, 2, np2))

    from exsyfit.processing.raw import process_planes
    from exsyfit.processing.transforms import ProcessingOptions

    acq = _acquisition(pp, p)
    opts = options if options is not None else ProcessingOptions()
    if phases is not None:
        if len(phases) != 4:
            raise DataFormatError(f"{p}: phases must be (rp, lp, rp1, lp1); got {phases!r}")
        opts = replace(opts, p0_f2=float(phases[0]), p1_f2=float(phases[1]),
                       p0_f1=float(phases[2]), p1_f1=float(phases[3]))
    meta = read_metadata(p, mixing_time=mixing_time)
    if meta["mixing_time_error"]:
        raise DataFormatError(meta["mixing_time_error"])
    factors, scans, gains = [], [], []
    for element in range(lay.n_elements):
        idx = lay.element_indices(element)
        nt = _element_value(pp, "nt", idx, 1.0, p)
        gain = _element_value(pp, "gain", idx, 0.0, p)
        factors.append(1.0 / (nt * 10.0 ** (gain / 20.0)) if normalise else 1.0)
        scans.append(nt)
        gains.append(gain)
    done = process_planes([_bruker_sense_rows(cube[e]) * factors[e]
                           for e in range(lay.n_elements)], acq, opts,
                          meta["mixing_times_s"], stored_phases="procpar")
    use_phases = done.phases
    ppm1, ppm2 = done.ppm_f1, done.ppm_f2
    sfrq = acq.sf_mhz_f2
    temp = meta["temperature_K"]
    spectra = []
    for element in range(lay.n_elements):
        idx = lay.element_indices(element)
        nt, gain, factor = scans[element], gains[element], factors[element]
        if "temp" in idx and pp["temp"].active and meta["temperature_error"] is None:
            temp = _element_value(pp, "temp", idx, 0.0, p) + _KELVIN
        data = done.spectra[element]
        arrayed = {n: pp[n].values[k] for n, k in idx.items()}
        spectra.append(Spectrum2D(
            data=data,
            ppm_f1=ppm1,
            ppm_f2=ppm2,
            nucleus=meta["nucleus"],
            sf_mhz=sfrq,
            mixing_time_s=meta["mixing_times_s"][element],
            temperature_K=temp,
            source=str(folder) + (f"[{element + 1}]" if lay.n_elements > 1 else ""),
            format="varian",
            scans=int(nt),
            receiver_gain=gain,
            mas_rate_hz=meta["mas_rate_hz"],
            pulse_program=meta["pulse_program"],
            intensity_factor=factor,
            metadata={
                **{k: meta[k] for k in (*ACQUISITION_KEYS, "temperature_source",
                                        "temperature_calibrated")},
                "array_element": element + 1,
                "arrayed": arrayed,
                "phases_deg": dict(zip(("rp", "lp", "rp1", "lp1"), use_phases, strict=True)),
                "phases": done.phases_meta,
                "receiver_gain_unit": "dB",
                "sw_hz": acq.sw_hz_f2,
                "sw1_hz": acq.sw_hz_f1,
                "td_f2": np2,
                "td_f1": lay.ni,
                "file_header": {k: int(v) for k, v in head.items() if isinstance(v, int)},
                **done.descriptions[element],
            },
        ))
    return spectra
