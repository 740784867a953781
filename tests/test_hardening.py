"""Hostile inputs and faults: every one ends with exit 2 and one ``error:`` line naming the file,
key or column (or exit 130 for Ctrl-C, 1 for a bug), no traceback, nothing outside OUTDIR
touched, no temporary file left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from exsyfit.cli import main, plain
from exsyfit.files import atomic_path, output_lock, write_text_atomic

from conftest import c8_volume_table

CONFIG = """\
[data]
volumes = "volumes.csv"

[sites.A]
ppm = 1.3

[sites.B]
ppm = 2.3

[sampler]
seed = 1
steps = 200
walkers = 16

[report]
compare_models = false
matrix_log = false
"""


def job(folder: Path, extra: str = "", body: str = CONFIG) -> Path:
    """A volume-table job (fits in seconds) with ``extra`` appended to the config."""
    folder.mkdir(parents=True, exist_ok=True)
    c8_volume_table().to_csv(folder / "volumes.csv", index=False)
    path = folder / "config.toml"
    path.write_text(body + extra)
    return path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``error:`` line of stderr (warnings may precede it; no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert lines[-1] == errors[0], err
    return errors[0]


def temporary_files(folder: Path) -> list[Path]:
    """Temporary files left behind (links planted by a test are not exsyfit's)."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") and not p.is_symlink()]


# ------------------------------------------------------------------------------ the config
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[model]\nreference_temperature_K = 1e308\n", r"[model.reference_temperature_K]: "
         "found 1e+308; expected a number in [10, 5000] K"),
        ("[priors]\nk_ex_per_s = [1e-300, 1e300]\n", r"[priors.k_ex_per_s]: found "
         "[1e-300, 1e+300]; expected [low, high] with low < high, within [1e-12, 1e+15]"),
        ("[priors]\nEa_eV = [0, nan]\n", "[priors.Ea_eV]: found [0, nan]"),
        ("[temperature]\nslope = inf\n", "[temperature.slope]: found inf; expected a number in "
         "(0, 10]"),
        ("[diffusion]\nlength_nm = -3\n", "[diffusion.length_nm]: found -3"),
        ("[plots]\ndpi = 1e6\n", "[plots.dpi]: found 1000000.0"),
        ("[integration]\nmethod = 3\n", "[integration.method]: found 3"),
        ("[processing.f1]\nsize = 1e9\n", "[processing.f1.size]: found 1000000000.0"),
    ],
)
def test_absurd_values_are_refused_at_config_time(tmp_path, capsys, extra, expected):
    assert main(["check", str(job(tmp_path, extra))]) == 2
    line = error_line(capsys)
    assert expected in line and "config.toml" in line


def test_absurd_sampler_sizes_are_refused_before_any_memory_is_taken(tmp_path, capsys):
    body = CONFIG.replace("walkers = 16", "walkers = 1000000000000")
    assert main(["fit", str(job(tmp_path, body=body))]) == 2
    assert "[sampler.walkers]: found 1000000000000; expected an integer in [4, 10000]" in \
        error_line(capsys)
    body = CONFIG.replace("walkers = 16", "walkers = 5000").replace("steps = 200",
                                                                    "steps = 1000000")
    assert main(["fit", str(job(tmp_path, body=body))]) == 2
    line = error_line(capsys)
    assert "[sampler.walkers]" in line and "walkers x steps <= 50,000,000" in line
    assert not (tmp_path / "results" / "summary.json").exists()


def test_empty_paths_and_bad_site_names_name_their_key(tmp_path, capsys):
    body = CONFIG.replace('volumes = "volumes.csv"', "paths = []")
    assert main(["check", str(job(tmp_path, body=body))]) == 2
    assert "[data.paths]: found []; expected at least one folder path" in error_line(capsys)
    for name in ('"Li\\"S"', '"Li$S"', '"A<->B"', '" A"'):
        body = CONFIG.replace("[sites.A]", f"[sites.{name}]")
        assert main(["check", str(job(tmp_path, body=body))]) == 2
        line = error_line(capsys)
        assert "[sites]: found" in line and "expected a site name" in line


