"""The evaluation results file: CSV or JSONL rows, rewritten atomically.

Each append rewrites the whole file atomically (`run_dir.write_atomically`, on
local or remote paths), so a crash never leaves half a checkpoint's rows. The
steps already present, per generator, tell a restarted evaluator what is done.
"""

import csv
import io
import json
import math
import os

import tensorflow as tf

from compare_ssgan import run_dir

FIELDS = ("step", "metric", "value", "n", "seed", "repeat", "use_ema",
          "wall_time", "eval_secs", "checkpoint")
FORMATS = ("csv", "jsonl")
_INT_FIELDS = ("step", "n", "seed", "repeat")
_FLOAT_FIELDS = ("value", "wall_time", "eval_secs")


def _typed(row):
  """Row with CSV strings turned back into ints / floats / bools / None."""
  out = dict(row)
  for key, value in row.items():
    if value in ("", None):
      out[key] = None
    elif key in _INT_FIELDS:
      out[key] = int(value)
    elif key in _FLOAT_FIELDS:
      out[key] = float(value)
    elif key == "use_ema":
      out[key] = value in (True, "True", "true", "1")
  return out


class ResultsFile:
  """Rows of (step, metric, value, n, seed, repeat, use_ema, wall_time, ...)."""

  def __init__(self, path, fmt=None):
    fmt = fmt or os.path.splitext(path)[1].lstrip(".")
    if fmt not in FORMATS:
      raise ValueError(f"Results format {fmt!r} (from {path}) must be one of "
                       f"{FORMATS}.")
    self.path = path
    self.format = fmt

  def _read_text(self):
    if not tf.io.gfile.exists(self.path):
      return ""
    with tf.io.gfile.GFile(self.path) as f:
      return f.read()

  def read(self):
    """All rows, typed (NaN values come back as float('nan'))."""
    text = self._read_text()
    if self.format == "csv":
      rows = list(csv.DictReader(io.StringIO(text)))
    else:
      rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [_typed(r) for r in rows]

  def evaluated_steps(self, use_ema=None):
    """Steps with rows; of that generator only when use_ema is True/False."""
    return {row["step"] for row in self.read()
            if use_ema is None or row["use_ema"] == use_ema}

  def append(self, rows):
    """Adds rows (dicts with FIELDS keys) in one atomic rewrite."""
    bad = [r for r in rows if set(r) != set(FIELDS)]
    if bad:
      raise ValueError(f"Result rows need exactly the fields {FIELDS}, got "
                       f"{sorted(bad[0])}.")
    text = self._read_text()
    buf = io.StringIO()
    if self.format == "csv":
      writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
      if not text:
        writer.writeheader()
      writer.writerows(rows)
    else:
      for row in rows:
        buf.write(json.dumps({k: row[k] for k in FIELDS}) + "\n")
    run_dir.write_atomically(self.path, text + buf.getvalue())


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
