"""Processed 2D spectra written by other programs (NMRPipe, Sparky), read through nmrglue.

:mod:`exsyfit.io.nmrpipe` and :mod:`exsyfit.io.sparky` share this: the size limit checked
before reading, the conversion of nmrglue's unit conversion objects into ppm axes, and the
checks that make the result a :class:`~exsyfit.io.spectrum.Spectrum2D` (real data, finite,
axes decreasing with index; increasing axes are flipped with the data).

What these files do not hold
    Neither format records the mixing time, and neither records scans or receiver gain, so
    the intensities are used as stored (``intensity_factor = 1``): a series must be
    processed and scaled identically in the other program.  The mixing time (and, for
    Sparky, the temperature) comes from the config: ``[data] mixing_time`` as a table
    ``{experiment = seconds}`` and ``[temperature] per_experiment``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_checks import MAX_POINTS
from exsyfit.io.metadata import ACQUISITION_KEYS
from exsyfit.io.spectrum import Spectrum2D

__all__ = ["check_file_size", "spectrum_from_arrays", "FOREIGN_FORMATS"]

#: Formats of processed spectra from other programs (no raw data, no intensity scale).
FOREIGN_FORMATS = ("nmrpipe", "sparky")


def check_file_size(path: Path, header_bytes: int) -> None:
    """Refuse files beyond :data:`MAX_POINTS` 4-byte points before nmrglue maps them."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror})") from exc
    if size < header_bytes:
        raise DataFormatError(f"{path}: {size} bytes, shorter than the {header_bytes}-byte "
                              "header of the format")
    if (size - header_bytes) // 4 > MAX_POINTS:
        raise DataFormatError(f"{path}: holds {(size - header_bytes) // 4} points; expected "
                              f"a 2D spectrum of at most {MAX_POINTS} points")


def spectrum_from_arrays(path: Path, data: np.ndarray, ppm_f1: np.ndarray,
                         ppm_f2: np.ndarray, *, nucleus: str, sf_mhz: float, fmt: str,
                         temperature_K: float | None, metadata: dict[str, Any],
                         temperature_key: str = "",
                         mixing_time: float | None = None) -> Spectrum2D:
    """Check a 2D array and its ppm axes and build the spectrum.

    The formats record no mixing time: ``mixing_time`` (s) is the caller's, None if not given.

    ``metadata`` gets the keys of :data:`exsyfit.io.metadata.ACQUISITION_KEYS` (None: these
    files do not record them) and the temperature source (``temperature_key`` names the
    header field the temperature came from).
    """
    if data.ndim != 2:
        raise DataFormatError(f"{path}: holds a {data.ndim}D spectrum of shape {data.shape}; "
                              "expected a 2D spectrum")
    if np.iscomplexobj(data):
        raise DataFormatError(f"{path}: holds complex data; expected the real part only "
                              "(delete the imaginaries when processing, e.g. nmrPipe -di)")
    if min(data.shape) < 2:
        raise DataFormatError(f"{path}: shape {data.shape}; expected at least 2 points in "
                              "each dimension")
    if not (np.isfinite(sf_mhz) and sf_mhz > 0):
        raise DataFormatError(f"{path}: spectrometer frequency {sf_mhz!r} MHz; expected a "
                              "positive number")
    axes = []
    for name, ax in (("F1", ppm_f1), ("F2", ppm_f2)):
        ax = np.asarray(ax, dtype=float)
        step = np.diff(ax)
        if not np.all(np.isfinite(ax)) or not (np.all(step < 0) or np.all(step > 0)):
            raise DataFormatError(f"{path}: the {name} ppm axis is not finite and monotonic "
                                  f"(from {ax[0]:g} to {ax[-1]:g}); expected a spectral width "
                                  "and frequency > 0")
        axes.append(ax)
    data = np.asarray(data, dtype=float)
    if axes[0][1] > axes[0][0]:
        data, axes[0] = data[::-1], axes[0][::-1]
    if axes[1][1] > axes[1][0]:
        data, axes[1] = data[:, ::-1], axes[1][::-1]
    if not np.all(np.isfinite(data)):
        raise DataFormatError(f"{path}: the data contain NaN or infinite values")
    return Spectrum2D(
        data=np.ascontiguousarray(data), ppm_f1=axes[0].copy(), ppm_f2=axes[1].copy(),
        nucleus=nucleus, sf_mhz=float(sf_mhz),
        mixing_time_s=None if mixing_time is None else float(mixing_time),
        temperature_K=temperature_K, source=str(path), format=fmt, intensity_factor=1.0,
        metadata={**dict.fromkeys(ACQUISITION_KEYS),
                  "spinning_reason": f"not recorded in {fmt} files",
                  "temperature_source": f"set value, uncalibrated (file {temperature_key})"
                  if temperature_K is not None else None,
                  "temperature_calibrated": False, **metadata})
