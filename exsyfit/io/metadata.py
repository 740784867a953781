"""Acquisition facts a report states: field, pulse program, recycle delay, probe, spinning.

Keys (in ``Spectrum2D.metadata`` of every reader, in :func:`~exsyfit.io.bruker.read_metadata`
/ :func:`~exsyfit.io.varian.read_metadata`, and as columns of
:func:`exsyfit.io.series.experiment_table`):

``field_T``
    Magnetic field B0, T: the 1H frequency of the console (a channel set to 1H, Bruker
    ``BF<n>`` with ``NUC<n> = 1H``, Varian ``sfrq``/``dfrq`` of H1) divided by 42.577 MHz/T,
    else the observe frequency through the nucleus' frequency ratio (IUPAC Xi); None for a
    nucleus not in :data:`XI_PERCENT`.
``field_source``
    How ``field_T`` was obtained (``"BF2 (1H)"``, ``"BF1 (7Li, Xi = 38.863797 %)"``).
``proton_frequency_MHz``
    The 1H Larmor frequency at that field ("a 600 MHz spectrometer").
``pulse_program``
    Bruker ``PULPROG``, Varian ``seqfil``.
``recycle_delay_s``
    Bruker ``D1``, Varian ``d1``, s.
``probe``
    Bruker ``PROBHD``, Varian ``probe``.
``mas_rate_hz`` / ``mas_rate_source``
    Bruker ``MASR`` (else ``CNST31``), Varian ``srate``; None when not recorded or 0.
``spinning`` / ``spinning_reason``
    ``"MAS"`` or ``"static or solution"`` and why (:func:`decide_spinning`): a recorded MAS
    rate alone is not trusted, because the MAS unit's last value stays in the files of a
    static or solution experiment; the probe head and the pulse program name are looked at
    too.
``temperature_source`` / ``temperature_calibrated``
    ``"set value, uncalibrated (file TE)"`` (or ``(file temp)``) and False from a reader
    alone; :func:`exsyfit.io.series.read_series` replaces them with the calibration used
    (:mod:`exsyfit.io.temperature`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["ACQUISITION_KEYS", "XI_PERCENT", "GAMMA_1H_MHZ_PER_T", "nucleus_name",
           "field_from_channels", "decide_spinning", "acquisition_info"]

ACQUISITION_KEYS = ("field_T", "field_source", "proton_frequency_MHz", "pulse_program",
                    "recycle_delay_s", "probe", "mas_rate_hz", "mas_rate_source", "spinning",
                    "spinning_reason")
#: gamma / 2 pi of 1H, MHz/T (CODATA 2018 shielded-proton value rounded, 42.577 MHz/T).
GAMMA_1H_MHZ_PER_T = 42.577478
#: Frequency ratio Xi (%) of each nucleus to 1H of TMS (IUPAC 2001 recommendations).
XI_PERCENT = {
    "1H": 100.0, "2H": 15.350609, "6Li": 14.716086, "7Li": 38.863797, "11B": 32.083974,
    "13C": 25.145020, "15N": 10.136767, "17O": 13.556457, "19F": 94.094011,
    "23Na": 26.451900, "25Mg": 6.121635, "27Al": 26.056859, "29Si": 19.867187,
    "31P": 40.480742, "35Cl": 9.797909, "39K": 4.666373, "43Ca": 6.730029, "45Sc": 24.291747,
    "51V": 26.302948, "63Cu": 26.515473, "67Zn": 6.256803, "71Ga": 30.496704,
    "77Se": 19.071513, "89Y": 4.900198, "93Nb": 24.476170, "113Cd": 22.193175,
    "119Sn": 37.290632, "133Cs": 13.116142, "207Pb": 20.920599,
}
_MAS_WORDS = re.compile(r"mas|rfdr|redor|rotor", re.I)
_SOLUTION_PROBES = re.compile(
    r"bbo|bbfo|txi|txo|tci|qxi|qnp|sei|bbi|dul|onenmr|id_?pfg|autox|prodigy|cryo|inverse", re.I)
_STATIC_WORDS = re.compile(r"static|wide-?line|\bwl\b|solenoid", re.I)


def nucleus_name(name: str | None) -> str | None:
    """``"7Li"`` from ``"7Li"``, ``"Li7"``, ``"<7Li>"``, ``"LI7"``; None for "off" or empty."""
    if not name:
        return None
    s = str(name).strip().strip("<>").strip()
    m = re.fullmatch(r"(\d+)([A-Za-z]+)", s) or re.fullmatch(r"([A-Za-z]+)(\d+)", s)
    if not m:
        return None
    a, b = m.groups()
    mass, sym = (a, b) if a.isdigit() else (b, a)
    return f"{int(mass)}{sym.capitalize()}"


def field_from_channels(channels: Sequence[tuple[str, str | None, float | None]]
                        ) -> tuple[float | None, str | None]:
    """B0 (T) from the console channels ``(label, nucleus, MHz)``, first channel observed.

    A 1H channel gives B0 directly; otherwise the first channel whose nucleus has a
    tabulated frequency ratio.  Returns ``(None, None)`` when neither is available.
    """
    usable = [(label, nucleus_name(nuc), f) for label, nuc, f in channels
              if f is not None and f > 0]
    for label, nuc, f in usable:
        if nuc == "1H":
            return f / GAMMA_1H_MHZ_PER_T, f"{label} (1H)"
    for label, nuc, f in usable:
        if nuc in XI_PERCENT:
            xi = XI_PERCENT[nuc]
            return f * 100.0 / xi / GAMMA_1H_MHZ_PER_T, f"{label} ({nuc}, Xi = {xi:g} %)"
    return None, None


def _kind(text: str | None) -> str | None:
    if not text:
        return None
    if _STATIC_WORDS.search(text):
        return "static"
    if "mas" in text.lower():
        return "MAS"
    if _SOLUTION_PROBES.search(text):
        return "solution"
    return None


def decide_spinning(mas_rate_hz: float | None, mas_rate_source: str | None,
                    pulse_program: str | None, probe: str | None) -> tuple[str, str]:
    """``("MAS" | "static or solution", reason)`` from the rate, probe head and pulse program.

    Rules: a recorded rate (> 0) means MAS unless the probe head is a solution or static
    probe, or the pulse program is a static one (then the rate is a stale value of the MAS
    unit); without a rate, MAS only when both the probe head and the pulse program are MAS
    ones (rate not recorded by the console).
    """
    probe_kind = _kind(probe)
    pp_kind = "MAS" if pulse_program and _MAS_WORDS.search(pulse_program) else (
        "static" if pulse_program and _STATIC_WORDS.search(pulse_program) else None)
    probe_txt = f"probe head {probe!r}" if probe else "no probe head recorded"
    if mas_rate_hz is not None and mas_rate_hz > 0:
        rate = f"{mas_rate_source or 'MAS rate'} = {mas_rate_hz:g} Hz"
        if probe_kind in ("solution", "static"):
            return "static or solution", (f"{rate} is stale: {probe_txt} is a {probe_kind} "
                                          "probe")
        if pp_kind == "static":
            return "static or solution", (f"{rate} is stale: pulse program "
                                          f"{pulse_program!r} is a static one")
        extra = f", {probe_txt} is a MAS probe" if probe_kind == "MAS" else f", {probe_txt}"
        return "MAS", rate + extra
    if probe_kind == "MAS" and pp_kind == "MAS":
        return "MAS", (f"no MAS rate recorded, but {probe_txt} and pulse program "
                       f"{pulse_program!r} are MAS ones")
    if probe_kind == "MAS":
        return "static or solution", f"no MAS rate recorded ({probe_txt} is a MAS probe)"
    return "static or solution", f"no MAS rate recorded ({probe_txt})"


def acquisition_info(*, channels: Sequence[tuple[str, str | None, float | None]],
                     pulse_program: str | None, recycle_delay_s: float | None,
                     probe: str | None, mas_rate_hz: float | None,
                     mas_rate_source: str | None) -> dict[str, Any]:
    """The documented acquisition keys (see the module docstring) from vendor values."""
    field, source = field_from_channels(channels)
    spinning, reason = decide_spinning(mas_rate_hz, mas_rate_source, pulse_program, probe)
    return {
        "field_T": field, "field_source": source,
        "proton_frequency_MHz": field * GAMMA_1H_MHZ_PER_T if field is not None else None,
        "pulse_program": pulse_program or None,
        "recycle_delay_s": recycle_delay_s, "probe": probe or None,
        "mas_rate_hz": mas_rate_hz if mas_rate_hz and mas_rate_hz > 0 else None,
        "mas_rate_source": mas_rate_source if mas_rate_hz and mas_rate_hz > 0 else None,
        "spinning": spinning, "spinning_reason": reason,
    }
