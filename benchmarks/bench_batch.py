"""Throughput of ``exsyfit batch`` for 1, 2 and N worker processes, and a cluster estimate.

Simulated series (volume tables of the argyrodite/Li2S example, Ea spread over 0.22-0.38 eV,
one noise seed each) are run as one batch per worker count on an embedded LocalCluster (one
single-threaded worker process per worker, as ``exsyfit batch`` starts it).  Each job is the
whole of ``exsyfit run`` (fit, figures, report) with fixed short sampler settings so the
benchmark ends in minutes on a laptop; one job with the default settings (sampling until
50 autocorrelation times, the default model variants) is timed alone to scale the estimate.

Reported per worker count: wall time of the batch (workers already started and warm),
series per minute, speed-up against one worker, mean wall and CPU time per job, the share of
a core the workers got (other programs may share the machine), the CPU efficiency (CPU time
of a job alone over its CPU time with all workers busy) and the peak resident memory of each
worker process.  Then an estimate of 10 000 series on a 100-node cluster from these figures:
core-hours from the CPU time per job, wall time from the jobs per worker.

Run:  python benchmarks/bench_batch.py [--series 20] [--workers 1,2,4] [--cores-per-node 32]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIG = """\
[data]
volumes = "volumes.csv"

[sites.argyrodite]
ppm = 1.3

[sites.Li2S]
ppm = 2.3

[model]
temperature_model = "arrhenius"

[sampler]
seed = 1
{sampler}
[report]
{report}
[plots]
{plots}"""
SHORT_SAMPLER = "walkers = 24\nsteps = 600\n"
SHORT_REPORT = "compare_models = false\nrobustness = false\n"
SHORT_PLOTS = 'formats = ["png"]\ndpi = 100\n'
TEMPERATURES_K = (263.0, 293.0, 318.0, 343.0)
MIXING_TIMES_S = (0.005, 0.02, 0.05, 0.2, 0.5, 1.0)


def write_series(root: Path, n: int, short: bool = True) -> tuple[list[Path], list[float]]:
    """``n`` simulated volume tables with their configs; returns (configs, true Ea in eV)."""
    from exsyfit.simulate.series import example_truth, simulate_volume_table

    base = example_truth("argyrodite_li2s")
    configs, truths = [], []
    for i, ea in enumerate(np.linspace(0.22, 0.38, n)):
        law = dataclasses.replace(base.exchanges[0], Ea_eV=float(ea))
        truth = dataclasses.replace(base, exchanges=(law,))
        folder = root / f"sample{i:03d}"
        folder.mkdir(parents=True)
        simulate_volume_table(truth, TEMPERATURES_K, MIXING_TIMES_S, sigma=0.002,
                              seed=100 + i).to_csv(folder / "volumes.csv", index=False)
        config = folder / f"sample{i:03d}.toml"
        config.write_text(CONFIG.format(sampler=SHORT_SAMPLER if short else "",
                                        report=SHORT_REPORT if short else "",
                                        plots=SHORT_PLOTS if short else ""))
        configs.append(config)
        truths.append(float(ea))
    return configs, truths


def _warm() -> int:
    """Import what a job needs, on a worker, so that the timing is of the jobs alone."""
    import matplotlib

    matplotlib.use("Agg")
    import exsyfit.fit.sampling  # noqa: F401
    import exsyfit.output.figures  # noqa: F401
    import exsyfit.output.report  # noqa: F401
    import exsyfit.workflow.pipeline  # noqa: F401

    return os.getpid()


def _load() -> float:
    """One-minute load average (other programs share the cores), or NaN."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on Unix
        return float("nan")


