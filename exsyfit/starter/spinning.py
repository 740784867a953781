"""MAS or not, for ``exsyfit init``: the readers' decision, checked against the spectrum.

The readers decide from the parameter files (:func:`exsyfit.io.metadata.decide_spinning`:
the recorded rate, the probe head and the pulse program; keys ``spinning`` and
``spinning_reason`` of the experiment table).  A recorded rate alone is not proof: the MAS
unit's last value stays in the files of a static or solution experiment.  So when the readers
say MAS on the strength of the rate alone (no MAS probe head recorded), ``init`` asks more:

1. a rate below :data:`MIN_MAS_RATE_HZ` (500 Hz) is solution sample spinning, not MAS;
2. a pulse program with pulsed field gradients (``gp`` in its name, e.g. ``noesygpph``) is a
   solution experiment;
3. otherwise the spectrum decides: spinning sidebands at +-1 recorded rate beside a site
   confirm MAS; without them the experiment is treated as not spinning, and no sideband or
   rotor-synchronisation advice is given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_MAS_RATE_HZ", "Acquisition", "Spinning", "acquisition_of", "decide_spinning"]

#: Slowest rate taken as magic-angle spinning, Hz (solution samples spin at ~20 Hz).
MIN_MAS_RATE_HZ = 500.0


@dataclass(frozen=True)
class Acquisition:
    """What the readers found about spinning (experiment-table columns).

    Attributes
    ----------
    rate_hz : float or None
        Recorded spinning rate (Bruker ``MASR``, Varian ``srate``), Hz.
    probe : str
        Probe head name ("" when not recorded).
    pulse_program : str
        Pulse program / sequence name ("" when not recorded).
    spinning : str
        The readers' decision, ``"MAS"`` or ``"static or solution"``.
    reason : str
        The readers' reason.
    """

    rate_hz: float | None
    probe: str
    pulse_program: str
    spinning: str
    reason: str


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


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def acquisition_of(row: Any) -> Acquisition:
    """The spinning facts of one experiment-table row (a mapping or pandas Series)."""
    rate = row.get("mas_rate_hz")
    rate = float(rate) if rate is not None and math.isfinite(float(rate)) and rate > 0 else None
    return Acquisition(rate, _text(row.get("probe")), _text(row.get("pulse_program")),
                       _text(row.get("spinning")) or ("MAS" if rate else "static or solution"),
                       _text(row.get("spinning_reason")) or
                       (f"spinning rate {rate:g} Hz recorded" if rate else
                        "no spinning rate recorded"))


def decide_spinning(acq: Acquisition, sidebands_seen: bool | None = None) -> Spinning:
    """Decide MAS or not (see the module docstring).

    Parameters
    ----------
    acq : Acquisition
    sidebands_seen : bool, optional
        Whether F2 spinning sidebands at +-1 recorded rate were found beside a site; consulted
        only when the readers say MAS on the strength of the rate alone.

    Returns
    -------
    Spinning
        ``mas`` is None only when the spectrum must decide and ``sidebands_seen`` is None.
    """
    rate = acq.rate_hz
    if acq.spinning != "MAS" or not rate:
        return Spinning(False, None, acq.reason)
    if "mas" in acq.probe.lower():
        return Spinning(True, rate, f"MAS at {rate:g} Hz ({acq.reason})")
    program = f"pulse program '{acq.pulse_program}'" if acq.pulse_program else \
        "no pulse program recorded"
    if rate < MIN_MAS_RATE_HZ:
        return Spinning(False, None, f"{acq.reason}, below {MIN_MAS_RATE_HZ:g} Hz: solution "
                        "sample spinning, not MAS")
    if re.search(r"gp", acq.pulse_program.lower()):
        return Spinning(False, None, f"{acq.reason}, but {program} uses pulsed field "
                        "gradients (a solution experiment): the rate is stale")
    if sidebands_seen is None:
        return Spinning(None, rate, f"{acq.reason}, {program}")
    if sidebands_seen:
        return Spinning(True, rate, f"MAS at {rate:g} Hz: spinning sidebands at +-{rate:g} Hz "
                        f"beside a site confirm the recorded rate ({acq.reason}, {program})")
    return Spinning(False, None, f"{acq.reason} and {program}, but no MAS probe head and no "
                    "spinning sidebands at that rate: treated as not spinning (the rate may be "
                    "stale)")
