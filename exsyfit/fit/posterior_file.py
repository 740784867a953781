"""Writing posterior.nc: netCDF4 groups in ArviZ's InferenceData layout, without ArviZ.

The file is written with h5netcdf alone (no xarray or ArviZ import, which cost more than the
writing itself); ``arviz.from_netcdf`` reads it as an ``InferenceData``.  Every group holds
its variables with named dimensions, one coordinate variable per dimension it uses, and the
attributes given; the root holds the file attributes (exsyfit version, model, diagnostics,
fingerprint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from exsyfit.files import output_error

__all__ = ["PosteriorGroup", "write_posterior_file"]


@dataclass
class PosteriorGroup:
    """One InferenceData group: ``variables`` name -> (dimension names, array), and the
    coordinate values of every dimension (unused ones are skipped)."""

    variables: Mapping[str, tuple[tuple[str, ...], np.ndarray]]
    coords: Mapping[str, np.ndarray]


def _put(group: Any, name: str, dims: tuple[str, ...], values: np.ndarray) -> None:
    import h5py

    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        group.create_variable(name, dims, dtype=h5py.string_dtype(),
                              data=values.astype(str).astype(object))
    else:
        group.create_variable(name, dims, data=values)


def write_posterior_file(path: str | Path, groups: Mapping[str, PosteriorGroup],
                         attrs: Mapping[str, Any]) -> None:
    """Write the groups to a netCDF4 (HDF5) file at ``path`` (already a temporary file).

    Raises
    ------
    exsyfit.errors.OutputError
        When the file cannot be written (disk full, permissions).
    """
    import h5netcdf

    stamp = datetime.now(UTC).isoformat()
    try:
        with h5netcdf.File(str(path), "w") as fh:
            for key, value in attrs.items():
                fh.attrs[key] = value
            for name, group in groups.items():
                g = fh.create_group(name)
                used = list(dict.fromkeys(d for dims, _ in group.variables.values()
                                          for d in dims))
                for dim in used:
                    coord = np.asarray(group.coords[dim])
                    g.dimensions[dim] = len(coord)
                    _put(g, dim, (dim,), coord)
                for var, (dims, values) in group.variables.items():
                    _put(g, var, tuple(dims), values)
                g.attrs["created_at"] = stamp
                g.attrs["inference_library"] = "exsyfit"
                for key, value in attrs.items():
                    g.attrs[key] = value
    except OSError as exc:
        raise output_error(path, exc) from exc
