"""Volume table validation."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.errors import VolumeTableError
from exsyfit.integrate.volumes import group_temperatures, read_volume_table, validate_volume_table


def test_round_trip(tmp_path, c8_table):
    path = tmp_path / "volumes.csv"
    c8_table.to_csv(path, index=False)
    table = read_volume_table(path)
    assert len(table) == len(c8_table)
    np.testing.assert_allclose(table["volume"], c8_table["volume"])


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda t: t.drop(columns="sigma"), r"missing column\(s\) 'sigma'"),
        (lambda t: t.assign(sigma=-t["sigma"]), r"column 'sigma', row 1: .*positive"),
        (lambda t: t.assign(volume=np.where(t.index == 3, np.nan, t["volume"])),
         r"column 'volume', row 4: .*finite number"),
        (lambda t: t.assign(temperature_K="warm"), r"column 'temperature_K', row 1"),
        (lambda t: t.assign(to_site=t["to_site"].replace("B", "C")),
         r"column 'to_site' names site\(s\) 'C'"),
    ],
)
def test_bad_tables_name_file_and_column(tmp_path, c8_table, edit, pattern):
    path = tmp_path / "volumes.csv"
    edit(c8_table).to_csv(path, index=False)
    with pytest.raises(VolumeTableError, match=pattern) as info:
        validate_volume_table(read_volume_table(path), source=str(path), sites=["A", "B"])
    assert str(path) in str(info.value)


def test_duplicate_peaks_rejected(c8_table):
    doubled = c8_table.iloc[[0, 0]]
    with pytest.raises(VolumeTableError, match="repeats the peak A->A"):
        validate_volume_table(doubled)


def test_missing_file(tmp_path):
    with pytest.raises(VolumeTableError, match="file not found"):
        read_volume_table(tmp_path / "none.csv")


def test_temperature_grouping():
    groups = group_temperatures(np.array([303.2, 263.0, 302.5, 264.1, 343.0]), 2.0)
    np.testing.assert_array_equal(groups, [1, 0, 1, 0, 2])
