"""Evaluates one checkpoint (`eval`) or every new one (`continuous_eval`).

Each checkpoint gets the requested metric tasks: those that score its
generator's fakes (only at the steps `evaluation.inception_metrics_every_steps`
selects) and those that need its D (the representation probe): one set of rows.

Run them with `python -m compare_ssgan.main --mode=eval|continuous_eval`, which
parses the run's config.gin first and hands the job the run (`runs.TrainedRun`:
its dataset, its final step, its EMA choice, and loaders of G and D at a
checkpoint; tests hand it a stand-in). They may run on another machine than the
trainer (model_dir can be any tf.io.gfile path), and both add their rows to
the run's results file (`run_dir.results_path`). Either mode scores a
checkpoint once per generator (raw or EMA) and protocol (see results.py);
`run_eval(rescore=True)` replaces its rows. Continuous evaluation goes oldest
first; what is done is read back from the results file, so a restarted
evaluator neither repeats nor skips one. A checkpoint that the trainer's
retention deleted before it was read is skipped with a warning; one that cannot
be restored (corrupt) is recorded with its reason in the failure log
(`run_dir.eval_failures_path`) and never retried except by a rescore. It stops
once `TRAIN_DONE` exists and every checkpoint is done (or after `timeout_secs`
without a new checkpoint), saying what was and was not scored, and raises
EvaluationIncomplete if a checkpoint still present could not be restored or the
final one has no rows.
"""

import os
import time

from absl import logging
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import run_lock
from compare_ssgan.evaluation import evaluator
from compare_ssgan.evaluation import results
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import real_stats
from compare_ssgan.metrics import tasks as tasks_lib
from compare_ssgan.training import checkpoints


class _Job:
  """Shared set-up of both modes; the real statistics are loaded on first use, once."""

  def __init__(self, run, options, extractor):
    self.run = run
    self.model_dir = run.model_dir
    self.options = options or evaluator.EvalOptions()
    self.use_ema = self.options.use_ema
    if self.use_ema is None:
      self.use_ema = run.uses_ema()
    self.extractor = extractor or extractor_lib.InceptionExtractor()
    self.fake_tasks, self.discriminator_tasks = evaluator.metric_tasks(
        self.options, getattr(self.extractor, "has_logits", False))
    self.results = results.ResultsFile(
        run_dir.results_path(self.model_dir, self.options.results_format),
        self.options.results_format)
    self.failures = results.FailureLog(run_dir.eval_failures_path(self.model_dir))
    # The state files this job adds to are read now, so that a damaged one is refused
    # (naming its line) before any work, not after an evaluation.
    self.results.read()
    self.failures.read()
    self.final_step = (None if self.options.inception_metrics_every_steps is None
                       else run.training_steps())
    self._dataset = None
    # Now, not at the first checkpoint.
    for task in self.fake_tasks:
      task.check_sizes(self.options.num_samples, self.options.num_samples)
    for task in self.discriminator_tasks:
      task.check(self.dataset())
    self._real = None
    self._writer = None

  def dataset(self):
    if self._dataset is None:
      self._dataset = self.run.dataset()
    return self._dataset

  def real(self):
    if self._real is None:
      self._real = real_stats.real_statistics(
          self.dataset(), self.extractor, self.options.num_samples,
          batch_size=self.options.sample_batch_size,
          stats_dir=self.options.real_stats_dir, split=self.options.real_split,
          keep_features=tasks_lib.INCEPTION_FEATURES in tasks_lib.needs(self.fake_tasks))
    return self._real

  def key(self, step):
    """The RowSetKey of this job's rows for a step."""
    return results.RowSetKey(step, self.use_ema, self.options.num_samples,
                             self.options.seed, self.options.protocol,
                             evaluator.resize_of(self.extractor))

  def done_steps(self):
    """Steps scored under this protocol or recorded as failed."""
    return ({key.step for key in self.results.keys()
             if key == self.key(key.step)} |
            set(self.failures.reasons(self.use_ema)))

  def evaluate(self, step, prefix):
    """Rows for one checkpoint (none if no metric is due at its step), or None if
    it vanished before it was read.

    Raises:
      checkpoints.CheckpointError: it cannot be restored; recorded as failed.
    """
    fakes_due = bool(self.fake_tasks) and evaluator.fake_tasks_due(
        step, self.options, self.final_step)
    logging.info("Evaluating %s (step %d, %s%s).", prefix, step,
                 "EMA generator" if self.use_ema else "generator",
                 "" if fakes_due or not self.fake_tasks
                 else ": no metric of its fakes due")
    try:
      sampler = (self.run.load_sampler(
          prefix, use_ema=self.use_ema,
          standing_statistics_batches=self.options.standing_statistics_batches,
          batch_size=self.options.sample_batch_size, seed=self.options.seed)
                 if fakes_due else None)
      discriminator = (self.run.load_discriminator(prefix)[0]
                       if self.discriminator_tasks else None)
    except Exception as e:  # pylint: disable=broad-except
      if not run_dir.checkpoint_exists(prefix):
        logging.warning("Checkpoint %s was deleted (trainer retention?) before "
                        "it could be evaluated; skipping it.", prefix)
        return None
      if isinstance(e, checkpoints.CheckpointError):
        self.failures.record(step, self.use_ema, prefix, str(e))
        logging.warning("Skipping checkpoint %s for good (recorded in %s; "
                        "--mode=eval --rescore retries it): %s", prefix,
                        self.failures.path, e)
      raise
    rows = []
    if sampler is not None:
      rows += evaluator.evaluate_generator(step, prefix, sampler, self.extractor,
                                           self.real(), self.fake_tasks, self.options,
                                           self.use_ema)
    if discriminator is not None:
      rows += evaluator.evaluate_discriminator(
          step, prefix, discriminator, self.dataset(), self.discriminator_tasks,
          self.options, self.use_ema, evaluator.resize_of(self.extractor))
    return rows

  def record(self, rows, replace=False):
    """TensorBoard scalars, then the results file (which marks it done).

    `replace`: the rows replace this protocol's rows of their checkpoint.
    No rows (no metric due) record nothing.
    """
    if not rows:
      return
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(
          run_dir.eval_summary_dir(self.model_dir, self.use_ema))
    with self._writer.as_default():
      for row in rows:
        if self.options.repeats == 1 or row["repeat"] is None:
          tf.summary.scalar(row["metric"], row["value"], step=row["step"])
    self._writer.flush()
    self.results.add(rows, replace=replace)
    self.failures.clear(rows[0]["step"], self.use_ema)


