"""Does an experiment spin at the magic angle?  Decided from the acquisition, with the reason.

A recorded spinning rate alone is not proof: Bruker's ``MASR`` keeps its last value when a
solution probe is put in, and solution samples spin slowly (tens of Hz) about a vertical axis.
The evidence, strongest first:

1. no rate, or a rate below :data:`MIN_MAS_RATE_HZ` (500 Hz): not MAS;
2. the probe head (Bruker ``PROBHD``, Varian ``probe_``): a name with "MAS" is a MAS probe;
   any other recorded name (e.g. "5 mm PABBO BB/19F-1H/D Z-GRD", "TXI", "BBFO") is not, and
   the rate is stale;
3. a pulse program with pulsed field gradients (``gp`` in the name, e.g. ``noesygpph``) is a
   solution experiment;
4. otherwise (no probe head recorded, a program such as ``noesyph`` that is used both ways)
   the spectrum decides: spinning sidebands at +-1 MAS rate beside a site confirm MAS; without
   them the experiment is treated as not spinning and no MAS advice is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from exsyfit.errors import ExsyfitError

__all__ = ["MIN_MAS_RATE_HZ", "Acquisition", "Spinning", "read_acquisition", "decide_spinning"]

#: Slowest rate taken as magic-angle spinning, Hz (solution samples spin at ~20 Hz).
MIN_MAS_RATE_HZ = 500.0


@dataclass(frozen=True)
class Acquisition:
    """What the parameter files say about spinning.

    Attributes
    ----------
    rate_hz : float or None
        Recorded spinning rate (Bruker ``MASR``, Varian ``srate``), Hz.
    probe : str
        Probe head name ("" when not recorded).
    pulse_program : str
        Pulse program / sequence name ("" when not recorded).
    """

    rate_hz: float | None
    probe: str
    pulse_program: str


@dataclass(frozen=True)
class Spinning:
    """The decision.

    Attributes
    ----------
    mas : bool or None
        True: MAS; False: static or solution; None: the spectrum must decide (see
        :func:`decide_spinning`).
    rate_hz : float or None
        MAS rate, Hz, when ``mas`` is True or None.
    reason : str
        The evidence, in one sentence.
    """

    mas: bool | None
    rate_hz: float | None
    reason: str


def _jcamp_text(path: Path, key: str) -> str:
    """Value of ``##$KEY=`` in a JCAMP parameter file, without <>; "" if absent."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    m = re.search(rf"^##\${re.escape(key)}=\s*(.*)$", text, re.M)
    return m.group(1).strip().strip("<>").strip() if m else ""


def read_acquisition(folder: str | Path, fmt: str, rate_hz: float | None = None,
                     pulse_program: str | None = None) -> Acquisition:
    """Spinning rate, probe head and pulse program of an experiment folder.

    Parameters
    ----------
    folder : str or Path
        Bruker expno folder or Varian ``.fid`` folder.
    fmt : str
        ``"bruker"`` or ``"varian"``.
    rate_hz, pulse_program : optional
        Values already read by the series reader (used when given).
    """
    folder = Path(folder)
    if fmt.startswith("bruker"):
        probe = _jcamp_text(folder / "acqus", "PROBHD")
        program = pulse_program or _jcamp_text(folder / "acqus", "PULPROG")
    else:
        from exsyfit.io.varian import read_procpar

        try:
            pp = read_procpar(folder / "procpar")
        except (OSError, ValueError, ExsyfitError):  # an unreadable procpar: no evidence
            pp = {}
        probe_p, seq = pp.get("probe_"), pp.get("seqfil")
        probe = str(probe_p.values[0]) if probe_p is not None and probe_p.values else ""
        program = pulse_program or (str(seq.values[0]) if seq is not None and seq.values
                                    else "")
    return Acquisition(rate_hz, probe.strip().strip('"'), str(program or "").strip('"'))


def decide_spinning(acq: Acquisition, sidebands_seen: bool | None = None) -> Spinning:
    """Decide MAS or not from the acquisition (and, when it cannot tell, from the spectrum).

    Parameters
    ----------
    acq : Acquisition
    sidebands_seen : bool, optional
        Whether F2 spinning sidebands at +-1 recorded rate were found beside a site; consulted
        only when the parameter files cannot decide.

    Returns
    -------
    Spinning
        ``mas`` is None only when the files cannot decide and ``sidebands_seen`` is None.
    """
    rate = acq.rate_hz
    probe = f"probe head '{acq.probe}'" if acq.probe else "no probe head recorded"
    program = f"pulse program '{acq.pulse_program}'" if acq.pulse_program else \
        "no pulse program recorded"
    if not rate or rate <= 0:
        return Spinning(False, None, f"no spinning rate recorded ({probe}): static or solution")
    if rate < MIN_MAS_RATE_HZ:
        return Spinning(False, None, f"spinning rate {rate:g} Hz is below "
                        f"{MIN_MAS_RATE_HZ:g} Hz: solution sample spinning, not MAS")
    if acq.probe:
        if "mas" in acq.probe.lower():
            return Spinning(True, rate, f"MAS at {rate:g} Hz ({probe})")
        return Spinning(False, None, f"the recorded rate {rate:g} Hz is stale: {probe} is "
                        "not a MAS probe")
    if re.search(r"gp", acq.pulse_program.lower()):
        return Spinning(False, None, f"the recorded rate {rate:g} Hz is stale: {program} "
                        "uses pulsed field gradients (a solution experiment)")
    if sidebands_seen is None:
        return Spinning(None, rate, f"rate {rate:g} Hz recorded, {probe}, {program}")
    if sidebands_seen:
        return Spinning(True, rate, f"MAS at {rate:g} Hz: spinning sidebands at +-{rate:g} Hz "
                        f"beside a site confirm the recorded rate ({probe}, {program})")
    return Spinning(False, None, f"rate {rate:g} Hz recorded but {probe}, {program} does "
                    "not say MAS and no spinning sidebands were found at that rate: treated as "
                    "not spinning (the rate may be stale)")