def _rss_MB() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def bench_workers(configs: list[Path], truths: list[float], n_workers: int, out: Path,
                  ) -> dict[str, float]:
    """One batch of all configs on ``n_workers`` warm worker processes."""
    from exsyfit.workflow.batch import open_client, run_batch

    t0 = time.perf_counter()
    with open_client(workers=n_workers) as client:
        client.run(_warm)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = run_batch(configs, out, client=client, force=True)
        wall = time.perf_counter() - t1
        rss_now = client.run(_rss_MB)
    rows = result.rows
    ok = [r for r in rows if r["status"] == "ok"]
    if len(ok) != len(rows):
        errors = {r["error"] for r in rows if r["status"] != "ok"}
        raise SystemExit(f"{len(rows) - len(ok)} job(s) failed: {errors}")
    peak: dict[str, float] = {}
    for r in rows:
        peak[r["worker"]] = max(peak.get(r["worker"], 0.0), r["peak_memory_MB"] or 0.0)
    ea = np.array([r["summary"]["Ea_eV"]["median"] for r in rows])
    stages: dict[str, list[float]] = {}
    for r in rows:
        for stage, sec in (r.get("stage_seconds") or {}).items():
            stages.setdefault(stage, []).append(float(sec))
    return {
        "stages": {k: float(np.mean(v)) for k, v in stages.items()},
        "workers": n_workers, "startup_s": startup, "wall_s": wall,
        "series_per_min": 60.0 * len(rows) / wall,
        "task_s_mean": float(np.mean([r["seconds"] for r in rows])),
        "task_cpu_s_mean": float(np.mean([r["cpu_seconds"] for r in rows])),
        # share of the workers' wall time they got a core (1: nothing else competed)
        "cpu_share": float(sum(r["cpu_seconds"] for r in rows) / (wall * n_workers)),
        "peak_MB_max": max(peak.values()), "peak_MB_mean": float(np.mean(list(peak.values()))),
        "rss_end_MB_mean": float(np.mean(list(rss_now.values()))),
        "n_worker_processes": len(peak),
        "Ea_abs_error_median": float(np.median(np.abs(ea - np.array(truths)))),
        "outdir_MB": sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        / 1e6 / len(rows),
    }