def run_continuous_eval(run, options=None, extractor=None, sleep=time.sleep,
                        clock=time.monotonic):
  """Scores every checkpoint of a run once until training is done.

  Args:
    run: the run (runs.TrainedRun, or a stand-in with the same methods): its
      `model_dir` (local or tf.io.gfile path), `dataset()` (real data, see
      real_stats.real_statistics), `uses_ema()`, `training_steps()`,
      `load_sampler(checkpoint, use_ema)` (an object with `.sample(num, seed,
      batch_size)`) and `load_discriminator(checkpoint)` ((D, step)).
    options: evaluator.EvalOptions (default: gin-configured `evaluation`).
    extractor: feature extractor; default: gin-configured Inception.
    sleep, clock: injectable for tests.

  Returns:
    The steps evaluated by this call, in order.
  """
  with run_lock.hold(run_dir.eval_lock_path(run.model_dir), "evaluator"):
    return _continuous_eval(_Job(run, options, extractor), sleep, clock)


def _continuous_eval(job, sleep, clock):
  model_dir = job.model_dir
  done = job.done_steps()
  evaluated = []
  last_progress = clock()
  while True:
    finished = run_dir.training_done(model_dir)  # Read before listing.
    pending = [(s, p) for s, p in run_dir.list_checkpoints(model_dir)
               if s not in done]
    if pending:
      step, prefix = pending[0]
      try:
        rows = job.evaluate(step, prefix)
      except checkpoints.CheckpointError:
        rows = None  # Recorded and logged; go on with the later ones.
      if rows:
        job.record(rows)
        evaluated.append(step)
      done.add(step)
      last_progress = clock()
      continue
    if finished:
      _finish(job, evaluated)
      return evaluated
    timeout = job.options.timeout_secs
    if timeout is not None and clock() - last_progress > timeout:
      logging.warning("No new checkpoint in %s s; stopping.", timeout)
      return evaluated
    sleep(job.options.poll_interval_secs)


