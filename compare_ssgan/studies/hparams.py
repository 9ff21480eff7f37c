"""TensorBoard HParams: each run's cell, seed and bindings with its final and best scores.

  tensorboard --logdir <report out>/hparams
"""
import contextlib
import math
import os
import shutil

from tensorboard.plugins.hparams import api as hp
import tensorflow as tf

from compare_ssgan.studies import tables


def _metrics(run):
  """{tag: value} of a complete run (final and best FID/KID, final probe accuracies)."""
  found = {}
  for metric in tables.METRICS:
    for point in tables.POINTS:
      value = tables.run_value(run, metric, point)
      if value is not None and math.isfinite(value[1]):
        found[f"{metric}_{point}"] = value[1]
  for block in run.probe_blocks():
    value = tables.run_value(run, f"probe_top1_block{block}", "final")
    if value is not None and math.isfinite(value[1]):
      found[f"probe_top1_block{block}_final"] = value[1]
  return found


# TensorBoard reads every file with "tfevents" in its name. One fixed name (TF's own carries
# the writing host's name and pid and the time) keeps a committed report free of the
# machine it was made on, and the same files across regenerations.
EVENTS_FILE = "events.out.tfevents.report.v2"


@contextlib.contextmanager
def _events_file(directory):
  """Summaries written inside go to `directory`/EVENTS_FILE."""
  writer = tf.summary.create_file_writer(directory)
  with writer.as_default():
    yield
  writer.close()
  (written,) = [name for name in os.listdir(directory)
                if "tfevents" in name and os.path.isfile(os.path.join(directory, name))]
  os.replace(os.path.join(directory, written), os.path.join(directory, EVENTS_FILE))


def write(cells, log_dir):
  """Replaces log_dir with one HParams session per complete run; returns log_dir."""
  shutil.rmtree(log_dir, ignore_errors=True)
  runs = [run for cell in cells for run in cell.complete()]
  metric_tags = sorted({tag for run in runs for tag in _metrics(run)})
  with _events_file(log_dir):
    hp.hparams_config(hparams=[hp.HParam(name) for name in
                               sorted({n for run in runs for n in run.hparams()})],
                      metrics=[hp.Metric(tag) for tag in metric_tags])
  for run in runs:
    trial = f"{run.cell}/seed_{run.seed}"
    with _events_file(os.path.join(log_dir, trial)):
      hp.hparams(run.hparams(), trial_id=trial)
      for tag, value in _metrics(run).items():
        tf.summary.scalar(tag, value, step=run.final_step)
  return log_dir