def test_config_folder_bom_and_unreadable_file(tmp_path, capsys, monkeypatch):
    config = job(tmp_path)
    assert main(["check", str(tmp_path)]) == 2
    assert "is a folder; expected a TOML config file" in error_line(capsys)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())  # Windows editors write a BOM
    assert main(["check", str(config)]) == 0
    capsys.readouterr()
    config.write_bytes(b"[data]\nvolumes = \"\xff\xfe\"\n")
    assert main(["check", str(config)]) == 2
    assert "not valid TOML (not UTF-8 text" in error_line(capsys)

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    config.write_text(CONFIG)
    monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["check", str(config)]) == 2
    line = error_line(capsys)
    assert str(config) in line and "cannot read (Permission denied)" in line


def test_unreadable_volume_table_names_the_file(tmp_path, capsys, monkeypatch):
    config = job(tmp_path)
    real = Path.read_text

    def denied(self: Path, *args, **kwargs) -> str:
        if self.name == "volumes.csv":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    assert main(["check", str(config)]) == 2
    line = error_line(capsys)
    assert str(tmp_path / "volumes.csv") in line and "Permission denied" in line


# ------------------------------------------------------------------------------ the output
def test_output_folder_problems(tmp_path, capsys, monkeypatch):
    config = job(tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("mine")
    assert main(["fit", str(config), "-o", str(a_file)]) == 2
    assert "is a file; expected an output folder" in error_line(capsys)
    assert main(["fit", str(config), "-o", str(a_file / "sub")]) == 2
    assert "a part of the path is a file" in error_line(capsys)
    assert a_file.read_text() == "mine"

    def read_only(self: Path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["fit", str(config), "-o", str(tmp_path / "new")]) == 2
    assert "new: cannot write (the file system is read-only)" in error_line(capsys)


def test_output_inside_an_input_folder_is_refused(tmp_path, capsys):
    spectra = tmp_path / "spectra" / "10"
    spectra.mkdir(parents=True)
    body = CONFIG.replace('volumes = "volumes.csv"', 'paths = ["spectra/*"]')
    config = job(tmp_path, body=body)
    assert main(["integrate", str(config), "-o", str(tmp_path / "spectra" / "results")]) == 2
    assert "is inside the input folder" in error_line(capsys)
    assert sorted(p.name for p in (tmp_path / "spectra").iterdir()) == ["10"]


def test_a_second_writer_is_refused_by_the_lock(tmp_path, capsys):
    config = job(tmp_path)
    out = tmp_path / "results"
    out.mkdir()
    with output_lock(out):
        assert main(["fit", str(config)]) == 2
        line = error_line(capsys)
        assert f"{out}: another exsyfit run (process {os.getpid()})" in line
    assert not (out / ".exsyfit.lock").exists()


def test_stages_refuse_to_overwrite_without_force(tmp_path, capsys):
    config = job(tmp_path)
    figures = tmp_path / "results" / "figures"
    figures.mkdir(parents=True)
    (figures / "arrhenius.png").write_bytes(b"hand-edited")
    assert main(["plot", str(config)]) == 2
    assert "arrhenius.png: exists" in error_line(capsys)
    (tmp_path / "results" / "report.md").write_text("my notes")
    assert main(["report", str(config)]) == 2
    assert "report.md: exists" in error_line(capsys)
    assert (figures / "arrhenius.png").read_bytes() == b"hand-edited"
    assert (tmp_path / "results" / "report.md").read_text() == "my notes"


def test_full_disk_is_exit_2_naming_the_path_and_leaves_no_temporary_file(
        tmp_path, capsys, monkeypatch):
    import exsyfit.files

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exsyfit.files.os, "fsync", full)
    out = tmp_path / "sim"
    assert main(["simulate", str(out), "--format", "volumes"]) == 2
    line = error_line(capsys)
    assert f"{out / 'volumes.csv'}: cannot write (the disk is full)" in line
    assert not (out / "volumes.csv").exists() and temporary_files(out) == []
    config = job(tmp_path / "job")
    assert main(["fit", str(config), "-q"]) == 2
    line = error_line(capsys)
    assert "cannot write (the disk is full)" in line and str(tmp_path / "job") in line
    assert temporary_files(tmp_path / "job") == []
    assert not (tmp_path / "job" / "results" / "summary.json").exists()


