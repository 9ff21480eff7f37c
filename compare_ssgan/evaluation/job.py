"""Evaluates one checkpoint (`eval`) or every new one (`continuous_eval`).

Run them with `python -m compare_ssgan.main --mode=eval|continuous_eval`, which
parses the run's config.gin first. They may run on another machine than the
trainer (model_dir can be any tf.io.gfile path), and both append their rows to
the run's results file (`run_dir.results_path`). Continuous evaluation scores
each checkpoint exactly once per generator (raw or EMA), oldest first; what is
done is read back from the results file, so a restarted evaluator neither
repeats nor skips one. A checkpoint that the trainer's retention deleted before
it was read is skipped with a warning. It stops once `TRAIN_DONE` exists and
every checkpoint is scored (or after `timeout_secs` without a new checkpoint).
"""

import os
import time

from absl import logging
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan.evaluation import evaluator
from compare_ssgan.evaluation import results
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import real_stats
from compare_ssgan.metrics import tasks as tasks_lib


def default_sampler_factory(model_dir, checkpoint_path, use_ema):
  """The trainer's `load_sampler` (imported late: it pulls in the models)."""
  from compare_ssgan.training import restore  # pylint: disable=g-import-not-at-top
  return restore.load_sampler(model_dir, checkpoint_path, use_ema=use_ema)


def run_uses_ema():
  """The run's `GAN.g_use_ema`, from the parsed config."""
  from compare_ssgan.training import restore  # pylint: disable=g-import-not-at-top
  return restore.run_uses_ema()


def default_dataset():
  """The gin-configured dataset of the run."""
  from compare_ssgan.data import datasets  # pylint: disable=g-import-not-at-top
  return datasets.get_dataset()


class _Job:
  """Shared set-up of both modes; real statistics are computed on first use."""

  def __init__(self, model_dir, options, sampler_factory, extractor, dataset):
    self.model_dir = model_dir
    self.options = options or evaluator.EvalOptions()
    self.use_ema = self.options.use_ema
    if self.use_ema is None:
      self.use_ema = run_uses_ema()
    self.sampler_factory = sampler_factory or default_sampler_factory
    self.extractor = extractor or extractor_lib.InceptionExtractor()
    self._dataset = dataset
    self.tasks = evaluator.metric_tasks(
        self.options, getattr(self.extractor, "has_logits", False))
    self.results = results.ResultsFile(
        run_dir.results_path(model_dir, self.options.results_format),
        self.options.results_format)
    self._real = None
    self._writer = None

  def real(self):
    if self._real is None:
      dataset = self._dataset or default_dataset()
      self._real = real_stats.real_statistics(
          dataset, self.extractor, self.options.num_samples,
          batch_size=self.options.sample_batch_size,
          stats_dir=self.options.real_stats_dir,
          keep_features=tasks_lib.keeps_features(self.tasks))
    return self._real

  def evaluate(self, step, prefix):
    """Rows for one checkpoint, or None if it vanished before it was read."""
    logging.info("Evaluating %s (step %d, %s).", prefix, step,
                 "EMA generator" if self.use_ema else "generator")
    try:
      sampler = self.sampler_factory(self.model_dir, prefix, self.use_ema)
    except Exception:  # pylint: disable=broad-except
      if run_dir.checkpoint_exists(prefix):
        raise
      logging.warning("Checkpoint %s was deleted (trainer retention?) before "
                      "it could be evaluated; skipping it.", prefix)
      return None
    return evaluator.evaluate_generator(step, prefix, sampler, self.extractor,
                                        self.real(), self.tasks, self.options,
                                        self.use_ema)

  def record(self, rows):
    """TensorBoard scalars, then the results file (which marks it done)."""
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(
          run_dir.eval_summary_dir(self.model_dir, self.use_ema))
    with self._writer.as_default():
      for row in rows:
        if self.options.repeats == 1 or row["repeat"] is None:
          tf.summary.scalar(row["metric"], row["value"], step=row["step"])
    self._writer.flush()
    self.results.append(rows)


def run_continuous_eval(model_dir, options=None, sampler_factory=None,
                        extractor=None, dataset=None, sleep=time.sleep,
                        clock=time.monotonic):
  """Scores every checkpoint in model_dir once until training is done.

  Args:
    model_dir: the trainer's model_dir (local or tf.io.gfile path).
    options: evaluator.EvalOptions (default: gin-configured `evaluation`).
    sampler_factory: (model_dir, checkpoint_prefix, use_ema) -> sampler with
      `.sample(num, seed, batch_size)`; default: the trainer's load_sampler.
    extractor: feature extractor; default: gin-configured Inception.
    dataset: real data (see real_stats.real_statistics); default: gin's.
    sleep, clock: injectable for tests.

  Returns:
    The steps evaluated by this call, in order.
  """
  job = _Job(model_dir, options, sampler_factory, extractor, dataset)
  done = job.results.evaluated_steps(use_ema=job.use_ema)
  evaluated = []
  last_progress = clock()
  while True:
    finished = run_dir.training_done(model_dir)  # Read before listing.
    pending = [(s, p) for s, p in run_dir.list_checkpoints(model_dir)
               if s not in done]
    if pending:
      step, prefix = pending[0]
      rows = job.evaluate(step, prefix)
      if rows is not None:
        job.record(rows)
        evaluated.append(step)
      done.add(step)
      last_progress = clock()
      continue
    if finished:
      logging.info("Training is done and all checkpoints are evaluated.")
      return evaluated
    timeout = job.options.timeout_secs
    if timeout is not None and clock() - last_progress > timeout:
      logging.warning("No new checkpoint in %s s; stopping.", timeout)
      return evaluated
    sleep(job.options.poll_interval_secs)


def run_eval(model_dir, checkpoint=None, options=None, sampler_factory=None,
             extractor=None, dataset=None):
  """Scores one checkpoint (default: the latest), prints and records the rows.

  Arguments are as for run_continuous_eval; `checkpoint` is a
  `<model_dir>/ckpt-<step>` prefix.

  Returns:
    The result rows.
  """
  if checkpoint is None:
    found = run_dir.list_checkpoints(model_dir)
    if not found:
      raise FileNotFoundError(
          f"No {run_dir.CHECKPOINT_NAME}-*.index checkpoint in {model_dir}.")
    checkpoint = found[-1][1]
  elif (os.path.abspath(os.path.dirname(checkpoint)) !=
        os.path.abspath(model_dir)):
    raise ValueError(f"Checkpoint {checkpoint} is not in model_dir "
                     f"{model_dir}: its rows would be recorded under another "
                     "run, with that run's config.")
  elif not run_dir.checkpoint_exists(checkpoint):
    raise FileNotFoundError(f"Checkpoint {checkpoint}.index does not exist.")
  job = _Job(model_dir, options, sampler_factory, extractor, dataset)
  rows = job.evaluate(run_dir.step_of(checkpoint), checkpoint)
  if rows is None:
    raise FileNotFoundError(f"Checkpoint {checkpoint} vanished.")
  print(results.format_table(rows))
  job.record(rows)
  return rows
