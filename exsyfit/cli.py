"""Command-line interface: parse, call the library, write.

Exit status: 0 success; 2 bad input (one ``error:`` message on stderr, no traceback);
1 anything unexpected.  Messages and progress go to stderr; tables to stdout.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exsyfit import __version__

log = logging.getLogger("exsyfit")

DEMO_EXAMPLE = "argyrodite_li2s"


class _StderrFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        return f"{prefix}{record.getMessage()}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _progress_factory(quiet: bool) -> Any:
    """tqdm bars on stderr when it is a terminal, else nothing (log lines still appear)."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    def make(description: str, total: int) -> Any:
        return tqdm(total=total, desc=description, file=sys.stderr, leave=False)

    return make


def _outdir(args: argparse.Namespace, config: Any) -> Path:
    from exsyfit.pipeline import default_outdir

    return Path(args.output) if args.output else default_outdir(config)


def _load(args: argparse.Namespace) -> Any:
    from exsyfit.config import load_config

    return load_config(args.config)


# ---------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace) -> int:
    from exsyfit.pipeline import run

    config = _load(args)
    outdir = _outdir(args, config)
    done = run(config, outdir, force=args.force, progress=_progress_factory(args.quiet))
    log.info("results in %s (report: %s)", outdir.resolve(), done["report"].get("html", ""))
    return 0


