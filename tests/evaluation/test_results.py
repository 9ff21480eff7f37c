"""The results file: typed round trip, atomic writes, one set per key; failures."""

import json
import math

import pytest

from compare_ssgan.evaluation import results


def _row(step, metric, value, repeat=0, protocol="custom", resize="compare_gan"):
  return {"step": step, "metric": metric, "value": value, "n": 10,
          "seed": 42, "repeat": repeat, "use_ema": False, "wall_time": 1.5,
          "eval_secs": None if repeat is None else 0.25,
          "checkpoint": f"/m/ckpt-{step}", "protocol": protocol, "resize": resize}


@pytest.mark.parametrize("fmt", results.FORMATS)
def test_round_trip_with_nan_and_none(tmp_path, fmt):
  path = tmp_path / "eval" / f"results.{fmt}"
  rf = results.ResultsFile(str(path))
  assert rf.read() == [] and rf.keys() == set()
  rf.add([_row(100, "fid", 12.5), _row(100, "kid", math.nan)])
  rf.add([_row(200, "fid_mean", 3.0, repeat=None)])
  rows = rf.read()
  assert [r["step"] for r in rows] == [100, 100, 200]
  assert rows[0] == _row(100, "fid", 12.5)
  assert math.isnan(rows[1]["value"])
  assert rows[2]["repeat"] is None and rows[2]["eval_secs"] is None
  assert rf.keys() == {results.RowSetKey(100, False, 10, 42),
                       results.RowSetKey(200, False, 10, 42)}
  assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
  if fmt == "csv":
    assert path.read_text().count("step,metric") == 1


def test_bad_format_and_rows(tmp_path):
  with pytest.raises(ValueError, match="must be one of"):
    results.ResultsFile(str(tmp_path / "results.txt"))
  rf = results.ResultsFile(str(tmp_path / "r.csv"))
  with pytest.raises(ValueError, match="exactly the fields"):
    rf.add([{"step": 1, "metric": "fid", "value": 1.0}])


@pytest.mark.parametrize("fmt", results.FORMATS)
def test_a_set_is_added_once_or_replaced(tmp_path, fmt):
  rf = results.ResultsFile(str(tmp_path / f"results.{fmt}"))
  second_repeat = dict(_row(100, "fid", 13.0, repeat=1), seed=43)
  rf.add([_row(100, "fid", 12.5), second_repeat, _row(200, "fid", 9.0)])
  # Repeat 1 (seed 43) belongs to the set of first seed 42.
  assert rf.keys() == {results.RowSetKey(100, False, 10, 42),
                       results.RowSetKey(200, False, 10, 42)}
  with pytest.raises(ValueError, match="already has rows"):
    rf.add([_row(100, "kid", 1.0)])
  rf.add([_row(100, "fid", 11.0)], replace=True)
  assert [(r["step"], r["value"]) for r in rf.read()] == [(200, 9.0),
                                                         (100, 11.0)]
  other_seed = dict(_row(100, "fid", 10.0), seed=7)
  rf.add([other_seed])  # Another protocol: a set of its own.
  assert rf.rows_of(results.RowSetKey(100, False, 10, 7)) == [other_seed]


def test_failure_log_keeps_one_record_per_checkpoint_and_generator(tmp_path):
  log = results.FailureLog(str(tmp_path / "eval" / "failures.jsonl"))
  assert log.reasons(use_ema=False) == {}
  log.clear(5, False)
  assert not (tmp_path / "eval").exists()  # Nothing to clear: nothing written.
  log.record(5, False, "/m/ckpt-5", "truncated")
  log.record(5, True, "/m/ckpt-5", "no EMA")
  log.record(5, False, "/m/ckpt-5", "still truncated")
  assert log.reasons(use_ema=False) == {5: "still truncated"}
  log.clear(5, False)
  assert log.reasons(use_ema=False) == {} and log.reasons(use_ema=True) == {
      5: "no EMA"}


def test_table_lists_rows():
  table = results.format_table([_row(100, "fid", 12.5),
                                _row(100, "kid", math.nan, repeat=None)])
  lines = table.splitlines()
  assert len(lines) == 3 and "12.5" in lines[1] and "nan" in lines[2]


def test_a_damaged_results_file_is_named_not_read_as_empty(tmp_path):
  path = tmp_path / "results.csv"
  path.write_text("garbage{{\n1\n")
  with pytest.raises(ValueError, match=r"results.csv is damaged .* expected \['step'"):
    results.ResultsFile(str(path)).read()


def test_protocols_and_resizes_are_separate_sets_of_one_checkpoint(tmp_path):
  rf = results.ResultsFile(str(tmp_path / "results.csv"))
  rf.add([_row(100, "fid", 12.5)])
  rf.add([_row(100, "fid", 11.0, protocol="mimicry_cifar10")])
  rf.add([_row(100, "fid", 12.0, resize="clean")])
  assert len(rf.keys()) == 3
  assert rf.rows_of(results.RowSetKey(100, False, 10, 42, "mimicry_cifar10",
                                      "compare_gan"))[0]["value"] == 11.0
  with pytest.raises(ValueError, match="already has rows"):
    rf.add([_row(100, "kid", 1.0, resize="clean")])


@pytest.mark.parametrize("fmt", results.FORMATS)
def test_a_file_without_the_protocol_columns_reads_as_the_default_protocol(tmp_path, fmt):
  """Files written before `protocol` and `resize` were columns stay readable, and a new
  set is added to them under the new header."""
  path = tmp_path / f"results.{fmt}"
  old = {k: v for k, v in _row(100, "fid", 12.5).items() if k not in ("protocol", "resize")}
  if fmt == "csv":
    header = [f for f in results.FIELDS if f not in ("protocol", "resize")]
    path.write_text(",".join(header) + "\n100,fid,12.5,10,42,0,False,1.5,0.25,/m/ckpt-100\n")
  else:
    path.write_text(json.dumps(old) + "\n")
  rf = results.ResultsFile(str(path))
  assert rf.read() == [_row(100, "fid", 12.5)]
  rf.add([_row(200, "fid", 9.0)])
  assert rf.read() == [_row(100, "fid", 12.5), _row(200, "fid", 9.0)]
  if fmt == "csv":
    assert path.read_text().splitlines()[0] == ",".join(results.FIELDS)


def test_metric_series_keeps_one_protocol_the_one_with_most_rows_at_equal_n(tmp_path):
  model_dir = tmp_path / "run"
  rf = results.ResultsFile(str(model_dir / "eval" / "results.csv"))
  rf.add([_row(100, "fid", 12.5), _row(200, "fid", 10.0)])
  rf.add([_row(100, "probe_top1_pixels", 0.8, protocol="zz_probe_baselines")])
  series, protocol = results.metric_series(str(model_dir))
  assert series == {"fid": {100: 12.5, 200: 10.0}}
  assert protocol == {"n": 10, "use_ema": False, "protocol": "custom",
                      "resize": "compare_gan"}
  rf.add([dict(_row(100, "fid", 11.0, protocol="more_samples"), n=20)])
  assert results.metric_series(str(model_dir))[0] == {"fid": {100: 11.0}}
