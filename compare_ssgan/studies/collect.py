"""Reads run directories into what reports need: identity, completeness, metric series.

A run's identity comes from its study.json (runner.py); a run without one is cell = its
directory name, seed = `Trainer.seed` of its config.gin (None if unbound). A run is
*complete* when TRAIN_DONE exists and its newest checkpoint is scored; reports average over
complete runs only and say how many of the planned ones those are.
"""
import ast
import dataclasses
import os
import re
from typing import Dict, List, Optional

from compare_ssgan import run_dir
from compare_ssgan.evaluation import results
from compare_ssgan.studies import run_log
from compare_ssgan.studies import runner

_SEED_RE = re.compile(r"^Trainer\.seed\s*=\s*(\d+)\s*$", re.MULTILINE)
_DATASET_RE = re.compile(r"^dataset\.name\s*=\s*['\"]([^'\"]+)['\"]\s*$", re.MULTILINE)


@dataclasses.dataclass
class Run:
  """One run directory's results (of one evaluation protocol: the largest n)."""
  model_dir: str
  cell: str
  seed: Optional[int]
  record: Optional[dict]  # Its study.json.
  final_step: Optional[int]  # Of its newest checkpoint.
  complete: bool
  series: Dict[str, Dict[int, float]]  # {metric: {step: value}}
  protocol: Optional[dict]  # {"n": ..., "use_ema": ...} of the rows used.
  dataset: str = "dataset?"  # `dataset.name` of its config.gin.
  attempt_secs: List[Optional[float]] = dataclasses.field(default_factory=list)
  samples: Optional[str] = None  # Its final sample grid (PNG), if there is one.
  stored_in: Optional[str] = None  # The report.json it was read from (stored_runs.py).

  @property
  def wall_secs(self):
    """Its runner's wall time over all attempts; None if unknown (no log, or an attempt
    without a time)."""
    if not self.attempt_secs or None in self.attempt_secs:
      return None
    return sum(self.attempt_secs)

  def values(self, metric):
    """{step: value} of a metric; a repeated protocol's mean rows stand for the metric."""
    return self.series.get(f"{metric}_mean") or self.series.get(metric, {})

  def probe_blocks(self):
    return sorted(int(m.group(1))
                  for m in map(results.PROBE_METRIC_RE.fullmatch, self.series) if m)

  def hparams(self):
    """{name: bool/int/float/str}: cell, seed, configs and the cell's bindings."""
    record = self.record or {}
    found = {"cell": self.cell, "seed": -1 if self.seed is None else self.seed,
             "configs": ",".join(record.get("configs", []))}
    for binding in record.get("bindings", []):
      name, _, value = binding.partition("=")
      found[name.strip()] = _hparam_value(value.strip())
    return found


def _hparam_value(text):
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text
  return value if isinstance(value, (bool, int, float, str)) else text


def read_run(model_dir):
  record = runner.read_record(model_dir)
  if record is not None:
    cell, seed = record["cell"], record["seed"]
  else:  # Not (yet) started by the runner: the study's layout, else the directory name.
    cell, seed = runner.cell_and_seed_of(model_dir) or (
        os.path.basename(os.path.normpath(model_dir)), _config_seed(model_dir))
  checkpoints = run_dir.list_checkpoints(model_dir)
  final_step = checkpoints[-1][0] if checkpoints else None
  series, protocol = results.metric_series(model_dir)
  config = _config_text(model_dir)
  dataset = _DATASET_RE.search(config)
  samples = None if final_step is None else run_dir.samples_path(model_dir, final_step)
  run = Run(model_dir, cell, seed, record, final_step, False, series, protocol,
            dataset.group(1) if dataset else "dataset?", _attempt_secs(model_dir),
            samples if samples and os.path.exists(samples) else None)
  # Scored at its final checkpoint, with whatever metrics it asked for (Rot-only: the probe).
  run.complete = (run_dir.training_done(model_dir) and final_step is not None and
                  any(final_step in values for values in series.values()))
  return run


def _attempt_secs(model_dir):
  path = run_dir.study_log_path(model_dir)
  if not os.path.exists(path):
    return []
  with open(path, errors="replace") as f:
    return run_log.attempt_seconds(f.read())


def _config_text(model_dir):
  path = run_dir.config_path(model_dir)
  if not os.path.exists(path):
    return ""
  with open(path) as f:
    return f.read()


def _config_seed(model_dir):
  match = _SEED_RE.search(_config_text(model_dir))
  return int(match.group(1)) if match else None


def find_run_dirs(study_dir):
  """Every run directory under study_dir (one with study.json or config.gin), sorted."""
  found = []
  for parent, dirs, files in os.walk(study_dir):
    if run_dir.STUDY_RUN in files or run_dir.CONFIG in files:
      found.append(parent)
      dirs.clear()
    dirs.sort()
  return sorted(found)


@dataclasses.dataclass
class CellRuns:
  """A cell's runs and how many were planned."""
  name: str
  tables: dict
  planned: int
  runs: List[Run]

  def complete(self):
    return [run for run in self.runs if run.complete]


def group_cells(runs, use_study_plan):
  """[CellRuns] in order of first appearance (the study's order when there is one).

  With `use_study_plan`, planned seeds and cells come from the runs' study.json (so a cell
  with no run directory at all is still listed, as missing); otherwise planned = the runs
  given.
  """
  cells = {}
  if use_study_plan:
    for run in runs:
      study = (run.record or {}).get("study")
      for name, tables in (study or {}).get("cells", {}).items():
        seeds = study.get("cell_seeds", {}).get(name, study["seeds"])
        cells.setdefault(name, CellRuns(name, tables, len(seeds), []))
  for run in runs:
    tables = (run.record or {}).get("tables", {})
    cells.setdefault(run.cell, CellRuns(run.cell, tables, 0, [])).runs.append(run)
  for cell in cells.values():
    cell.runs.sort(key=lambda run: (run.seed is None, run.seed or 0))
    cell.planned = max(cell.planned, len(cell.runs))
    cell.tables = {t: tuple(p) for t, p in cell.tables.items()}
  return list(cells.values())
