"""The evaluation results file (CSV or JSONL rows) and the failure log.

Each write rewrites the whole file atomically (`run_dir.write_atomically`, on
local or remote paths), so a crash never leaves half a checkpoint's rows.

One evaluation of one checkpoint is one set of rows, identified by its
`RowSetKey`: (step, use_ema, n, first seed, protocol, resize); the first seed is
`seed - repeat` (repeat r uses seed + r; the mean/std rows carry the first seed),
`protocol` the name of the evaluation protocol (`evaluation.protocol`, set by the
files in evaluation/protocols/) and `resize` the Inception resize protocol of the
extractor. A key has at most one set in the file, whichever mode wrote it: adding
it again is an error unless it replaces the old set. The other protocol knobs
(metrics, repeats, quantize/clip, IS splits, KID block size) are not in the rows,
so changing them for a scored checkpoint means replacing its set (`--rescore`).
Files written before `protocol` and `resize` were columns read as the default
protocol under compare_gan's resize (the only resize there was).

Checkpoints that cannot be restored go to a separate `FailureLog`, never into
the results as metric values (a NaN "fid" row would pollute every mean).
"""

import collections
import csv
import io
import json
import math
import os
import re
import time
from typing import NamedTuple

import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan.metrics import preprocess

FIELDS = ("step", "metric", "value", "n", "seed", "repeat", "use_ema",
          "wall_time", "eval_secs", "checkpoint", "protocol", "resize")
DEFAULT_PROTOCOL = "custom"  # evaluation.protocol when no protocol file names one.
DEFAULT_RESIZE = preprocess.COMPARE_GAN  # The rows' resize before it was a choice.
# Columns added since the first format, with the value rows without them had.
_ADDED_FIELDS = {"protocol": DEFAULT_PROTOCOL, "resize": DEFAULT_RESIZE}
_FIRST_FIELDS = tuple(f for f in FIELDS if f not in _ADDED_FIELDS)
FORMATS = ("csv", "jsonl")
_INT_FIELDS = ("step", "n", "seed", "repeat")
_FLOAT_FIELDS = ("value", "wall_time", "eval_secs")


class DamagedFileError(ValueError):
  """A results or failure file that cannot be read: named with its line."""


# Fields every row must have a value in (repeat, eval_secs and checkpoint may be empty).
_REQUIRED_FIELDS = ("step", "metric", "value", "n", "seed", "use_ema", "wall_time",
                    "protocol", "resize")


def _typed(row, path, line):
  """Row with CSV strings turned back into ints / floats / bools / None."""
  if isinstance(row, dict) and set(row) == set(_FIRST_FIELDS):
    row = dict(row, **_ADDED_FIELDS)
  if not isinstance(row, dict) or set(row) != set(FIELDS):
    raise DamagedFileError(
        f"{path}, line {line}: expected a row with the fields {list(FIELDS)}, got "
        f"{row!r}. The file is damaged (a truncated write?); repair or remove that line.")
  out = dict(row)
  for key, value in row.items():
    try:
      if value in ("", None):
        if key in _REQUIRED_FIELDS:
          raise ValueError("missing")
        out[key] = None
      elif key in _INT_FIELDS:
        out[key] = int(value)
      elif key in _FLOAT_FIELDS:
        out[key] = float(value)
      elif key == "use_ema":
        out[key] = value in (True, "True", "true", "1")
    except (TypeError, ValueError) as e:
      raise DamagedFileError(
          f"{path}, line {line}: field {key!r} is {value!r}, not a valid value ({e}). "
          "The file is damaged (a truncated write?); repair or remove that line.") from None
  return out


class RowSetKey(NamedTuple):
  """What identifies the rows of one evaluation of one checkpoint."""
  step: int
  use_ema: bool
  n: int
  seed: int  # Of the first repeat.
  protocol: str = DEFAULT_PROTOCOL
  resize: str = DEFAULT_RESIZE


def row_set_key(row):
  return RowSetKey(row["step"], row["use_ema"], row["n"],
                   row["seed"] - (row["repeat"] or 0), row["protocol"], row["resize"])


_FAILURE_FIELDS = {"step", "use_ema", "checkpoint", "reason"}


def _json_lines(path, text):
  """(line number, object) of each non-blank line of a JSON-lines file."""
  for number, line in enumerate(text.splitlines(), 1):
    if line.strip():
      try:
        yield number, json.loads(line)
      except json.JSONDecodeError as e:
        raise DamagedFileError(f"{path}, line {number}: not JSON ({e}); repair or remove "
                               "that line.") from None


def _read_text(path):
  if not tf.io.gfile.exists(path):
    return ""
  with tf.io.gfile.GFile(path) as f:
    return f.read()


