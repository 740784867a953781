"""Command-line interface: parse, call the library, write.

Exit status: 0 success; 2 bad input or a problem of the file system (one ``error:`` message on
stderr naming the file, key or column, no traceback); 130 interrupted (Ctrl-C); 1 anything
unexpected (a bug: the traceback is shown).  Messages and progress go to stderr; tables to
stdout.  Every stage that writes into an output folder holds a lock on it
(:func:`exsyfit.files.output_lock`), refuses output folders inside its input folders, and
refuses to overwrite earlier results without ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

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
    """The output folder: -o, else results/ beside the config; checked and created."""
    from exsyfit.workflow.pipeline import default_outdir

    outdir = Path(args.output) if args.output else default_outdir(config)
    return output_folder(outdir, config.input_folders())


def output_folder(outdir: Path, inputs: Sequence[Path] = ()) -> Path:
    """Check and create an output folder (see :func:`exsyfit.files.prepare_output_folder`)."""
    from exsyfit.files import prepare_output_folder

    return prepare_output_folder(outdir, inputs)


def _locked(outdir: Path) -> contextlib.AbstractContextManager[Any]:
    from exsyfit.files import output_lock

    return output_lock(outdir)


def _load(args: argparse.Namespace) -> Any:
    from exsyfit.config import load_config

    return load_config(args.config)


@contextlib.contextmanager
def _stage(args: argparse.Namespace) -> Iterator[tuple[Any, Path]]:
    """The config and output folder of a stage command, the folder locked meanwhile."""
    config = _load(args)
    outdir = _outdir(args, config)
    with _locked(outdir):
        yield config, outdir


def _print_paths(paths: Iterable[Path]) -> int:
    """Print one written path per line on stdout; exit status 0."""
    for path in paths:
        print(path)
    return 0


# ---------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import run

    with _stage(args) as (config, outdir):
        done = run(config, outdir, force=args.force, progress=_progress_factory(args.quiet),
                   workers=args.workers)
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
    from exsyfit.workflow.demo import demo_config
    from exsyfit.workflow.pipeline import run

    outdir = Path(args.output) if args.output else Path.cwd() / "exsyfit-demo"
    with demo_config(_find_example) as path:
        config = load_config(path)
        outdir = output_folder(outdir, config.input_folders())
        log.info("demo: %s -> %s", config.path, outdir)
        with _locked(outdir):
            done = run(config, outdir, force=args.force,
                       progress=_progress_factory(args.quiet), workers=args.workers)
    log.info("results in %s (report: %s)", outdir.resolve(), done["report"].get("html", ""))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import fit

    with _stage(args) as (config, outdir):
        fit(config, outdir, force=args.force, resume=args.resume,
            progress=_progress_factory(args.quiet), workers=args.workers)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import show

    with _stage(args) as (config, outdir):
        paths = show(config, outdir, force=args.force, progress=_progress_factory(args.quiet))
    return _print_paths(paths)


def cmd_integrate(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import integrate

    with _stage(args) as (config, outdir):
        table = integrate(config, outdir, force=args.force,
                          progress=_progress_factory(args.quiet))
    log.info("%d volumes written to %s", len(table), outdir / "volumes.csv")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import plot

    with _stage(args) as (config, outdir):
        earlier = sorted(p for p in (outdir / "figures").glob("*")
                         if p.is_file() and not p.name.startswith(("qc_", ".")))
        if earlier and not args.force:
            from exsyfit.errors import OutputExistsError

            raise OutputExistsError(
                f"{earlier[0]}: exists (with {len(earlier) - 1} more figure file(s)); use "
                "--force to overwrite, or -o to choose another output folder")
        paths = plot(config, outdir)
    return _print_paths(paths)


def cmd_report(args: argparse.Namespace) -> int:
    from exsyfit.workflow.pipeline import report

    with _stage(args) as (config, outdir):
        paths = report(config, outdir, force=args.force)
    return _print_paths(paths.values())


def cmd_check(args: argparse.Namespace) -> int:
    import pandas as pd

    config = _load(args)
    if config.data.volumes is not None or config.data.peak_tables:
        from exsyfit.workflow.pipeline import load_volumes

        # the table as the fit reads it: data.exclude applied (an unknown name is an error)
        table = load_volumes(config, config.data.volumes or Path())
        overview = table.groupby("temperature_K").agg(
            spectra=("experiment", "nunique"),
            mixing_times_s=("mixing_time_s", lambda s: ", ".join(f"{v:g}" for v in sorted(
                set(s)))),
            peaks=("volume", "size"),
        )
        print(f"volume table {config.data.volumes or 'of data.peak_tables'}: {len(table)} "
              "volumes")
        print(overview.to_string())
        return 0
    from exsyfit.io.series import experiment_table

    table = experiment_table(list(config.data.paths), config.base_dir,
                             procno=config.data.procno, mixing_time=config.data.mixing_time,
                             temperature_calibration=config.temperature.as_dict())
    shown = [c for c in ("experiment", "format", "nucleus", "set_temperature_K",
                         "temperature_K", "temperature_source", "mixing_time_s", "scans",
                         "receiver_gain", "mas_rate_hz", "size", "has_processed", "has_raw",
                         "field_T", "pulse_program", "recycle_delay_s", "probe", "spinning")
             if c in table]
    if "mixing_time_error" in table and table["mixing_time_error"].notna().any():
        shown.append("mixing_time_error")
    excluded_note = ""
    if config.data.exclude:
        from exsyfit.workflow.pipeline import excluded_experiments

        left_out = excluded_experiments(config, table["experiment"])
        table["excluded"] = table["experiment"].astype(str).isin(left_out)
        shown.append("excluded")
        excluded_note = f" ({int(table['excluded'].sum())} more left out by data.exclude)"
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_rows", 1000):
        print(table[shown].to_string(index=False))
    used = table[~table["excluded"]] if "excluded" in table else table
    temps = sorted({round(float(t), 1) for t in used["temperature_K"].dropna()})
    tms = sorted({float(t) for t in used["mixing_time_s"].dropna()})
    print(f"\n{len(used)} experiments{excluded_note}; {len(temps)} temperature(s): "
          f"{', '.join(f'{t:g}' for t in temps)} K; {len(tms)} mixing time(s): "
          f"{', '.join(f'{t:g}' for t in tms)} s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from exsyfit.files import write_text_atomic
    from exsyfit.simulate import series as simulate

    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        from exsyfit.errors import OutputError

        raise OutputError(f"{outdir}: is a file; expected a folder for the simulated series")
    if outdir.exists() and any(outdir.iterdir()) and not args.force:
        from exsyfit.errors import OutputExistsError

        raise OutputExistsError(f"{outdir}: exists and is not empty; use --force")
    truth = simulate.example_truth(args.kind)
    temps = list(args.temperatures or simulate.DEFAULT_TEMPERATURES_K)
    tms = list(args.mixing_times or simulate.DEFAULT_MIXING_TIMES_S)
    output_folder(outdir)
    if args.format == "volumes":
        table = simulate.simulate_volume_table(truth, temps, tms, sigma=args.sigma,
                                               seed=args.seed)
        write_text_atomic(outdir / "volumes.csv", table.to_csv(index=False))
    else:
        simulate.simulate_series(outdir, truth, temps, tms, format=args.format,
                                 seed=args.seed, overwrite=args.force)
    log.info("simulated %s series written to %s", args.format, outdir)
    return 0


def _number_list(low: float, high: float, unit: str) -> Any:
    """An argparse type: comma-separated numbers within [low, high]."""

    def parse(text: str) -> list[float]:
        values = []
        for item in text.split(","):
            try:
                value = float(item)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and low <= value <= high):
                raise argparse.ArgumentTypeError(
                    f"found {item.strip()!r}; expected comma-separated numbers in "
                    f"[{low:g}, {high:g}] {unit}")
            values.append(value)
        return values

    return parse


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a positive number")
    return value


def _count(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"found {text!r}; expected an integer in "
                                             f"[{low}, {high}]")
        return value

    return parse


def cmd_init(args: argparse.Namespace) -> int:
    from exsyfit.errors import OutputError
    from exsyfit.files import output_error
    from exsyfit.starter.config import write_starter_config

    output = Path(args.output)
    if output.is_dir():
        raise OutputError(f"{output}: is a folder; expected the name of the config file to "
                          f"write (e.g. {output / 'exsyfit.toml'})")
    if Path(args.data_folder).is_dir() and not output.parent.exists():
        try:  # a new project folder for the config
            output.parent.mkdir(parents=True)
        except OSError as exc:
            raise output_error(output.parent, exc) from None
    path = write_starter_config(Path(args.data_folder), output, force=args.force)
    log.info("starter config written to %s; edit the site names, then run "
             "'exsyfit check %s' and 'exsyfit run %s'", path, path, path)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    import matplotlib

    from exsyfit.workflow.batch import run_batch

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
#: One example per command, shown at the end of its ``--help``.
EXAMPLES: dict[str, str] = {
    "run": "exsyfit run config.toml -o results",
    "fit": "exsyfit fit config.toml --resume",
    "check": "exsyfit check config.toml",
    "integrate": "exsyfit integrate config.toml -o results",
    "plot": "exsyfit plot config.toml --force",
    "report": "exsyfit report config.toml --force",
    "demo": "exsyfit demo -o exsyfit-demo",
    "simulate": "exsyfit simulate spectra --format bruker-processed --temperatures 263,303,343",
    "init": "exsyfit init /data/nmr/2024-05-li2s -o li2s/config.toml",
    "batch": "exsyfit batch samples/*/config.toml -o all-results --workers 2",
    "info": "exsyfit info config",
    "show": "exsyfit show config.toml -o results",
}

EXIT_STATUS = """\
exit status: 0 done; 2 bad input or a file-system problem (one 'error:' line naming the file,
key or column); 130 interrupted with Ctrl-C (a fit can be continued with 'fit --resume');
1 an unexpected error (a bug: please report it with the traceback shown)."""


def _epilog(name: str) -> str:
    example = EXAMPLES.get(name)
    return f"example:\n  {example}" if example else ""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line (exit 2), pointing to the command's help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``exsyfit`` command."""
    parser = _Parser(
        prog="exsyfit",
        description="Li-ion exchange rates and activation energies from 2D EXSY NMR series.",
        epilog=f"{EXIT_STATUS}\n\nexample:\n  exsyfit init DATA_FOLDER -o config.toml && "
        "exsyfit check config.toml && exsyfit run config.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"exsyfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser = sub.add_parser

    def add_command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A subcommand whose help ends with its example and the exit status."""
        kwargs.setdefault("epilog", f"{EXIT_STATUS}\n\n{_epilog(name)}".rstrip())
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        return add_parser(name, **kwargs)

    sub.add_parser = add_command  # type: ignore[method-assign]

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

    workers_help = ("processes for the independent fits (default: one per core; 1: one "
                    "after another)")
    p = stage("run", cmd_run, "the whole job: integrate, fit, figures and report")
    p.add_argument("--workers", type=int, metavar="N", help=workers_help)
    p = stage("fit", cmd_fit, "fit the volume table (data.volumes or OUTDIR/volumes.csv)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted fit from its checkpoint (refused when the "
                   "config or the volume table changed since; --force starts afresh)")
    p.add_argument("--workers", type=int, metavar="N", help=workers_help)
    stage("show", cmd_show, "figures of every spectrum (contours, regions, sites, slices) "
          "in OUTDIR/show, before anything is integrated or fitted")
    stage("check", cmd_check, "show the experiments (or volume table) without computing",
          force=False)
    stage("integrate", cmd_integrate, "read the spectra and write volumes.csv")
    stage("plot", cmd_plot, "draw the figures of an earlier fit")
    stage("report", cmd_report, "write report.md and report.html of an earlier fit")

    p = sub.add_parser("demo", help="run the bundled example",
                       description="run the bundled example (examples/ and spectra/)")
    p.add_argument("-o", "--output", metavar="OUTDIR",
                   help="output folder (default: ./exsyfit-demo)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--force", action="store_true", help="overwrite existing results")
    p.add_argument("--workers", type=int, metavar="N", help=workers_help)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="write a simulated EXSY series",
                       description="write a simulated EXSY series in a vendor format, or a "
                       "volume table")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--format", default="bruker-processed",
                   choices=["bruker-processed", "bruker-raw", "varian", "volumes"])
    p.add_argument("--kind", default="argyrodite_li2s", choices=["argyrodite_li2s",
                                                                 "three_site"])
    p.add_argument("--temperatures", metavar="T1,T2,...", type=_number_list(50, 2000, "K"),
                   help="sample temperatures, K (default 263,303,343)")
    p.add_argument("--mixing-times", metavar="t1,t2,...", type=_number_list(1e-6, 60, "s"),
                   help="mixing times, s (default 0.01,0.05,0.2,1)")
    p.add_argument("--sigma", type=_positive_number, default=0.002,
                   help="noise of the volumes (volumes format only, > 0)")
    p.add_argument("--seed", type=_count(0, 2**32 - 1), default=1)
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


#: numpy scalars in messages (``np.float64(nan)``) are shown as plain numbers.
_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|bool|complex|str)\w*\(([^()]*)\)")


def plain(message: str) -> str:
    """A message for the user: numpy scalar reprs shown as the numbers they hold."""
    return _NUMPY_REPR.sub(r"\1", message)


def _os_error_message(exc: OSError) -> str:
    from exsyfit.files import output_error

    if exc.filename is None:
        return f"{exc.strerror or exc}; expected a readable input and a writable output folder"
    text = str(output_error(exc.filename, exc))
    return text.replace("cannot write", "cannot read or write", 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``exsyfit`` command; returns the exit status.

    0 done; 2 bad input or a file-system problem (one ``error:`` line); 130 interrupted
    (Ctrl-C); 1 an unexpected error (a bug, shown with its traceback).
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            print("interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, already printed)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        print("error: exsyfit: a COMMAND is needed (see the list above)", file=sys.stderr)
        return 2
    _setup_logging(getattr(args, "quiet", False))
    if args.command in ("run", "demo", "integrate", "plot", "report", "show"):
        # figures are only written to files here; notebooks keep their own backend
        import matplotlib

        matplotlib.use("Agg")
    from exsyfit.errors import ExsyfitError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        hint = (f" (continue the fit with 'exsyfit fit {args.config} --resume')"
                if args.command in ("fit", "run") else "")
        with contextlib.suppress(Exception):
            print(f"interrupted{hint}", file=sys.stderr)
        return 130
    except ExsyfitError as exc:
        print(f"error: {plain(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # unreadable input, full disk, read-only folder, ...
        print(f"error: {_os_error_message(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: not enough memory for this problem; expected fewer walkers or steps "
              "([sampler]) or smaller spectra ([processing] size_f1/size_f2)", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so, and keep the traceback for the report
        traceback.print_exc(file=sys.stderr)
        print(f"error: unexpected {type(exc).__name__} (a bug in exsyfit; please report it "
              "with the traceback above)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
