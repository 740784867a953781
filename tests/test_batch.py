"""exsyfit batch: many configs on a Dask cluster the tests start themselves.

Each job is a small simulated volume table (3 temperatures x 4 mixing times) sampled with a
short fixed chain, so a job takes seconds; the cluster is one in-process worker thread.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from exsyfit.cli import main  # noqa: E402
from exsyfit.simulate.series import example_truth, simulate_volume_table  # noqa: E402
from exsyfit.workflow import batch  # noqa: E402
from exsyfit.workflow.batch_task import FINGERPRINT, TRACEBACK_FILE  # noqa: E402

TEMPERATURES_K = (263.0, 303.0, 343.0)
MIXING_TIMES_S = (0.01, 0.05, 0.2, 1.0)
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
seed = {seed}
walkers = 20
steps = 300

[report]
compare_models = false
matrix_log = false
robustness = false

[plots]
formats = ["png"]
dpi = 50
"""


def write_series(folder: Path, name: str, Ea_eV: float, seed: int) -> Path:
    """A simulated volume table with activation energy ``Ea_eV`` and its config."""
    truth = example_truth("argyrodite_li2s")
    law = dataclasses.replace(truth.exchanges[0], Ea_eV=Ea_eV)
    truth = dataclasses.replace(truth, exchanges=(law,))
    table = simulate_volume_table(truth, TEMPERATURES_K, MIXING_TIMES_S, sigma=0.002,
                                  seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "volumes.csv", index=False)
    config = folder / f"{name}.toml"
    config.write_text(CONFIG.format(seed=1), encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two samples whose configs share the stem 'config', and a config with a broken table."""
    root = tmp_path_factory.mktemp("batch")
    pristine = write_series(root / "pristine", "config", 0.30, seed=3)
    cycled = write_series(root / "cycled", "config", 0.24, seed=4)
    broken = write_series(root / "broken", "broken", 0.30, seed=5)
    table = pd.read_csv(broken.parent / "volumes.csv").drop(columns=["sigma"])
    table.rename(columns={"volume": "intensity"}).to_csv(broken.parent / "volumes.csv",
                                                         index=False)
    return {"root": root, "pristine": pristine, "cycled": cycled, "broken": broken,
            "out": root / "out"}


@pytest.fixture(scope="module")
def first_run(project, cluster) -> dict:
    """The first batch of the three configs, through the command line."""
    argv = ["batch", str(project["pristine"]), str(project["cycled"]), str(project["broken"]),
            "-o", str(project["out"]), "--scheduler", cluster.scheduler_address, "-q"]
    status = main(argv)
    table = pd.read_csv(project["out"] / "batch.csv", keep_default_na=False)
    mtimes = {p: p.stat().st_mtime_ns for p in project["out"].glob("*/posterior.nc")}
    return {"argv": argv, "status": status, "table": table, "mtimes": mtimes}


# ---------------------------------------------------------------------- pure parts
def test_names_are_stems_made_unique_by_parent_folders(tmp_path: Path) -> None:
    configs = [tmp_path / "LAGP" / "pristine" / "config.toml",
               tmp_path / "LAGP" / "cycled" / "config.toml",
               tmp_path / "x" / "a" / "s.toml", tmp_path / "y" / "a" / "s.toml",
               tmp_path / "LixV2O5.toml"]
    assert batch.unique_names(configs) == ["pristine_config", "cycled_config", "x_a_s",
                                           "y_a_s", "LixV2O5"]


def test_a_config_given_twice_runs_once(tmp_path: Path) -> None:
    items = batch.plan([tmp_path / "a.toml", str(tmp_path / "a.toml")], tmp_path / "out")
    assert [i.name for i in items] == ["a"]
    with pytest.raises(batch.ExsyfitError, match="no CONFIG"):
        batch.plan([], tmp_path)


def test_more_than_two_sites_get_columns_per_pair() -> None:
    stats = {"median": 0.35, "q025": 0.3, "q975": 0.4, "q16": 0.33, "q84": 0.37}
    ok = {"status": "ok", "summary": {"Ea_eV": {"PEO<->LLZO": stats,
                                                "LLZO<->LiOH": {**stats, "median": 0.25}}},
          "seconds": 3.0}
    bad = {"status": "error", "error": "x.toml: [sites]: found 1 site; expected 2 or more",
           "error_kind": "input", "summary": None, "seconds": 0.1}
    items = [batch.BatchItem("three.toml", "three", Path("o/three")),
             batch.BatchItem("x.toml", "x", Path("o/x"))]
    table = batch.batch_table(items, [ok, bad])
    assert list(table.columns[:6]) == ["config", "status", "outdir", "Ea_eV_median",
                                       "Ea_eV_q025", "Ea_eV_q975"]
    assert list(table.columns[6:9]) == ["Ea_eV_median[PEO<->LLZO]", "Ea_eV_q025[PEO<->LLZO]",
                                        "Ea_eV_q975[PEO<->LLZO]"]
    assert table.loc[0, "Ea_eV_median[LLZO<->LiOH]"] == 0.25
    assert pd.isna(table.loc[0, "Ea_eV_median"])
    assert pd.isna(table.loc[1, "Ea_eV_median[PEO<->LLZO]"])
    assert table.loc[1, "error"].startswith("x.toml: [sites]")


def test_a_changed_input_file_makes_results_stale(tmp_path: Path) -> None:
    from exsyfit.config import load_config
    from exsyfit.workflow.batch_task import fingerprint, is_current

    config = write_series(tmp_path / "s", "s", 0.3, seed=1)
    out = tmp_path / "out"
    out.mkdir()
    current = fingerprint(config, load_config(config))
    assert list(current["inputs"]) == ["volumes.csv"]
    (out / FINGERPRINT).write_text(json.dumps({**current, "complete": True}))
    assert not is_current(out, current)  # no summary.json: not complete
    (out / "summary.json").write_text("{}")
    assert is_current(out, current)
    table = config.parent / "volumes.csv"
    table.write_text(table.read_text().replace("263.0", "263.5", 1))
    assert not is_current(out, fingerprint(config, load_config(config)))
    (out / FINGERPRINT).write_text(json.dumps({**current, "complete": False}))
    assert not is_current(out, current)  # an interrupted job


def test_exit_status_of_a_batch() -> None:
    ok = {"status": "ok"}
    bad = {"status": "error", "error_kind": "input"}
    bug = {"status": "error", "error_kind": "unexpected"}
    assert batch.exit_status([ok, ok]) == 0
    assert batch.exit_status([ok, bad]) == 2
    assert batch.exit_status([bad, bug, ok]) == 1


# ---------------------------------------------------------------------- on the cluster
def test_rows_in_order_with_the_activation_energies(first_run, project) -> None:
    table = first_run["table"]
    assert list(table["config"]) == [str(project[k]) for k in ("pristine", "cycled", "broken")]
    assert list(table["status"]) == ["ok", "ok", "error"]
    out = project["out"]
    assert list(table["outdir"]) == [str(out / n) for n in ("pristine_config",
                                                            "cycled_config", "broken")]
    for row, truth in zip(table.head(2).itertuples(), (0.30, 0.24), strict=True):
        assert row.error == ""
        assert float(row.Ea_eV_q025) < float(row.Ea_eV_median) < float(row.Ea_eV_q975)
        assert abs(float(row.Ea_eV_median) - truth) < 0.03
        summary = json.loads((Path(row.outdir) / "summary.json").read_text())
        assert summary["Ea_eV"]["median"] == pytest.approx(float(row.Ea_eV_median))
        assert (Path(row.outdir) / "report.html").is_file()
        assert (Path(row.outdir) / "figures" / "arrhenius.png").is_file()
        assert json.loads((Path(row.outdir) / FINGERPRINT).read_text())["complete"] is True


def test_a_broken_config_is_reported_and_the_others_run(first_run, project) -> None:
    row = first_run["table"].iloc[2]
    assert row["status"] == "error"
    assert "volumes.csv" in row["error"] and "\n" not in row["error"]
    assert row["Ea_eV_median"] == ""
    assert first_run["status"] == 2  # bad input, nothing unexpected


def test_comparison_figure_and_table(first_run, project) -> None:
    out = project["out"]
    for name in ("comparison.png", "comparison.pdf"):
        assert (out / name).stat().st_size > 10_000, name
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["config"]) == ["pristine_config", "cycled_config"]  # ok configs only
    ea = first_run["table"]["Ea_eV_median"].head(2).astype(float).to_numpy()
    assert table["Ea_eV_median"].to_numpy() == pytest.approx(ea)
    for row in table.itertuples():
        summary = json.loads((out / row.config / "summary.json").read_text())
        assert row.ln_A_per_s_median == pytest.approx(summary["ln_A_per_s"]["median"])
        assert row.ln_A_per_s_q025 < row.ln_A_per_s_median < row.ln_A_per_s_q975


def test_an_unexpected_failure_gives_exit_status_1(cluster, project, monkeypatch, capsys,
                                                   ) -> None:
    import exsyfit.workflow.pipeline

    def broken_run(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    # the worker shares the process
    monkeypatch.setattr(exsyfit.workflow.pipeline, "run", broken_run)
    out = project["root"] / "out_bug"
    status = main(["batch", str(project["pristine"]), "-o", str(out),
                   "--scheduler", cluster.scheduler_address, "-q"])
    assert status == 1
    row = pd.read_csv(out / "batch.csv").iloc[0]
    assert row["status"] == "error"
    assert row["error"] == "ZeroDivisionError: float division by zero"
    assert "broken_run" in (out / "config" / TRACEBACK_FILE).read_text()
    assert "error: " in capsys.readouterr().err


def test_a_progress_bar_counts_the_configs(cluster, tmp_path: Path) -> None:
    from distributed import Client

    configs = []
    for name in ("a", "b", "c"):
        configs.append(tmp_path / f"{name}.toml")
        configs[-1].write_text("[data]\n")  # no sites: bad input, fails at once
    events: list = []

    class Bar:
        def update(self, n: int) -> None:
            events.append(n)

        def close(self) -> None:
            events.append("closed")

    def factory(description: str, total: int) -> Bar:
        events.append((description, total))
        return Bar()

    with Client(cluster.scheduler_address) as client:
        out = batch.run_batch(configs, tmp_path / "out", client=client, progress=factory)
    assert events == [("configs", 3), 1, 1, 1, "closed"]
    assert out.exit_status == 2 and list(out.table["status"]) == ["error"] * 3
    assert all("[sites]: found nothing" in e and "\n" not in e for e in out.table["error"])


def test_the_embedded_local_cluster_runs_the_jobs(tmp_path: Path) -> None:
    """Without --scheduler the batch starts its own worker processes."""
    config = tmp_path / "typo.toml"
    config.write_text('[data]\nvolumes = "v.csv"\n[sites.A]\nppm = 1.0\n[sites.B]\nppm = 2.0\n'
                      '[sampler]\nsteps = "many"\n')
    assert main(["batch", str(config), "-o", str(tmp_path / "out"), "--workers", "1",
                 "-q"]) == 2
    row = pd.read_csv(tmp_path / "out" / "batch.csv").iloc[0]
    assert row["status"] == "error" and "sampler.steps" in row["error"]


def test_a_folder_another_run_is_writing_into_is_left_alone(cluster, project,
                                                            tmp_path: Path) -> None:
    from exsyfit.files import output_lock

    out = tmp_path / "out"
    argv = ["batch", str(project["pristine"]), "-o", str(out), "--scheduler",
            cluster.scheduler_address, "-q"]
    (out / "config").mkdir(parents=True)
    with output_lock(out / "config"):  # e.g. an 'exsyfit run -o out/config' in progress
        assert main(argv) == 2
    row = pd.read_csv(out / "batch.csv").iloc[0]
    assert row["status"] == "error" and "another exsyfit run" in row["error"]
    assert not (out / "config" / "summary.json").exists()
    with output_lock(out):  # another batch into the same OUTDIR
        assert main(argv) == 2


def test_bad_arguments_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", "1s")
    config = tmp_path / "a.toml"
    config.write_text("")
    assert main(["batch", str(config), "-o", str(tmp_path / "o"),
                 "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err.startswith("error: --scheduler tcp://127.0.0.1:9: cannot")
    assert main(["batch", str(config), "-o", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers: found 0" in capsys.readouterr().err


def test_current_results_are_kept_and_a_changed_config_refits(first_run, project,
                                                               monkeypatch) -> None:
    import exsyfit.workflow.pipeline

    out = project["out"]
    assert main(first_run["argv"]) == 2
    second = pd.read_csv(out / "batch.csv", keep_default_na=False)
    assert list(second["reused"].astype(str)) == ["True", "True", "False"]
    assert list(second["Ea_eV_median"].head(2)) == list(first_run["table"]["Ea_eV_median"]
                                                        .head(2))
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/posterior.nc")}
    assert mtimes == first_run["mtimes"] and len(mtimes) == 2

    # another sampler seed for the cycled sample: only that one is fitted again
    cycled = project["cycled"]
    cycled.write_text(cycled.read_text().replace("seed = 1", "seed = 7"))
    assert main(first_run["argv"]) == 2
    third = pd.read_csv(out / "batch.csv", keep_default_na=False)
    assert list(third["reused"].astype(str)) == ["True", "False", "False"]
    assert third.loc[1, "Ea_eV_median"] != second.loc[1, "Ea_eV_median"]
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/posterior.nc")}
    assert after["pristine_config"] == first_run["mtimes"][out / "pristine_config" /
                                                           "posterior.nc"]
    assert after["cycled_config"] > first_run["mtimes"][out / "cycled_config" / "posterior.nc"]

    # --force runs every job again, current or not
    calls = []
    monkeypatch.setattr(exsyfit.workflow.pipeline, "run",
                        lambda config, outdir, **kw: calls.append(Path(outdir).name))
    argv = ["batch", str(project["pristine"]), str(cycled), "-o", str(out), "--force", "-q",
            "--scheduler", first_run["argv"][first_run["argv"].index("--scheduler") + 1]]
    assert main(argv) == 0
    assert sorted(calls) == ["cycled_config", "pristine_config"]
    forced = pd.read_csv(out / "batch.csv", keep_default_na=False)
    assert list(forced["reused"].astype(str)) == ["False", "False"]


def test_comparison_figure_names_are_distinct_for_pairs_that_read_alike() -> None:
    from exsyfit.workflow.batch import _figure_stems

    stems = _figure_stems(["A-B<->C", "A<->B-C", "A<->C"])
    assert list(stems) == ["comparison", "comparison_A-B-C", "comparison_A-B-C-2",
                           "comparison_A-C"]
    assert list(stems.values()) == [None, "A-B<->C", "A<->B-C", "A<->C"]