class EvaluationIncomplete(RuntimeError):
  """Training is done but a checkpoint the protocol scores could not be scored;
  `evaluated` holds the steps the call did score."""

  def __init__(self, message, evaluated):
    super().__init__(message)
    self.evaluated = evaluated


def _finish(job, evaluated):
  """Logs what was and was not scored; raises EvaluationIncomplete if a checkpoint that
  is still there could not be restored, or the final one is not scored."""
  present = [step for step, _ in run_dir.list_checkpoints(job.model_dir)]
  scored = {key.step for key in job.results.keys() if key == job.key(key.step)}
  failed = {step: reason for step, reason in job.failures.reasons(job.use_ema).items()
            if step in present}
  final = present[-1] if present else None
  logging.info("Training is done. Checkpoints %s; scored with this protocol: %s; this "
               "call scored %s; could not be restored: %s.", present, sorted(scored),
               evaluated, sorted(failed) or "none")
  problems = [f"step {step}: {reason}" for step, reason in sorted(failed.items())]
  has_tasks = bool(job.fake_tasks or job.discriminator_tasks)
  if has_tasks and final is not None and final not in scored and final not in failed:
    problems.append(f"the final checkpoint (step {final}) has no rows")
  if problems:
    raise EvaluationIncomplete(
        f"Evaluation of {job.model_dir} is incomplete: " + "; ".join(problems) +
        f" (recorded in {job.failures.path}; --mode=eval --rescore --checkpoint=... "
        "retries one).", evaluated)


def run_eval(run, checkpoint=None, options=None, extractor=None, rescore=False):
  """Scores one checkpoint (default: the latest), prints and records the rows.

  A checkpoint already scored under this protocol is not scored again: its
  rows are printed and returned as they are. One that failed to restore before
  raises that failure again.

  Arguments are as for run_continuous_eval; `checkpoint` is a
  `<model_dir>/ckpt-<step>` prefix; `rescore` scores it even so (a failed one
  too) and replaces its rows.

  Returns:
    The result rows.

  Raises:
    checkpoints.CheckpointError: the checkpoint cannot be restored.
  """
  model_dir = run.model_dir
  if checkpoint is None:
    checkpoint = run_dir.latest_checkpoint(model_dir)
    if checkpoint is None:
      raise FileNotFoundError(
          f"No {run_dir.CHECKPOINT_NAME}-*.index checkpoint in {model_dir}.")
  elif (os.path.abspath(os.path.dirname(checkpoint)) !=
        os.path.abspath(model_dir)):
    raise ValueError(f"Checkpoint {checkpoint} is not in model_dir "
                     f"{model_dir}: its rows would be recorded under another "
                     "run, with that run's config.")
  elif not run_dir.checkpoint_exists(checkpoint):
    raise FileNotFoundError(f"Checkpoint {checkpoint}.index does not exist.")
  with run_lock.hold(run_dir.eval_lock_path(model_dir), "evaluator"):
    return _eval_one(_Job(run, options, extractor), checkpoint, rescore)


def _eval_one(job, checkpoint, rescore):
  step = run_dir.step_of(checkpoint)
  if not rescore:
    rows = job.results.rows_of(job.key(step))
    if rows:
      logging.info("%s is already scored with this protocol (%s); these are "
                   "its rows in %s. --rescore replaces them.", checkpoint,
                   job.key(step), job.results.path)
      print(results.format_table(rows))
      return rows
    failure = job.failures.reasons(job.use_ema).get(step)
    if failure is not None:
      raise checkpoints.CheckpointError(
          f"{checkpoint} failed earlier (recorded in {job.failures.path}; "
          f"--rescore retries it): {failure}")
  rows = job.evaluate(step, checkpoint)
  if rows is None:
    raise FileNotFoundError(f"Checkpoint {checkpoint} vanished.")
  print(results.format_table(rows))
  job.record(rows, replace=rescore)
  return rows
