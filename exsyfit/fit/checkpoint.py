"""Append-only HDF5 checkpoint of a running chain, and the fingerprint of result files.

The checkpoint is created atomically (:func:`exsyfit.files.atomic_path`) with its metadata and
empty, resizable datasets; every chunk of steps is then *appended* (as emcee's HDF5 backend
does), so the cost of writing is proportional to the new steps, not to the whole chain, and a
resumed run reads the file once.  The number of committed steps is an attribute written after
the data of each chunk: a run killed in the middle of an append resumes from the last complete
chunk.

File layout (HDF5, h5py)::

    /chain      float64 (n_steps, n_walkers, n_parameters)
    /log_prob   float64 (n_steps, n_walkers)
    /accepted   float64 (n_walkers,)   accepted moves per walker, summed over all steps
    /map_theta  float64 (n_parameters,)
    attrs: format, n_steps, parameter_names (JSON), sampling_seconds,
           n_log_prob_evaluations, exsyfit_fingerprint

Result files (the checkpoint and posterior.nc, which is HDF5 too) carry the fingerprint of
the inputs and the configuration that produced them as the root attribute
``exsyfit_fingerprint``; :func:`read_fingerprint` returns it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exsyfit.errors import ExsyfitError, FitError
from exsyfit.files import atomic_path, output_error

__all__ = ["Checkpoint", "CheckpointState", "read_fingerprint", "FINGERPRINT_ATTR"]

FINGERPRINT_ATTR = "exsyfit_fingerprint"
"""Root attribute holding the fingerprint of the inputs and config of a result file."""
_FORMAT = "exsyfit-checkpoint-2"


def _corrupt(path: Path, exc: BaseException) -> ExsyfitError:
    return ExsyfitError(
        f"{path}: cannot be read as an exsyfit checkpoint/posterior ({type(exc).__name__}: "
        f"{exc}); the file is truncated or corrupt: delete it and start afresh "
        "(without --resume, or with --force)")


def read_fingerprint(path: str | Path) -> str | None:
    """The fingerprint stored in a checkpoint or posterior file.

    Parameters
    ----------
    path : path
        A checkpoint (``checkpoint.h5``) or ``posterior.nc`` written by exsyfit.

    Returns
    -------
    str or None
        The string given as ``fingerprint`` when the file was written; None when the file
        carries none (written without one, or by an older version).

    Raises
    ------
    exsyfit.errors.ExsyfitError
        When the file does not exist or is not a readable HDF5 file (truncated, corrupt).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ExsyfitError(f"{path}: not found; expected a checkpoint or posterior file")
    try:
        with h5py.File(path, "r") as fh:
            value = fh.attrs.get(FINGERPRINT_ATTR)
    except (OSError, ValueError, KeyError) as exc:
        raise _corrupt(path, exc) from exc
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def write_fingerprint(path: str | Path, fingerprint: str) -> None:
    """Store ``fingerprint`` as the root attribute of an HDF5 file being written."""
    import h5py

    try:
        with h5py.File(path, "r+") as fh:
            fh.attrs[FINGERPRINT_ATTR] = fingerprint
    except OSError as exc:
        raise output_error(path, exc) from exc


@dataclass
class CheckpointState:
    """What a checkpoint holds (see the module docstring)."""

    chain: np.ndarray
    log_prob: np.ndarray
    accepted: np.ndarray
    map_theta: np.ndarray
    sampling_seconds: float
    n_log_prob_evaluations: int
    fingerprint: str | None