def _find_example(name: str) -> Path:
    from exsyfit.errors import ExsyfitError

    candidates = []
    env = os.environ.get("EXSYFIT_EXAMPLES")
    if env:
        candidates.append(Path(env))
    candidates += [Path.cwd() / "examples", Path(__file__).resolve().parents[1] / "examples"]
    for root in candidates:
        config = root / name / "config.toml"
        if config.is_file():
            return config
    raise ExsyfitError(
        f"examples/{name}/config.toml: not found in {', '.join(str(c) for c in candidates)}; "
        "run 'exsyfit demo' from the exsyfit source folder (it holds examples/ and "
        "spectra/), or set EXSYFIT_EXAMPLES to its examples/ folder"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from exsyfit.config import load_config
    from exsyfit.pipeline import run

    config = load_config(_find_example(DEMO_EXAMPLE))
    outdir = Path(args.output) if args.output else Path.cwd() / "exsyfit-demo"
    log.info("demo: %s -> %s", config.path, outdir)
    done = run(config, outdir, force=args.force, progress=_progress_factory(args.quiet))
    log.info("results in %s (report: %s)", outdir.resolve(), done["report"].get("html", ""))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from exsyfit.pipeline import fit

    config = _load(args)
    fit(config, _outdir(args, config), force=args.force, resume=args.resume,
        progress=_progress_factory(args.quiet))
    return 0


def cmd_integrate(args: argparse.Namespace) -> int:
    from exsyfit.pipeline import integrate

    config = _load(args)
    outdir = _outdir(args, config)
    table = integrate(config, outdir, force=args.force, progress=_progress_factory(args.quiet))
    log.info("%d volumes written to %s", len(table), outdir / "volumes.csv")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from exsyfit.pipeline import plot

    config = _load(args)
    for path in plot(config, _outdir(args, config)):
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from exsyfit.pipeline import report

    config = _load(args)
    paths = report(config, _outdir(args, config))
    for path in paths.values():
        print(path)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import pandas as pd

    config = _load(args)
    if config.data.volumes is not None:
        from exsyfit.integrate.volumes import read_volume_table

        table = read_volume_table(config.data.volumes, sites=config.site_names)
        overview = table.groupby("temperature_K").agg(
            spectra=("experiment", "nunique"),
            mixing_times_s=("mixing_time_s", lambda s: ", ".join(f"{v:g}" for v in sorted(
                set(s)))),
            peaks=("volume", "size"),
        )
        print(f"volume table {config.data.volumes}: {len(table)} volumes")
        print(overview.to_string())
        return 0
    from exsyfit.io.series import experiment_table

    table = experiment_table(list(config.data.paths), config.base_dir,
                             procno=config.data.procno, mixing_time=config.data.mixing_time,
                             temperature_calibration=config.temperature.as_dict())
    shown = [c for c in ("experiment", "format", "nucleus", "set_temperature_K",
                         "temperature_K", "temperature_source", "mixing_time_s", "scans",
                         "receiver_gain", "mas_rate_hz", "size", "has_processed", "has_raw")
             if c in table]
    if "mixing_time_error" in table and table["mixing_time_error"].notna().any():
        shown.append("mixing_time_error")
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_rows", 1000):
        print(table[shown].to_string(index=False))
    temps = sorted({round(float(t), 1) for t in table["temperature_K"].dropna()})
    tms = sorted({float(t) for t in table["mixing_time_s"].dropna()})
    print(f"\n{len(table)} experiments; {len(temps)} temperature(s): "
          f"{', '.join(f'{t:g}' for t in temps)} K; {len(tms)} mixing time(s): "
          f"{', '.join(f'{t:g}' for t in tms)} s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from exsyfit.simulate import series as simulate

    outdir = Path(args.outdir)
    if outdir.exists() and any(outdir.iterdir()) and not args.force:
        from exsyfit.errors import OutputExistsError

        raise OutputExistsError(f"{outdir}: exists and is not empty; use --force")
    truth = simulate.example_truth(args.kind)
    temps = [float(t) for t in args.temperatures.split(",")] if args.temperatures else None
    tms = [float(t) for t in args.mixing_times.split(",")] if args.mixing_times else None
    kwargs: dict[str, Any] = {"seed": args.seed}
    if temps:
        kwargs["temperatures_K"] = temps
    if tms:
        kwargs["mixing_times_s"] = tms
    if args.format == "volumes":
        table = simulate.simulate_volume_table(truth, temps or simulate.DEFAULT_TEMPERATURES_K,
                                               tms or simulate.DEFAULT_MIXING_TIMES_S,
                                               sigma=args.sigma, seed=args.seed)
        outdir.mkdir(parents=True, exist_ok=True)
        table.to_csv(outdir / "volumes.csv", index=False)
    else:
        simulate.simulate_series(outdir, truth, temps or simulate.DEFAULT_TEMPERATURES_K,
                                 tms or simulate.DEFAULT_MIXING_TIMES_S, format=args.format,
                                 seed=args.seed)
    log.info("simulated %s series written to %s", args.format, outdir)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from exsyfit.starter import write_starter_config

    path = write_starter_config(Path(args.data_folder), Path(args.output), force=args.force)
    log.info("starter config written to %s; edit the site names, then run "
             "'exsyfit check %s' and 'exsyfit run %s'", path, path, path)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    import matplotlib

    from exsyfit.batch import run_batch

    matplotlib.use("Agg")
    out = run_batch(args.configs, Path(args.output), workers=args.workers,
                    scheduler=args.scheduler, force=args.force,
                    progress=_progress_factory(args.quiet))
    table = out.table
    for row in table[table["status"] != "ok"].itertuples():
        print(f"error: {row.config}: {row.error}", file=sys.stderr)
    n_ok = int((table["status"] == "ok").sum())
    log.info("%d of %d configs ok (%d with current results kept); %s", n_ok, len(table),
             int(table["reused"].sum()), ", ".join(str(p) for p in out.files))
    return out.exit_status


def cmd_info(args: argparse.Namespace) -> int:
    from exsyfit.info import describe

    print(describe(args.topic))
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``exsyfit`` command."""
    parser = argparse.ArgumentParser(
        prog="exsyfit",
        description="Li-ion exchange rates and activation energies from 2D EXSY NMR series.",
    )
    parser.add_argument("--version", action="version", version=f"exsyfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def stage(name: str, func: Any, helptext: str, force: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("config", metavar="CONFIG", help="TOML configuration file")
        p.add_argument("-o", "--output", metavar="OUTDIR",
                       help="output folder (default: results/ beside the config)")
        p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
        if force:
            p.add_argument("--force", action="store_true", help="overwrite existing results")
        p.set_defaults(func=func)
        return p

    stage("run", cmd_run, "the whole job: integrate, fit, figures and report")
    p = stage("fit", cmd_fit, "fit the volume table (data.volumes or OUTDIR/volumes.csv)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted fit from its checkpoint")
    stage("check", cmd_check, "show the experiments (or volume table) without computing",
          force=False)
    stage("integrate", cmd_integrate, "read the spectra and write volumes.csv")
    stage("plot", cmd_plot, "draw the figures of an earlier fit", force=False)
    stage("report", cmd_report, "write report.md and report.html of an earlier fit",
          force=False)

    p = sub.add_parser("demo", help="run the bundled example",
                       description="run the bundled example (examples/ and spectra/)")
    p.add_argument("-o", "--output", metavar="OUTDIR",
                   help="output folder (default: ./exsyfit-demo)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--force", action="store_true", help="overwrite existing results")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="write a simulated EXSY series",
                       description="write a simulated EXSY series in a vendor format, or a "
                       "volume table")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--format", default="bruker-processed",
                   choices=["bruker-processed", "bruker-raw", "varian", "volumes"])
    p.add_argument("--kind", default="argyrodite_li2s", choices=["argyrodite_li2s",
                                                                 "three_site"])
    p.add_argument("--temperatures", metavar="T1,T2,...", help="temperatures, K")
    p.add_argument("--mixing-times", metavar="t1,t2,...", help="mixing times, s")
    p.add_argument("--sigma", type=float, default=0.002,
                   help="noise of the volumes (volumes format only)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("init", help="write a starter config for a data folder",
                       description="find the series in DATA_FOLDER, propose sites by peak "
                       "picking, and write a commented starter config")
    p.add_argument("data_folder", metavar="DATA_FOLDER")
    p.add_argument("-o", "--output", default="exsyfit.toml", metavar="CONFIG",
                   help="config file to write (default: ./exsyfit.toml)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("batch", help="run many configs on Dask (local cores or a cluster)",
                       description="run the whole job of each config as one Dask task: on an "
                       "embedded local cluster (one worker process per core) or on a running "
                       "scheduler; results in OUTDIR/<name>/, OUTDIR/batch.csv and "
                       "OUTDIR/comparison.*; current results are kept")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="TOML configuration files")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--force", action="store_true",
                   help="run every config again, even when its results are current")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("info", help="models and configuration keys",
                       description="describe the models and every configuration key")
    p.add_argument("topic", nargs="?", default="all",
                   choices=["all", "config", "models", "processing", "integration", "plots"])
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``exsyfit`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    _setup_logging(getattr(args, "quiet", False))
    if args.command in ("run", "demo", "integrate", "plot", "report"):
        # figures are only written to files here; notebooks keep their own backend
        import matplotlib

        matplotlib.use("Agg")
    from exsyfit.errors import ExsyfitError

    try:
        return int(args.func(args))
    except ExsyfitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
