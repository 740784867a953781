"""Results of one run become visible together, and only results of the current inputs.

A stage that writes several result files (``fit``, ``run``) writes them into a hidden work
folder ``OUTDIR/.exsyfit-run/`` first, then puts them in place:

1. the work folder fills up (checkpoints, posterior.nc, summary.json, figures, ...); a kill or a
   full disk at this point leaves the earlier results in OUTDIR untouched;
2. ``OUTDIR/run.json`` (the manifest of the earlier results) is removed and a marker
   ``OUTDIR/.exsyfit-switching`` is written;
3. every file is renamed into OUTDIR (same file system: each rename is atomic);
4. the new ``run.json`` is written and the marker removed.

A kill between 2 and 4 leaves the marker behind, and :func:`verify_results` refuses such an
OUTDIR ("results of two runs") instead of reading a mixed pair of summary.json and posterior.nc.

``run.json`` records the *fingerprint* of the job: SHA-256 of the config file and of every input
file (the volume table, or every file of the spectrometer folders), so ``fit --resume`` can tell
whether an interrupted or finished run belongs to the current inputs (see
:func:`job_fingerprint`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from exsyfit import __version__
from exsyfit.errors import ExsyfitError
from exsyfit.files import output_error, write_text_atomic

WORK_FOLDER = ".exsyfit-run"
MANIFEST = "run.json"
SWITCH_MARKER = ".exsyfit-switching"
FINGERPRINT_FILE = "fingerprint.json"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def job_fingerprint(config_path: Path | None, config_raw: Any, inputs: Sequence[Path],
                    extra: str = "", checksums: Mapping[Path, str] | None = None,
                    ) -> dict[str, str]:
    """Checksums that identify what a result was computed from.

    Parameters
    ----------
    config_path : path or None
        The config file (its bytes are hashed); ``None``: ``config_raw`` as canonical JSON.
    config_raw : mapping
        The parsed config (used when there is no file).
    inputs : sequence of path
        Input files (the volume table, or every file of the spectrometer folders), hashed in
        the order given together with their names.
    extra : str
        Anything else that changes the result (e.g. the stage).
    checksums : mapping, optional
        SHA-256 of input files already hashed by the caller, by path (the others are read).

    Returns
    -------
    dict
        ``config``, ``inputs`` and ``job`` (the combination), each a hex SHA-256.
    """
    if config_path is not None and Path(config_path).is_file():
        cfg = file_sha256(Path(config_path))
    else:
        cfg = hashlib.sha256(json.dumps(config_raw, sort_keys=True, default=str)
                             .encode()).hexdigest()
    known = checksums or {}
    h = hashlib.sha256()
    for path in inputs:
        digest = known.get(path) or file_sha256(Path(path))
        h.update(Path(path).name.encode() + b"\0" + digest.encode() + b"\n")
    inp = h.hexdigest()
    job = hashlib.sha256(f"{cfg}:{inp}:{extra}".encode()).hexdigest()
    return {"config": cfg, "inputs": inp, "job": job}


def describe_change(old: dict[str, str], new: dict[str, str]) -> str:
    """Which part of a fingerprint changed, in words."""
    parts = [what for key, what in (("config", "the config"), ("inputs", "the input data"))
             if old.get(key) != new.get(key)]
    return " and ".join(parts) if parts else "the job"


def read_manifest(outdir: Path) -> dict[str, Any] | None:
    """The ``run.json`` of OUTDIR, or None when there is none (or it is unreadable)."""
    path = outdir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def verify_results(outdir: Path, names: Iterable[str]) -> None:
    """Refuse results that do not belong together.

    Raises
    ------
    ExsyfitError
        When a switch of results was interrupted, or a file named in ``names`` differs from the
        one ``run.json`` recorded (written by another run, or edited).
    """
    if (outdir / SWITCH_MARKER).exists():
        raise ExsyfitError(
            f"{outdir}: an earlier run was interrupted while its results were put in place, so "
            "the files may come from two runs; rerun 'exsyfit fit' (or 'run') with --force")
    manifest = read_manifest(outdir)
    if manifest is None:
        return  # results written by hand or by an older version: nothing to check against
    recorded = manifest.get("files", {})
    for name in names:
        path = outdir / name
        if name in recorded and path.exists() and file_sha256(path) != recorded[name]:
            raise ExsyfitError(
                f"{path}: differs from the file of the run recorded in {outdir / MANIFEST} "
                "(written by another run, or edited); rerun 'exsyfit fit' (or 'run') with "
                "--force")


class RunFolder:
    """The hidden work folder of one run inside OUTDIR and the switch of its results.

    Parameters
    ----------
    outdir : path
        The output folder (created if needed).
    fingerprint : dict
        :func:`job_fingerprint` of the job.
    """

    def __init__(self, outdir: Path, fingerprint: dict[str, str]) -> None:
        self.outdir = Path(outdir)
        self.fingerprint = dict(fingerprint)
        self.path = self.outdir / WORK_FOLDER

    # ------------------------------------------------------------------ work folder
    def interrupted_fingerprint(self) -> dict[str, str] | None:
        """Fingerprint of an interrupted run left in the work folder, if any."""
        try:
            return json.loads((self.path / FINGERPRINT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def start(self, *, keep: bool = False) -> Path:
        """Create the work folder (``keep``: continue the one an interrupted run left).

        Returns
        -------
        pathlib.Path
            The work folder.
        """
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            if self.path.is_symlink():
                raise ExsyfitError(f"{self.path}: is a symbolic link; expected exsyfit's work "
                                   "folder; remove it")
            if self.path.exists() and not keep:
                shutil.rmtree(self.path)
            self.path.mkdir(mode=0o700, exist_ok=keep)
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        write_text_atomic(self.path / FINGERPRINT_FILE, json.dumps(self.fingerprint) + "\n")
        return self.path

    def discard(self) -> None:
        """Remove the work folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    # ------------------------------------------------------------------ switch
    def commit(self, stage: str, skip: Iterable[str] = (),
               extra: dict[str, Any] | None = None) -> list[Path]:
        """Move every result of the work folder into OUTDIR together and write ``run.json``.

        Parameters
        ----------
        stage : str
            The stage that produced the results (``fit``, ``run``), recorded in run.json.
        skip : iterable of str
            Names (or glob patterns) in the work folder that are not results (checkpoints,
            ...): deleted with the work folder.
        extra : dict, optional
            More entries of run.json (e.g. ``volume_table_sha256``).

        Returns
        -------
        list of pathlib.Path
            The result paths in OUTDIR.
        """
        skip = [*skip, FINGERPRINT_FILE]
        entries = sorted(p for p in self.path.iterdir()
                         if not any(fnmatch.fnmatch(p.name, pattern) for pattern in skip))
        files = {}
        for entry in entries:
            for f in ([entry] if entry.is_file() else sorted(entry.rglob("*"))):
                if f.is_file():
                    files[f.relative_to(self.path).as_posix()] = file_sha256(f)
        manifest = {"stage": stage, "exsyfit_version": __version__,
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "fingerprint": self.fingerprint, "files": files, **(extra or {})}
        marker = self.outdir / SWITCH_MARKER
        moved = []
        try:
            write_text_atomic(marker, "results are being put in place\n")
            (self.outdir / MANIFEST).unlink(missing_ok=True)
            for entry in entries:
                target = self.outdir / entry.name
                if entry.is_dir():
                    if target.is_dir() and not target.is_symlink():
                        _merge_dir(entry, target)
                        continue
                    if target.exists() or target.is_symlink():
                        target.unlink()
                os.replace(entry, target)
                moved.append(target)
            write_text_atomic(self.outdir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
            marker.unlink(missing_ok=True)
        except OSError as exc:
            raise output_error(self.outdir, exc) from exc
        self.discard()
        return moved


def _merge_dir(src: Path, dst: Path) -> None:
    """Move the files of ``src`` into the existing folder ``dst`` (replacing same names)."""
    for f in sorted(src.rglob("*")):
        target = dst / f.relative_to(src)
        if f.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)