def test_planted_symlinks_are_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    # at the names a fixed-name writer would have used, and at the target itself
    for name in ("summary.json.tmp", ".summary.json.tmp", "summary.json"):
        (out / name).symlink_to(victim)
    write_text_atomic(out / "summary.json", "{}")
    assert victim.read_text() == "precious"
    assert not (out / "summary.json").is_symlink() and (out / "summary.json").read_text() == "{}"
    # a link put in place of the temporary file while a library writes it: nothing renamed
    from exsyfit.errors import OutputError

    with pytest.raises(OutputError, match="temporary file was replaced"):
        with atomic_path(out / "posterior.nc") as tmp:
            tmp.unlink()
            tmp.symlink_to(victim)
    assert victim.read_text() == "precious" and not (out / "posterior.nc").exists()
    assert temporary_files(out) == []


def test_a_planted_lock_link_and_figures_link_are_refused(tmp_path, capsys):
    config = job(tmp_path)
    out = tmp_path / "results"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "figures").symlink_to(elsewhere)
    assert main(["plot", str(config), "--force"]) == 2
    assert "figures: is a symbolic link" in error_line(capsys)
    (out / "figures").unlink()
    (out / ".exsyfit.lock").symlink_to(tmp_path / "victim")
    assert main(["fit", str(config)]) == 2
    assert ".exsyfit.lock: is a symbolic link" in error_line(capsys)
    assert not (tmp_path / "victim").exists() and list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------------------ other commands
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--temperatures", "abc"], "argument --temperatures: found 'abc'"),
        (["--temperatures", "25,50"], "found '25'; expected comma-separated numbers in "
         "[50, 2000] K"),
        (["--mixing-times", "10,nan"], "argument --mixing-times: found 'nan'"),
        (["--sigma", "-1"], "argument --sigma: found '-1'; expected a positive number"),
        (["--sigma", "inf"], "argument --sigma: found 'inf'"),
        (["--seed", "-3"], "argument --seed: found '-3'"),
    ],
)
def test_simulate_arguments(tmp_path, capsys, argv, expected):
    assert main(["simulate", str(tmp_path / "s"), "--format", "volumes", *argv]) == 2
    assert expected in error_line(capsys)
    assert not (tmp_path / "s").exists()


def test_simulate_with_defaults_writes_a_series(tmp_path):
    out = tmp_path / "spectra"
    assert main(["simulate", str(out), "-q"]) == 0
    experiments = sorted(p.name for p in out.iterdir())
    assert len(experiments) == 12  # 3 default temperatures x 4 default mixing times
    assert all((out / e / "pdata" / "1" / "2rr").exists() for e in experiments)


def test_interrupt_bug_and_numpy_values(capsys, monkeypatch):
    import exsyfit.info

    def interrupted(topic: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(exsyfit.info, "describe", interrupted)
    assert main(["info"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip() == "interrupted"

    def bug(topic: str) -> str:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(exsyfit.info, "describe", bug)
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "error: unexpected ZeroDivisionError (a bug" in err
    assert plain("[x]: found np.float64(nan); expected np.int64(3) or np.True_") == \
        "[x]: found nan; expected 3 or np.True_"


def test_every_command_help_ends_with_an_example(capsys):
    from exsyfit.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        text = sub.format_help().rstrip().splitlines()
        assert text[-2] == "example:", name
        assert text[-1].strip().startswith(f"exsyfit {name}"), name
    assert "130 interrupted with Ctrl-C" in parser.format_help()


def test_ctrl_c_during_a_fit_says_how_to_continue(tmp_path, capsys, monkeypatch):
    import exsyfit.workflow.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(exsyfit.workflow.pipeline, "fit", interrupted)
    config = job(tmp_path)
    assert main(["fit", str(config), "-q"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == f"interrupted (continue the fit with 'exsyfit fit {config} --resume')"
    assert not (tmp_path / "results" / ".exsyfit.lock").exists()
