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


def test_negative_temperature_sigma_is_refused(c8_table):
    table = c8_table.assign(temperature_sigma_K=1.0)
    assert validate_volume_table(table)["temperature_sigma_K"].eq(1.0).all()
    table.loc[2, "temperature_sigma_K"] = -1.0
    with pytest.raises(VolumeTableError, match=r"column 'temperature_sigma_K', row 3: found -1; "
                                               r"expected a temperature uncertainty >= 0 K"):
        validate_volume_table(table)


def test_temperature_grouping_is_the_series_rule():
    groups = group_temperatures(np.array([303.2, 263.0, 302.5, 264.1, 343.0]), 2.0)
    np.testing.assert_array_equal(groups, [1, 0, 1, 0, 2])


def _write(tmp_path, table, name="volumes.csv"):
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "pattern", "key"),
    [
        (lambda t: t.assign(temperature_K=t["temperature_K"] - 238.15),
         r"column 'temperature_K', row 1: found 24\.85; .*Celsius", "temperature_range"),
        (lambda t: t.assign(mixing_time_s=t["mixing_time_s"] * 1000),
         r"column 'mixing_time_s', row \d+: found \d+; expected seconds.*milliseconds",
         "mixing_time_range"),
        (lambda t: t.assign(mixing_time_s=0.05),
         r"column 'mixing_time_s': at 263 K found only one mixing time \(0\.05 s\)",
         "mixing_time_count"),
        (lambda t: t.assign(volume=0.0), r"column 'volume': every value is 0", "zero_volumes"),
        (lambda t: t.assign(volume=np.where(t["experiment"] == t["experiment"].iloc[0],
                                            -t["volume"], t["volume"])),
         r"column 'volume', row 1: every diagonal volume .* sign-flipped", "negative_diagonals"),
    ],
)
def test_implausible_tables_name_column_and_cause(tmp_path, c8_table, edit, pattern, key):
    path = _write(tmp_path, edit(c8_table))
    with pytest.raises(VolumeTableError, match=pattern) as info:
        read_volume_table(path, sites=["A", "B"])
    assert str(path) in str(info.value) and f'"{key}" to [data] skip_checks' in str(info.value)
    table = read_volume_table(path, sites=["A", "B"], skip_checks=[key])
    assert len(table) == len(c8_table)


def test_single_negative_diagonal_is_a_warning(tmp_path, c8_table):
    t = c8_table.copy()
    row = int(np.flatnonzero((t["from_site"] == "B") & (t["to_site"] == "B"))[0])
    t.loc[row, "volume"] = -10 * t.loc[row, "sigma"]
    path = _write(tmp_path, t)
    with pytest.warns(UserWarning, match=rf"row {row + 1}: .* negative diagonal volume"):
        read_volume_table(path)


def test_unknown_skip_check_is_refused(tmp_path, c8_table):
    with pytest.raises(VolumeTableError, match=r"skip_checks: found 'celsius'"):
        read_volume_table(_write(tmp_path, c8_table), skip_checks=["celsius"])


def test_decimal_comma_files_are_named(tmp_path, c8_table):
    text = c8_table.to_csv(index=False)
    lines = text.splitlines()
    # a decimal comma inside quotes: one field, not a number
    quoted = tmp_path / "quoted.csv"
    t = c8_table.astype({"mixing_time_s": str})
    t.loc[0, "mixing_time_s"] = "0,01"
    t.to_csv(quoted, index=False)
    # unquoted decimal commas: more fields than the header
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join([lines[0], "e1,303,0,5,A,A,1,0.1", *lines[2:]]) + "\n")
    semi = tmp_path / "semi.csv"
    semi.write_text(text.replace(",", ";").replace(".", ","))
    with pytest.raises(VolumeTableError, match=r"line 2: found 8 fields.*decimal commas"):
        read_volume_table(bare)
    with pytest.raises(VolumeTableError, match=r"line 1: found ';'-separated"):
        read_volume_table(semi)
    with pytest.raises(VolumeTableError, match=r"row 1: found '0,01'.*decimal comma"):
        read_volume_table(quoted)
