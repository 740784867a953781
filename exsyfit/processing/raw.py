"""One processing sequence for raw 2D data of every vendor: transform, phase, baseline.

The Bruker and Varian readers collect the raw planes (one per mixing time of an experiment),
the acquisition parameters and the user's options, and call :func:`process_planes`, which

1. transforms every plane with :func:`exsyfit.processing.transforms.transform_2d` (TopSpin's
   conventions, documented there);
2. chooses one set of phases for all planes: the user's (``"config"``), the automatic phase
   correction of :func:`exsyfit.processing.phasing.auto_phase` on the plane with the shortest
   mixing time (``"auto"``), or the values stored with the data (``"procs"`` for TopSpin's
   procs/proc2s, ``"procpar"`` for VnmrJ's rp/lp/rp1/lp1);
3. phases and baseline-corrects every plane and describes its processing for exact line
   profiles (:func:`exsyfit.processing.transforms.processing_description`).

The phases travel on each spectrum as ``metadata["phases"] = {"F2": {"p0_deg", "p1_deg"},
"F1": {"p0_deg", "p1_deg"}, "source": ...}`` (:func:`phases_metadata`), degrees in TopSpin's
convention (see :mod:`exsyfit.processing.phasing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from exsyfit.processing.transforms import (
    AcquisitionParameters,
    ProcessingOptions,
    auto_phase,
    finish_2d,
    processing_description,
    resolved_phases,
    transform_2d,
)

__all__ = ["RawProcessed", "phase_source", "phases_metadata", "process_planes"]

_PHASE_FIELDS = ("p0_f2", "p1_f2", "p0_f1", "p1_f1")


@dataclass(frozen=True)
class RawProcessed:
    """Result of :func:`process_planes`.

    Attributes
    ----------
    spectra : list of numpy.ndarray
        Real phased spectra (n_f1, n_f2), one per plane, volumes in signal amplitude x ppm^2.
    ppm_f1, ppm_f2 : numpy.ndarray
        Axes, decreasing with index.
    phases : tuple of float
        ``(p0_f2, p1_f2, p0_f1, p1_f1)``, degrees, TopSpin convention, shared by all planes.
    phases_meta : dict
        :func:`phases_metadata` of the phases.
    descriptions : list of dict
        ``processing_f1`` / ``processing_f2`` line descriptions per plane.
    fnmode : str
        F1 quadrature mode used.
    """

    spectra: list[np.ndarray]
    ppm_f1: np.ndarray
    ppm_f2: np.ndarray
    phases: tuple[float, float, float, float]
    phases_meta: dict[str, Any]
    descriptions: list[dict[str, dict[str, Any]]]
    fnmode: str


#: ``source`` of the phases of a spectrum TopSpin processed (its 2rr): applied by TopSpin.
TOPSPIN_PHASES = "applied by TopSpin (procs/proc2s)"


def phases_metadata(phases: Sequence[float], source: str) -> dict[str, Any]:
    """``{"F2": {"p0_deg", "p1_deg"}, "F1": {"p0_deg", "p1_deg"}, "source": source}``."""
    p0_2, p1_2, p0_1, p1_1 = (float(v) for v in phases)
    return {"F2": {"p0_deg": p0_2, "p1_deg": p1_2}, "F1": {"p0_deg": p0_1, "p1_deg": p1_1},
            "source": source}


def phase_source(options: ProcessingOptions, stored: str) -> str:
    """Where the phases come from: ``"auto"``, ``"config"`` (any phase given) or ``stored``."""
    if options.auto_phase:
        return "auto"
    if any(getattr(options, f) is not None for f in _PHASE_FIELDS):
        return "config"
    return stored


def process_planes(planes: Sequence[np.ndarray], acq: AcquisitionParameters,
                   options: ProcessingOptions | None = None,
                   mixing_times: Sequence[float | None] | None = None,
                   stored_phases: str = "procs") -> RawProcessed:
    """Process the raw planes of one experiment the same way, with one set of phases.

    Parameters
    ----------
    planes : sequence of numpy.ndarray
        Complex raw data (rows, td2) per plane, in the Bruker sense of rotation (the Varian
        reader conjugates first), each already divided by its normalisation.
    acq : AcquisitionParameters
        Acquisition parameters and stored processing settings.
    options : ProcessingOptions, optional
        User overrides; ``auto_phase`` fits the phases on the plane with the shortest mixing
        time and applies them to all planes.
    mixing_times : sequence of float, optional
        Mixing time of each plane, s (chooses the auto-phase reference).
    stored_phases : str
        Name of the source of the stored phases, for the metadata.

    Returns
    -------
    RawProcessed
    """
    options = options or ProcessingOptions()
    if not planes:
        raise ValueError("no raw planes to process")
    hcs = [transform_2d(p, acq, options) for p in planes]
    phases = resolved_phases(options, acq)
    if options.auto_phase:
        mixes = list(mixing_times) if mixing_times is not None else [None] * len(hcs)
        ref = int(np.argmin([m if m is not None else np.inf for m in mixes]))
        phases = auto_phase([hcs[ref]], start=phases)
    spectra = [finish_2d(hc, phases, options) for hc in hcs]
    descriptions = [processing_description(acq, options, p.shape[0], p.shape[1])
                    for p in planes]
    fnmode = options.fnmode or acq.fnmode
    return RawProcessed(spectra=spectra, ppm_f1=hcs[0].ppm_f1, ppm_f2=hcs[0].ppm_f2,
                        phases=phases,
                        phases_meta=phases_metadata(phases, phase_source(options, stored_phases)),
                        descriptions=descriptions, fnmode=fnmode)
