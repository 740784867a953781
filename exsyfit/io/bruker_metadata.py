"""Header summary of a Bruker experiment folder, without reading its data.

:func:`read_metadata` is what ``exsyfit check`` shows for a Bruker experiment: dimensionality,
nucleus, set temperature, scans, gain, MAS rate, sizes, which data exist, the mixing time(s),
and the acquisition facts of :mod:`exsyfit.io.metadata`.  Header values are checked first
(:func:`exsyfit.io.bruker_checks.check_header`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_checks import check_header, temperature_problem
from exsyfit.io.bruker_params import (
    _acquisition_facts,
    _Experiment,
    _kind,
    _list_dimension,
    _mas_rate,
    _mixing_times,
    _temperature,
    _text,
)

__all__ = ["is_bruker_experiment", "read_metadata"]


def is_bruker_experiment(folder: str | Path) -> bool:
    """True if ``folder`` looks like a Bruker experiment (``acqus`` plus ``fid``/``ser``/pdata)."""
    p = Path(folder)
    return p.is_dir() and (p / "acqus").is_file() and any(
        (p / n).exists() for n in ("ser", "fid", "pdata"))


def read_metadata(folder: str | Path, *, procno: int = 1, mixing_time: str | float = "D8",
                  rotor_period_s: float | None = None) -> dict[str, Any]:
    """Header information of an experiment folder, without reading the data.

    Parameters
    ----------
    folder : str or Path
        Bruker experiment folder (``<expno>``).
    procno : int
        Processed-data number looked up for ``has_2rr`` and SI.
    mixing_time : str or float
        Where the mixing time comes from (see module doc).
    rotor_period_s : float, optional
        Rotor period for ``"vclist*rotor"``, s.

    Returns
    -------
    dict
        ``folder, dimensionality ("1D", "2D", "pseudo-2D", "3D", "pseudo-3D"), nucleus,
        nucleus_f1, sf_mhz, temperature_K, temperature_error (why TE is not usable, or None),
        scans, receiver_gain, mas_rate_hz, mas_rate_source, pulse_program, td (tuple of TD
        values), si (tuple or None), fnmode, has_2rr, has_ser, has_fid, mixing_time_s (float,
        list or None), mixing_time_source, mixing_time_error``.
    """
    exp = _Experiment(folder, procno)
    check_header(exp, processed=(exp.pdata / "2rr").is_file())
    kind = _kind(exp)
    td = [int(exp.num("TD"))]
    if exp.acqu2s is not None:
        td.append(int(exp.num("TD", which="acqu2s")))
    if exp.acqu3s is not None:
        td.append(int(exp.num("TD", which="acqu3s")))
    si = None
    if exp.procs is not None:
        si = [int(exp.num("SI", which="procs"))]
        if exp.proc2s is not None:
            si.append(int(exp.num("SI", which="proc2s")))
    rate, rate_src = _mas_rate(exp)
    n_planes = None
    if kind == "pseudo-3D":
        list_dim, _ = _list_dimension(exp)
        n_planes = int(exp.num("TD", which=list_dim))
    mix: Any = None
    mix_src = None
    mix_err = None
    try:
        mix, mix_src = _mixing_times(exp, mixing_time, rotor_period_s, n_planes)
    except DataFormatError as exc:
        mix_err = str(exc)
    sf = exp.sf("procs") if exp.procs is not None else float(exp.num("BF1"))
    return {
        "folder": str(folder),
        "dimensionality": kind,
        "nucleus": _text(exp.acqus, "NUC1"),
        "nucleus_f1": _text(exp.acqu2s, "NUC1") if exp.acqu2s else None,
        "sf_mhz": sf,
        "temperature_K": _temperature(exp),
        "temperature_error": temperature_problem(exp),
        "scans": int(exp.num("NS")),
        "receiver_gain": float(exp.num("RG")),
        "mas_rate_hz": rate,
        "mas_rate_source": rate_src,
        "pulse_program": _text(exp.acqus, "PULPROG"),
        "td": tuple(td),
        "si": tuple(si) if si else None,
        "fnmode": exp.fnmode() if exp.acqu2s is not None else None,
        "has_2rr": (exp.pdata / "2rr").is_file(),
        "has_ser": (exp.folder / "ser").is_file(),
        "has_fid": (exp.folder / "fid").is_file(),
        "mixing_time_s": mix,
        "mixing_time_source": mix_src,
        "mixing_time_error": mix_err,
        **_acquisition_facts(exp),
    }
