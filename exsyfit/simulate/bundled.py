"""The bundled simulated series (``spectra/``) and the ``python -m`` command line.

::

    python -m exsyfit.simulate.series bundled --outdir spectra
    python -m exsyfit.simulate.series series OUTDIR --kind three_site --format varian
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from exsyfit.simulate.series import (
    DEFAULT_MIXING_TIMES_S,
    DEFAULT_TEMPERATURES_K,
    FORMATS,
    Acquisition,
    simulate_series,
)
from exsyfit.simulate.truth import Truth, example_truth, truth_json

__all__ = ["BUNDLED", "BUNDLED_THREE_SITE", "write_bundled", "main"]


# --------------------------------------------------------------------------------------------
# bundled spectra
# --------------------------------------------------------------------------------------------

BUNDLED: dict[str, dict[str, Any]] = {
    "argyrodite_li2s_bruker_processed": dict(
        format="bruker-processed", seed=20240601,
        temperatures_K=[263.0, 288.0, 313.0, 338.0],
        mixing_times_s=[0.005, 0.02, 0.08, 0.3, 1.0],
        acquisition=Acquisition(n_f1=128, n_f2=512),
    ),
    "argyrodite_li2s_bruker_raw": dict(
        format="bruker-raw", seed=20240602,
        temperatures_K=[273.0, 303.0, 333.0],
        mixing_times_s=[0.01, 0.05, 0.2, 0.8],
        acquisition=Acquisition(td1=32, td2=256),
    ),
    "argyrodite_li2s_varian": dict(
        format="varian", seed=20240603,
        temperatures_K=[283.0, 323.0],
        mixing_times_s=[0.01, 0.1, 0.5],
        acquisition=Acquisition(td1=64, td2=256),
    ),
}


#: Three-site series (``example_truth("three_site")``): small, 3 temperatures x 5 mixing
#: times; the F2 window (80 ppm about 0.4 ppm) holds the LLZO sidebands at +-32 ppm.
BUNDLED_THREE_SITE: dict[str, dict[str, Any]] = {
    "three_site_bruker_processed": dict(
        format="bruker-processed", seed=20240611,
        temperatures_K=[273.0, 303.0, 333.0],
        mixing_times_s=[0.01, 0.05, 0.15, 0.4, 1.0],
        acquisition=Acquisition(n_f1=128, n_f2=512, carrier_ppm=0.4),
    ),
}


def write_bundled(outdir: str | Path = "spectra", *, overwrite: bool = True) -> dict[str, Path]:
    """(Re)generate the bundled simulated series in ``outdir`` (deterministic seeds).

    The argyrodite/Li2S series (:data:`BUNDLED`) and the three-site series
    (:data:`BUNDLED_THREE_SITE`).  Each series folder gets its experiments,
    ``truth_volumes.csv`` and ``truth.json``.
    """
    outdir = Path(outdir)
    written = {}
    for kind, series in (("argyrodite_li2s", BUNDLED), ("three_site", BUNDLED_THREE_SITE)):
        truth = example_truth(kind)
        for name, spec in series.items():
            written[name] = _write_bundled_series(outdir / name, truth, spec, overwrite)
    return written


def _write_bundled_series(folder: Path, truth: Truth, spec: dict[str, Any],
                          overwrite: bool) -> Path:
    """One bundled series: its experiments, ``truth_volumes.csv`` and ``truth.json``."""
    table = simulate_series(folder, truth, spec["temperatures_K"], spec["mixing_times_s"],
                            format=spec["format"], seed=spec["seed"],
                            acquisition=spec["acquisition"], overwrite=overwrite)
    table.to_csv(folder / "truth_volumes.csv", index=False, float_format="%.10g")
    info = {"truth": truth_json(truth), "format": spec["format"], "seed": spec["seed"],
            "temperatures_K": spec["temperatures_K"],
            "mixing_times_s": spec["mixing_times_s"],
            "acquisition": {k: v for k, v in asdict(spec["acquisition"]).items()
                            if k != "extra"}}
    (folder / "truth.json").write_text(json.dumps(info, indent=2) + "\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m exsyfit.simulate.series``: regenerate the bundled spectra or write a series."""
    parser = argparse.ArgumentParser(prog="python -m exsyfit.simulate.series",
                                     description="Write simulated 2D EXSY series.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundled", help="regenerate the bundled spectra/ series")
    b.add_argument("--outdir", default="spectra")
    s = sub.add_parser("series", help="write one simulated series")
    s.add_argument("outdir")
    s.add_argument("--kind", default="argyrodite_li2s", choices=["argyrodite_li2s",
                                                                  "three_site"])
    s.add_argument("--format", default="bruker-processed", choices=list(FORMATS))
    s.add_argument("--temperatures", type=float, nargs="+", default=list(DEFAULT_TEMPERATURES_K))
    s.add_argument("--mixing-times", type=float, nargs="+", default=list(DEFAULT_MIXING_TIMES_S))
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--noise", type=float, default=None, help="noise_rms of spectrum points")
    s.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "bundled":
        write_bundled(args.outdir)
        return 0
    truth = example_truth(args.kind)
    if args.noise is not None:
        truth = replace(truth, noise_rms=args.noise)
    table = simulate_series(args.outdir, truth, args.temperatures, args.mixing_times,
                            format=args.format, seed=args.seed, overwrite=args.overwrite)
    table.to_csv(Path(args.outdir) / "truth_volumes.csv", index=False, float_format="%.10g")
    return 0
