"""A report's runs as it stores them, so that a report can be written again without them.

Checkpoints stay out of git, so a study resumed on another machine (or after its run
directories were deleted) has only its committed report. `report.json` holds every run's
identity, plan, scores at every checkpoint and wall time, and `samples/` the final sample
grid of each run its montage shows: all a report needs of a run. `write_report
--earlier_report` and `run_study --earlier_report` read them back; a run directory on disk
takes precedence over the stored run of the same cell and seed.
"""
import json
import math
import os

from absl import flags

from compare_ssgan.studies import collect

# Both study commands take it (one definition: they share absl's flag registry).
flags.DEFINE_string("earlier_report", None, "A report.json that write_report wrote: its runs "
                    "count for each cell and seed without a run directory here (run_study "
                    "does not run its complete ones again; write_report includes them).")
FLAGS = flags.FLAGS

SAMPLES_DIR = "samples"  # <report>/samples/<cell>_seed_<seed>.png


def samples_file(report_dir, cell, seed):
  return os.path.join(report_dir, SAMPLES_DIR, f"{cell}_seed_{seed}.png")


def to_json(run):
  """report.json's entry of a collect.Run (the record without its command line, which names
  this machine's interpreter); NaN stays NaN, for the writer to store as null."""
  record = {k: v for k, v in (run.record or {}).items() if k != "command"}
  return {"model_dir": run.model_dir, "cell": run.cell, "seed": run.seed,
          "complete": run.complete, "final_step": run.final_step, "protocol": run.protocol,
          "dataset": run.dataset, "record": record or None,
          "attempt_secs": run.attempt_secs, "wall_secs": run.wall_secs,
          "series": {m: {str(step): v for step, v in sorted(values.items())}
                     for m, values in sorted(run.series.items())}}


class StoredRunsError(ValueError):
  """A report.json that does not hold runs as write_report stores them."""


def _from_json(entry, path):
  cell, seed, record = entry["cell"], entry["seed"], entry.get("record")
  if not isinstance(cell, str) or isinstance(seed, bool) or not isinstance(seed, int):
    raise TypeError(f"cell {cell!r} and seed {seed!r} are not a name and an integer")
  if not isinstance(record, (dict, type(None))) or not isinstance(
      (record or {}).get("study", {}), dict):
    raise TypeError(f"record {record!r} is not a study.json object")
  series = {metric: {int(step): math.nan if v is None else float(v)
                     for step, v in values.items()}
            for metric, values in entry["series"].items()}
  sample = samples_file(os.path.dirname(path), cell, seed)
  return collect.Run(
      model_dir=entry["model_dir"], cell=cell, seed=seed, record=record,
      final_step=entry["final_step"], complete=bool(entry["complete"]), series=series,
      protocol=entry["protocol"], dataset=entry.get("dataset", "dataset?"),
      attempt_secs=list(entry["attempt_secs"]),
      samples=sample if os.path.exists(sample) else None,
      stored_in=path)


def read(path):
  """[collect.Run] of a report.json, each with `stored_in` = path."""
  if not os.path.isfile(path):
    raise StoredRunsError(f"--earlier_report={path!r}: not a file (expected the path of a "
                          "report.json that write_report wrote).")
  with open(path) as f:
    try:
      report = json.load(f)
    except ValueError as e:
      raise StoredRunsError(f"--earlier_report={path} is not valid JSON ({e}).") from e
  entries = report.get("runs") if isinstance(report, dict) else None
  if not isinstance(entries, list):
    raise StoredRunsError(f"--earlier_report={path} has no list of runs (expected "
                          "write_report's report.json, with its 'runs').")
  runs = []
  for index, entry in enumerate(entries):
    try:
      runs.append(_from_json(entry, path))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
      raise StoredRunsError(f"--earlier_report={path}: run {index} is not a stored run "
                            f"({type(e).__name__}: {e}); expected the fields "
                            "write_report writes.") from e
  return runs


def study_names(runs):
  """The study names that the runs' records give (runs without one give none)."""
  return {(run.record or {}).get("study", {}).get("name") for run in runs} - {None}


def check_same_study(stored, names, path):
  """Raises StoredRunsError unless every stored run with a study belongs to one of `names`."""
  others = study_names(stored) - set(names)
  if names and others:
    raise StoredRunsError(f"--earlier_report={path} holds runs of study {sorted(others)}, "
                          f"not of {sorted(names)}: give the report of the same study.")


def merge(on_disk, stored):
  """on_disk + each stored run whose (cell, seed) has no run directory in on_disk."""
  present = {(run.cell, run.seed) for run in on_disk}
  return list(on_disk) + [run for run in stored if (run.cell, run.seed) not in present]
