"""``exsyfit show``: figures of every spectrum before anything is integrated or fitted."""

from __future__ import annotations

import warnings

import pytest

from exsyfit.cli import main
from exsyfit.config import load_config
from exsyfit.errors import OutputExistsError
from exsyfit.simulate.series import Acquisition, simulate_series
from exsyfit.simulate.truth import example_truth
from exsyfit.workflow.pipeline import show

CONFIG = """\
[data]
paths = ["series/*"]
exclude = ["13"]

[sites.argyrodite]
ppm = 1.3

[sites.Li2S]
ppm = 2.3

[integration]
half_width_ppm = 0.4

[plots]
formats = ["png"]
dpi = 60
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("show")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_series(folder / "series", example_truth("argyrodite_li2s"), [263.0, 303.0],
                        [0.01, 0.2], seed=3, acquisition=Acquisition(n_f1=64, n_f2=256))
    (folder / "config.toml").write_text(CONFIG)
    return folder


def test_show_writes_a_figure_per_temperature(folder):
    out = folder / "out"
    written = show(load_config(folder / "config.toml"), out)
    assert sorted(p.name for p in written) == ["show_263K.png", "show_303K.png"]
    for path in written:
        assert path.parent == out / "show" and path.stat().st_size > 10_000
    # nothing was integrated or fitted
    assert not (out / "volumes.csv").exists() and not (out / "summary.json").exists()
    with pytest.raises(OutputExistsError, match="show: exists"):
        show(load_config(folder / "config.toml"), out)


def test_show_command(folder, capsys):
    out = folder / "cli"
    assert main(["show", str(folder / "config.toml"), "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in printed] == ["show_263K.png", "show_303K.png"]
    assert main(["show", str(folder / "config.toml"), "-o", str(out), "-q", "--force"]) == 0
