"""Acquisition facts: field, pulse program, recycle delay, probe, spinning decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exsyfit.io import bruker, varian
from exsyfit.io.metadata import decide_spinning, field_from_channels
from exsyfit.io.series import experiment_table
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.simulate import bruker as sim_bruker

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data ../shared/data/real/{name} not present")
    return path


def test_field_from_a_1h_channel_or_the_frequency_ratio():
    b0, src = field_from_channels([("BF1", "<7Li>", 155.5), ("BF2", "<1H>", 400.13)])
    assert b0 == pytest.approx(400.13 / 42.577478) and src == "BF2 (1H)"
    b0, src = field_from_channels([("BF1", "7Li", 155.5), ("BF2", "off", 0.0)])
    assert b0 * 42.577478 == pytest.approx(155.5 / 0.38863797)  # 400.12 MHz class
    assert src.startswith("BF1 (7Li, Xi = 38.8638")
    assert field_from_channels([("BF1", "87Rb", 196.3)]) == (None, None)


@pytest.mark.parametrize(("rate", "pulprog", "probe", "spinning", "words"), [
    (10000.0, "noesyph", "4 mm MAS BB/1H", "MAS", "is a MAS probe"),
    (4200.0, "zg", "5 mm QNP 1H/13C", "static or solution", "stale"),
    (5000.0, "static_echo", None, "static or solution", "static one"),
    (None, "cpmas", "3.2 mm MAS", "MAS", "no MAS rate recorded, but"),
    (0.0, "noesy", "3.2 mm MAS", "static or solution", "is a MAS probe"),
    (None, None, None, "static or solution", "no probe head recorded"),
])
def test_spinning_decision(rate, pulprog, probe, spinning, words):
    got, reason = decide_spinning(rate, "MASR", pulprog, probe)
    assert got == spinning and words in reason


def test_simulated_spectrum_carries_the_documented_keys(tmp_path):
    spec = Spectrum2D(np.ones((8, 8)), np.linspace(5, 0, 8), np.linspace(5, 0, 8),
                      sf_mhz=155.5, mas_rate_hz=10000.0, temperature_K=300.0)
    folder = sim_bruker.write_processed(tmp_path / "1", spec, pulse_program="noesyph")
    (s,) = bruker.read_experiment(folder)
    assert s.metadata["field_T"] == pytest.approx(155.5 / 0.38863797 / 42.577478)
    assert s.metadata["pulse_program"] == "noesyph"
    assert s.metadata["spinning"] == "MAS"  # MASR = 10 kHz, no probe head to contradict
    assert s.metadata["temperature_source"] == "set value, uncalibrated (file TE)"
    assert s.metadata["temperature_calibrated"] is False


def test_real_solid_state_27al_is_mas_at_9_4_t():
    m = bruker.read_metadata(real("lcs-27al-31p-dhmqc-2d") / "1")
    assert m["field_T"] == pytest.approx(400.32 / 42.577478) and m["field_source"] == "BF2 (1H)"
    assert (m["pulse_program"], m["recycle_delay_s"]) == ("HMQC2md", 1.0)
    assert m["probe"].startswith("4 mm MAS 1H/BB")
    assert m["spinning"] == "MAS" and "MASR = 5000 Hz" in m["spinning_reason"]


def test_real_solution_trosy_has_a_stale_mas_rate():
    folder = real("nmrtools-15n-trosy-2d")
    m = bruker.read_metadata(folder)
    assert m["mas_rate_hz"] == 4200.0  # left in acqus by the MAS unit
    assert m["spinning"] == "static or solution"
    assert "stale" in m["spinning_reason"] and "TCI" in m["spinning_reason"]
    assert m["field_T"] == pytest.approx(700.2 / 42.577478)
    table = experiment_table([folder.name], folder.parent,
                             temperature_calibration={"per_experiment": {folder.name: 298.0}})
    assert table["spinning"].tolist() == ["static or solution"]
    assert table["pulse_program"].tolist() == ["b_trosyetf3gpsi.3.cw"]


def test_real_varian_field_from_the_decoupler_channel():
    m = varian.read_metadata(real("ssnake-87rb-satrec-varian") / "satrec2D.fid")
    assert m["field_T"] == pytest.approx(599.99051 / 42.577478)
    assert m["field_source"] == "dfrq (1H)"
    assert (m["pulse_program"], m["recycle_delay_s"]) == ("relax", 0.1)
    assert m["spinning"] == "static or solution"
