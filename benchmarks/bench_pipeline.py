"""Wall time of ``exsyfit fit`` and ``exsyfit run``/``demo``, serial against parallel fits.

Measured side by side in one run, on this machine:

* ``fit``: a 6-temperature x 9-mixing-time volume table (the argyrodite truth, sigma 0.002)
  with the default comparison models (main Arrhenius law, free rates, + spin diffusion), as
  the command line runs it (a fresh process: imports included), with ``--workers 1`` (one
  after another) and the default (one worker process per core);
* ``run`` on the demo (20 bundled spectra; main law, two comparison models and the robustness
  variants), in process, with the stage breakdown that
  :func:`exsyfit.workflow.pipeline.run` returns.

The machine's load average and the CPU seconds are printed beside the wall times: on a shared
machine the parallel gain is bounded by the cores that are actually free, and CPU seconds show
what parallelism costs in extra work (process start, imports, pickling).

Run:  python benchmarks/bench_pipeline.py [--repeat N] [--skip-run]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_batch import CONFIG as BATCH_CONFIG

ROOT = Path(__file__).resolve().parents[1]

# the volume-table job of bench_batch.py with the default sampler, report and plot options
FIT_CONFIG = BATCH_CONFIG.format(sampler="", report="", plots="")

TEMPERATURES_K = (253.0, 273.0, 293.0, 313.0, 333.0, 353.0)
MIXING_TIMES_S = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _child_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes (worker pools included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _volume_job(folder: Path) -> Path:
    from exsyfit.simulate.truth import example_truth, simulate_volume_table

    table = simulate_volume_table(example_truth("argyrodite_li2s"), TEMPERATURES_K,
                                  MIXING_TIMES_S, sigma=0.002, seed=3)
    table.to_csv(folder / "volumes.csv", index=False)
    (folder / "config.toml").write_text(FIT_CONFIG)
    return folder / "config.toml"


def bench_fit_cli(config: Path, workers: int | None, out: Path) -> dict[str, float]:
    """``exsyfit fit`` in a fresh process; per-model sampling seconds from the summaries."""
    cmd = [sys.executable, "-m", "exsyfit", "fit", str(config), "-o", str(out), "-q",
           "--force"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t0, c0 = time.perf_counter(), _child_cpu()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    row = {"wall_s": wall, "cpu_s": _child_cpu() - c0}
    for stem, name in (("", "main"), ("free_", "free"), ("spin_diffusion_", "spin_diffusion")):
        s = json.loads((out / f"{stem}summary.json").read_text())
        row[f"sampling_{name}_s"] = s["diagnostics"]["sampling_seconds"]
    row["sampling_sum_s"] = sum(v for k, v in row.items() if k.startswith("sampling_"))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import exsyfit.workflow.pipeline, exsyfit.fit.sampling"],
                   check=True)
    row["imports_s"] = time.perf_counter() - t0
    return row


def bench_run(workers: int | None, out: Path) -> dict[str, float]:
    """``run`` on the demo in this process: the stage breakdown of the pipeline."""
    import matplotlib

    matplotlib.use("Agg")
    from exsyfit.config import load_config
    from exsyfit.workflow.pipeline import run

    config = load_config(ROOT / "examples" / "argyrodite_li2s" / "config.toml")
    c0 = time.process_time() + _child_cpu()
    done = run(config, out, force=True, workers=workers)
    row = {f"{k}_s": v for k, v in done["seconds"].items()}
    row["cpu_s"] = time.process_time() + _child_cpu() - c0
    row["n_fits"] = 3 + len(done["robustness"]["variants"])
    return row


def _show(title: str, rows: dict[str, dict[str, float]]) -> None:
    keys = sorted({k for r in rows.values() for k in r}, key=lambda k: (k != "wall_s", k))
    print(f"\n{title}")
    print(f"{'':22s}" + "".join(f"{name:>14s}" for name in rows))
    for k in keys:
        print(f"{k:22s}" + "".join(f"{r.get(k, float('nan')):14.1f}" for r in rows.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-run", action="store_true")
    args = parser.parse_args()
    from exsyfit.workflow.parallel import available_cores

    print(f"cores available: {available_cores()}; load average before: {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = _volume_job(tmp)
        for r in range(args.repeat):
            rows = {"serial": bench_fit_cli(config, 1, tmp / "serial"),
                    "parallel": bench_fit_cli(config, None, tmp / "parallel")}
            _show(f"exsyfit fit, 6 T x 9 t_m, default variants (repeat {r + 1}; load "
                  f"{_load()})", rows)
        if not args.skip_run:
            for r in range(args.repeat):
                rows = {"serial": bench_run(1, tmp / "run_serial"),
                        "parallel": bench_run(None, tmp / "run_parallel")}
                _show(f"exsyfit run on the demo series (repeat {r + 1}; load {_load()})", rows)


if __name__ == "__main__":
    main()