def _cpu_s() -> float:
    """CPU time of this process and its finished children, s."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_default_job(root: Path) -> tuple[float, float, float]:
    """Wall and CPU time (s) and results size (MB) of one job with the default settings.

    Run here in this process as a batch worker runs it (its fits one after another); the CPU
    time (of finished child processes too) is what one job costs a cluster worker.
    """
    import matplotlib

    matplotlib.use("Agg")
    from exsyfit.workflow.batch_task import run_config

    (config,), _ = write_series(root, 1, short=False)
    t0, c0 = time.perf_counter(), _cpu_s()
    row = run_config(str(config), str(root / "out"))
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    if row["status"] != "ok":
        raise SystemExit(f"default-settings job failed: {row['error']}")
    size = sum(p.stat().st_size for p in (root / "out").rglob("*") if p.is_file()) / 1e6
    return wall, cpu, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=20)
    cpus = os.cpu_count() or 1
    parser.add_argument("--workers", default=",".join(str(w) for w in sorted({1, 2, cpus})),
                        help="comma-separated worker counts (default: 1, 2 and one per core)")
    parser.add_argument("--cores-per-node", type=int, default=32,
                        help="cores per cluster node for the estimate")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--target", type=int, default=10_000, help="series in the estimate")
    parser.add_argument("--no-default-job", action="store_true",
                        help="skip timing one job with the default sampler settings")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="exsyfit-bench-batch-") as tmp:
        root = Path(tmp)
        configs, truths = write_series(root / "series", args.series)
        print(f"{args.series} simulated series: {len(TEMPERATURES_K)} temperatures x "
              f"{len(MIXING_TIMES_S)} mixing times, 2 sites; each job = exsyfit run with "
              f"{SHORT_SAMPLER.strip().replace(chr(10), ', ')}, no comparison variants; "
              f"{cpus} CPU(s) on this machine, load average {_load():.1f} before the "
              "start", flush=True)
        results = []
        for n in counts:
            r = bench_workers(configs, truths, n, root / f"out{n}")
            results.append(r)
            print(f"  {n} worker(s): {r['wall_s']:.1f} s done (load average now "
                  f"{_load():.1f})", flush=True)
        default_job = None if args.no_default_job else time_default_job(root / "default")

    base = results[0]
    print("\nworkers  wall_s  series/min  speed-up  task_s  task_cpu_s  cpu_share  cpu_eff  "
          "peak_MB/worker  startup_s")
    for r in results:
        r["speedup"] = base["wall_s"] / r["wall_s"] * base["workers"]
        # CPU efficiency: CPU time of a job alone on one worker over its CPU time with the
        # other workers running (memory bandwidth and caches are shared)
        r["cpu_eff"] = base["task_cpu_s_mean"] / r["task_cpu_s_mean"]
        print(f"{r['workers']:7d}  {r['wall_s']:6.1f}  {r['series_per_min']:10.1f}  "
              f"{r['speedup']:8.2f}  {r['task_s_mean']:6.1f}  {r['task_cpu_s_mean']:10.1f}  "
              f"{r['cpu_share']:9.2f}  {r['cpu_eff']:7.2f}  "
              f"{r['peak_MB_mean']:7.0f} (max {r['peak_MB_max']:.0f})  "
              f"{r['startup_s']:9.1f}")
    print("(cpu_share: CPU time of the jobs / (wall time x workers): 1 when every worker had "
          "a core to itself)")
    if min(r["cpu_share"] for r in results) < 0.8:
        print("note: other programs shared the cores during this run (cpu_share < 0.8), so "
              "the wall-clock speed-up is not the batch's; the estimate below uses CPU times")
    if base["stages"]:
        print(f"per job at {base['workers']} worker(s), mean wall per stage: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in base["stages"].items())
              + f"; whole task {base['task_s_mean']:.1f} s")
    print(f"median |Ea - truth| over the series: {base['Ea_abs_error_median'] * 1000:.1f} meV; "
          f"results per series on disk: {base['outdir_MB']:.2f} MB")

    # ------------------------------------------------------------------ estimate
    # A job costs a dedicated core its CPU time, measured with all workers of the largest
    # count running at once (so the contention of busy neighbours is in it).
    full = results[-1]
    per_job = {"short settings (as benchmarked)": (full["task_cpu_s_mean"], base["outdir_MB"])}
    print(f"CPU time per job: {base['task_cpu_s_mean']:.1f} s alone, "
          f"{full['task_cpu_s_mean']:.1f} s with {full['workers']} workers busy")
    if default_job is not None:
        wall, cpu, size = default_job
        per_job["default settings (converged, default variants)"] = (cpu / full["cpu_eff"],
                                                                     size)
        print(f"one job with the default sampler settings and model variants: {cpu:.1f} s CPU "
              f"({wall:.1f} s wall), "
              f"{size:.1f} MB of results")
    cores = args.nodes * args.cores_per_node
    waves = int(np.ceil(args.target / cores))
    print(f"\nestimate: {args.target} series on {args.nodes} nodes x {args.cores_per_node} "
          f"cores = {cores} single-threaded workers, {waves} job(s) per worker, worker start-up "
          f"{full['startup_s']:.0f} s once, CPU efficiency {full['cpu_eff']:.2f} (measured at "
          f"{full['workers']} workers):")
    for label, (seconds, size) in per_job.items():
        core_h = args.target * seconds / 3600.0
        wall_min = (full["startup_s"] + waves * seconds) / 60.0
        gb = args.target * size / 1000
        print(f"  {label}: {seconds:.1f} core-s/series -> {core_h:.0f} core-hours, wall about "
              f"{wall_min:.1f} min of computing; {gb:.0f} GB of results (at 1 GB/s to a "
              f"shared file system {gb / 60:.1f} min of writing; the longer of the two "
              "sets the wall time)")
    mem_node_GB = args.cores_per_node * base["peak_MB_max"] / 1000.0
    print(f"  memory: {base['peak_MB_max']:.0f} MB peak per worker -> {mem_node_GB:.1f} GB per "
          f"{args.cores_per_node}-core node; scheduler: {args.target} tasks (about 1 ms of "
          "scheduler time each, seconds in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