class Checkpoint:
    """An append-only chain file.

    Parameters
    ----------
    path : path
        The HDF5 file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def create(self, n_walkers: int, parameter_names: tuple[str, ...], map_theta: np.ndarray,
               fingerprint: str | None = None) -> None:
        """Write a new, empty checkpoint atomically (replacing any old one)."""
        import h5py

        n_dim = len(parameter_names)
        with atomic_path(self.path) as tmp:
            try:
                with h5py.File(tmp, "w") as fh:
                    fh.attrs["format"] = _FORMAT
                    fh.attrs["n_steps"] = 0
                    fh.attrs["parameter_names"] = json.dumps(list(parameter_names))
                    fh.attrs["sampling_seconds"] = 0.0
                    fh.attrs["n_log_prob_evaluations"] = 0
                    if fingerprint is not None:
                        fh.attrs[FINGERPRINT_ATTR] = fingerprint
                    rows = max(1, min(256, 2**20 // max(8 * n_walkers * n_dim, 1)))
                    fh.create_dataset("chain", (0, n_walkers, n_dim), maxshape=(None, n_walkers,
                                      n_dim), chunks=(rows, n_walkers, n_dim), dtype="f8")
                    fh.create_dataset("log_prob", (0, n_walkers), maxshape=(None, n_walkers),
                                      chunks=(rows, n_walkers), dtype="f8")
                    fh.create_dataset("accepted", data=np.zeros(n_walkers))
                    fh.create_dataset("map_theta", data=np.asarray(map_theta, dtype=float))
            except OSError as exc:
                raise output_error(self.path, exc) from exc

    def append(self, chain: np.ndarray, log_prob: np.ndarray, accepted: np.ndarray,
               sampling_seconds: float, n_log_prob_evaluations: int) -> None:
        """Append steps (n, n_walkers, n_parameters) and update the totals."""
        import h5py

        try:
            with h5py.File(self.path, "r+") as fh:
                n_old = int(fh.attrs["n_steps"])
                n_new = n_old + len(chain)
                for name, block in (("chain", chain), ("log_prob", log_prob)):
                    ds = fh[name]
                    ds.resize(n_new, axis=0)
                    ds[n_old:n_new] = block
                fh["accepted"][...] = accepted
                fh.attrs["sampling_seconds"] = float(sampling_seconds)
                fh.attrs["n_log_prob_evaluations"] = int(n_log_prob_evaluations)
                fh.flush()
                fh.attrs["n_steps"] = n_new  # committed last: a torn append is ignored
        except OSError as exc:
            raise output_error(self.path, exc) from exc

    def read(self, n_walkers: int, parameter_names: tuple[str, ...]) -> CheckpointState:
        """Read the committed steps, checking that they belong to this problem.

        Raises
        ------
        exsyfit.errors.ExsyfitError
            When the file is truncated or corrupt.
        exsyfit.errors.FitError
            When it was written for another model (parameters or walkers differ).
        """
        import h5py

        try:
            with h5py.File(self.path, "r") as fh:
                if fh.attrs.get("format") != _FORMAT:
                    raise ValueError(f"format {fh.attrs.get('format')!r}, expected {_FORMAT!r}")
                n = int(fh.attrs["n_steps"])
                names = tuple(json.loads(fh.attrs["parameter_names"]))
                chain = fh["chain"][:n]
                log_prob = fh["log_prob"][:n]
                accepted = fh["accepted"][...]
                map_theta = fh["map_theta"][...]
                seconds = float(fh.attrs["sampling_seconds"])
                evals = int(fh.attrs["n_log_prob_evaluations"])
                fp = fh.attrs.get(FINGERPRINT_ATTR)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _corrupt(self.path, exc) from exc
        if names != tuple(parameter_names) or chain.shape[1] != n_walkers:
            raise FitError(
                f"{self.path}: the checkpoint has {chain.shape[1]} walkers x {len(names)} "
                f"parameters; the current config needs {n_walkers} x {len(parameter_names)}: "
                "the model changed since the interrupted run, so start afresh (without "
                "--resume, or with --force)")
        if len(chain) and not (np.all(np.isfinite(chain)) and len(log_prob) == len(chain)):
            raise _corrupt(self.path, ValueError("non-finite values in the chain"))
        return CheckpointState(
            chain=chain, log_prob=log_prob, accepted=accepted, map_theta=map_theta,
            sampling_seconds=seconds, n_log_prob_evaluations=evals,
            fingerprint=(fp.decode() if isinstance(fp, bytes) else fp))