class ResultsFile:
  """Rows of (step, metric, value, n, seed, repeat, use_ema, wall_time, ...)."""

  def __init__(self, path, fmt=None):
    fmt = fmt or os.path.splitext(path)[1].lstrip(".")
    if fmt not in FORMATS:
      raise ValueError(f"Results format {fmt!r} (from {path}) must be one of "
                       f"{FORMATS}.")
    self.path = path
    self.format = fmt

  def read(self):
    """All rows, typed (NaN values come back as float('nan'))."""
    text = _read_text(self.path)
    if self.format == "csv":
      reader = csv.DictReader(io.StringIO(text))
      if text.strip() and tuple(reader.fieldnames or ()) not in (FIELDS, _FIRST_FIELDS):
        raise DamagedFileError(f"{self.path} is damaged or not a results file: its header is "
                               f"{reader.fieldnames}, expected {list(FIELDS)}.")
      # A short row (a truncated last line) leaves trailing fields None.
      return [_typed(row, self.path, reader.line_num) for row in reader]
    return [_typed(row, self.path, line) for line, row in _json_lines(self.path, text)]

  def keys(self):
    """The RowSetKeys of the sets in the file."""
    return {row_set_key(row) for row in self.read()}

  def rows_of(self, key):
    return [row for row in self.read() if row_set_key(row) == key]

  def add(self, rows, replace=False):
    """Adds rows (dicts with FIELDS keys) in one atomic rewrite.

    A set already in the file is an error, or with `replace` dropped first.
    """
    bad = [r for r in rows if set(r) != set(FIELDS)]
    if bad:
      raise ValueError(f"Result rows need exactly the fields {FIELDS}, got "
                       f"{sorted(bad[0])}.")
    new_keys = {row_set_key(r) for r in rows}
    kept = self.read()
    present = new_keys & {row_set_key(r) for r in kept}
    if present and not replace:
      raise ValueError(f"{self.path} already has rows for {sorted(present)}; "
                       "replace them instead of adding duplicates.")
    kept = [r for r in kept if row_set_key(r) not in new_keys]
    buf = io.StringIO()
    if self.format == "csv":
      writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
      writer.writeheader()
      writer.writerows(kept + rows)
    else:
      for row in kept + rows:
        buf.write(json.dumps({k: row[k] for k in FIELDS}) + "\n")
    run_dir.write_atomically(self.path, buf.getvalue())


class FailureLog:
  """Checkpoints that could not be restored: one JSON object a line.

  Each record has step, use_ema, checkpoint, reason and wall_time; a
  (step, use_ema) has at most one. A failure does not depend on the protocol,
  so a recorded one is not retried by any evaluator until it is cleared.
  """

  def __init__(self, path):
    self.path = path

  def read(self):
    records = []
    for line, record in _json_lines(self.path, _read_text(self.path)):
      if not (isinstance(record, dict) and _FAILURE_FIELDS <= set(record)):
        raise DamagedFileError(
            f"{self.path}, line {line}: expected a record with {sorted(_FAILURE_FIELDS)}, "
            f"got {record!r}; repair or remove that line.")
      records.append(record)
    return records

  def reasons(self, use_ema):
    """{step: reason} of that generator's failures."""
    return {r["step"]: r["reason"] for r in self.read()
            if r["use_ema"] == use_ema}

  def record(self, step, use_ema, checkpoint, reason):
    self._write(_without(self.read(), step, use_ema) + [
        {"step": step, "use_ema": use_ema, "checkpoint": checkpoint,
         "reason": reason, "wall_time": time.time()}])

  def clear(self, step, use_ema):
    """Forgets a failure (the checkpoint was scored after all)."""
    records = self.read()
    others = _without(records, step, use_ema)
    if len(others) < len(records):
      self._write(others)

  def _write(self, records):
    run_dir.write_atomically(
        self.path, "".join(json.dumps(r) + "\n" for r in records))


def _without(records, step, use_ema):
  return [r for r in records if (r["step"], r["use_ema"]) != (step, use_ema)]


def format_table(rows):
  """Plain-text table of rows for the console."""
  lines = [f"{'step':>8}  {'metric':<24} {'value':>12}  {'n':>6}  {'seed':>5}  "
           f"{'repeat':>6}"]
  for r in rows:
    value = r["value"]
    shown = "nan" if value is None or math.isnan(value) else f"{value:.6g}"
    repeat = "" if r["repeat"] is None else r["repeat"]
    lines.append(f"{r['step']:>8}  {r['metric']:<24} {shown:>12}  {r['n']:>6}  "
                 f"{r['seed']:>5}  {repeat:>6}")
  return "\n".join(lines)


PROBE_METRIC_RE = re.compile(r"probe_top1_block(\d+)")  # D's blocks, not the baselines.
PROBE_ACCURACY_PREFIX = "probe_top1_"  # Also the baselines: probe_top1_pixels, ..._random_*.


# Scores of the fakes that are better high (manifold.py's); FID, KID and the like are low.
HIGHER_IS_BETTER = ("precision", "recall", "density", "coverage", "inception_score")


def higher_is_better(metric):
  """Probe accuracies (baselines too), precision / recall / density / coverage and IS are
  better high."""
  return metric in HIGHER_IS_BETTER or metric.startswith(PROBE_ACCURACY_PREFIX)


def metric_series(model_dir):
  """({metric: {step: value}}, {"n", "use_ema", "protocol", "resize"}) of a run's rows of
  one protocol: the one with the most samples, EMA over raw at equal n, then the one with
  the most rows; ({}, None) if it has none."""
  rows = []
  for fmt in FORMATS:
    rows += ResultsFile(run_dir.results_path(model_dir, fmt), fmt).read()
  if not rows:
    return {}, None
  counts = collections.Counter((r["n"], r["use_ema"], r["protocol"], r["resize"])
                               for r in rows)
  chosen = max(counts, key=lambda group: (group[0], group[1], counts[group], group))
  # Per-repeat rows of a repeated protocol are left out: its mean rows stand for them.
  repeated_steps = {r["step"] for r in rows if r["repeat"]}
  series = {}
  for row in rows:
    repeated = row["repeat"] is not None and row["step"] in repeated_steps
    if (row["n"], row["use_ema"], row["protocol"], row["resize"]) == chosen and not repeated:
      value = row["value"]
      series.setdefault(row["metric"], {})[row["step"]] = (
          math.nan if value is None else value)
  return series, dict(zip(("n", "use_ema", "protocol", "resize"), chosen))
