"""The in-memory 2D spectrum every reader returns.

Axes convention
---------------
``data[i1, i2]`` is the real (absorptive) intensity at row ``i1`` (indirect dimension F1, the
frequency during t1 = the site the magnetisation *started* on) and column ``i2`` (direct
dimension F2, the site it was *detected* on).  ``ppm_f1`` and ``ppm_f2`` hold the chemical
shift of every row and column, in NMR order (index 0 = highest ppm, decreasing).

Intensity scale
---------------
Readers put every spectrum of a series on one intensity scale: Bruker processed data are
multiplied by 2**NC_proc, and (unless switched off) data are divided by the number of scans and
the receiver gain.  ``intensity_factor`` records the factor that was applied to the stored
numbers, so ``data / intensity_factor`` gives back what the file held.

Peak volumes are integrals over ppm in both dimensions (intensity x ppm^2), so they do not
depend on zero filling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Spectrum2D:
    """A processed, real, pure-absorption 2D exchange spectrum with its metadata.

    Parameters
    ----------
    data : numpy.ndarray
        Real intensities, shape (n_f1, n_f2).
    ppm_f1, ppm_f2 : numpy.ndarray
        Chemical shift (ppm) of each row and column, decreasing with index.
    nucleus : str
        Observed nucleus, e.g. ``"7Li"``.
    sf_mhz : float
        Spectrometer (reference) frequency of the observed nucleus, MHz.
    mixing_time_s : float or None
        Mixing time, s.
    temperature_K : float or None
        Temperature read from the file (the set/gas temperature, uncalibrated), K.
    source : str
        Folder the spectrum was read from, as given by the user.
    format : str
        ``"bruker-processed"``, ``"bruker-raw"`` or ``"varian"``.
    scans : int or None
        Number of scans.
    receiver_gain : float or None
        Receiver gain.
    mas_rate_hz : float or None
        Magic-angle spinning rate, Hz.
    pulse_program : str or None
        Pulse program / sequence name.
    intensity_factor : float
        Factor already applied to the stored numbers to reach the common scale.
    metadata : dict
        Further vendor parameters (keys documented in :mod:`exsyfit.io.metadata`).
    sample_temperature_K : float or None
        Sample temperature used by the analysis, K: the set temperature through the
        calibration of :mod:`exsyfit.io.temperature`, and for spectra of
        :func:`exsyfit.io.series.read_series` the mean of the spectrum's temperature group
        (the value written to volumes.csv).  None when read by a vendor reader alone.
    temperature_sigma_K : float or None
        1-sigma uncertainty of ``sample_temperature_K``, K.
    experiment : str
        Name of the experiment in the series (``"12"``, ``"exsy.fid[3]"``), as in
        volumes.csv; empty when read by a vendor reader alone.
    """

    data: np.ndarray
    ppm_f1: np.ndarray
    ppm_f2: np.ndarray
    nucleus: str = "7Li"
    sf_mhz: float = float("nan")
    mixing_time_s: float | None = None
    temperature_K: float | None = None
    source: str = ""
    format: str = ""
    scans: int | None = None
    receiver_gain: float | None = None
    mas_rate_hz: float | None = None
    pulse_program: str | None = None
    intensity_factor: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)
    sample_temperature_K: float | None = None
    temperature_sigma_K: float | None = None
    experiment: str = ""

    @property
    def analysis_temperature_K(self) -> float | None:
        """The sample temperature when known, else the set temperature from the file, K."""
        if self.sample_temperature_K is not None:
            return self.sample_temperature_K
        return self.temperature_K

    @property
    def shape(self) -> tuple[int, int]:
        """Shape (n_f1, n_f2) of the data."""
        return self.data.shape  # type: ignore[return-value]

    @property
    def ppm_step_f1(self) -> float:
        """Absolute ppm spacing between rows."""
        return float(abs(self.ppm_f1[1] - self.ppm_f1[0])) if len(self.ppm_f1) > 1 else 1.0

    @property
    def ppm_step_f2(self) -> float:
        """Absolute ppm spacing between columns."""
        return float(abs(self.ppm_f2[1] - self.ppm_f2[0])) if len(self.ppm_f2) > 1 else 1.0
