"""The results file: typed round trip, atomic appends, done steps."""

import math

import pytest

from compare_ssgan.evaluation import results


def _row(step, metric, value, repeat=0):
  return {"step": step, "metric": metric, "value": value, "n": 10,
          "seed": 42, "repeat": repeat, "use_ema": False, "wall_time": 1.5,
          "eval_secs": None if repeat is None else 0.25,
          "checkpoint": f"/m/ckpt-{step}"}


@pytest.mark.parametrize("fmt", results.FORMATS)
def test_round_trip_with_nan_and_none(tmp_path, fmt):
  path = tmp_path / "eval" / f"results.{fmt}"
  rf = results.ResultsFile(str(path))
  assert rf.read() == [] and rf.evaluated_steps() == set()
  rf.append([_row(100, "fid", 12.5), _row(100, "kid", math.nan)])
  rf.append([_row(200, "fid_mean", 3.0, repeat=None)])
  rows = rf.read()
  assert [r["step"] for r in rows] == [100, 100, 200]
  assert rows[0] == _row(100, "fid", 12.5)
  assert math.isnan(rows[1]["value"])
  assert rows[2]["repeat"] is None and rows[2]["eval_secs"] is None
  assert rf.evaluated_steps() == {100, 200}
  assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
  if fmt == "csv":
    assert path.read_text().count("step,metric") == 1


def test_bad_format_and_rows(tmp_path):
  with pytest.raises(ValueError, match="must be one of"):
    results.ResultsFile(str(tmp_path / "results.txt"))
  rf = results.ResultsFile(str(tmp_path / "r.csv"))
  with pytest.raises(ValueError, match="exactly the fields"):
    rf.append([{"step": 1, "metric": "fid", "value": 1.0}])


def test_table_lists_rows():
  table = results.format_table([_row(100, "fid", 12.5),
                                _row(100, "kid", math.nan, repeat=None)])
  lines = table.splitlines()
  assert len(lines) == 3 and "12.5" in lines[1] and "nan" in lines[2]
