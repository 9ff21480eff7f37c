"""The one training loop: a traced multi-step loop over `strategy.run(gan.train_step)`.

compare_gan's TPU loop in TF 2: `steps_per_loop` G steps per tf.function call (its
`iterations_per_loop`), each taking `disc_iters + 1` fresh per-replica batches. Metrics are
averaged on device and read once per loop; checkpoints, summaries and NaN checks happen
between loops, never inside the step.
"""
import contextlib
import signal

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import run_lock
from compare_ssgan import validate
from compare_ssgan.data import datasets
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import randomness
from compare_ssgan.training import checkpoints
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import summaries

MIXED_PRECISION_POLICIES = (None, "mixed_bfloat16", "mixed_float16")


class NonFiniteLossError(FloatingPointError):
  pass


class Preempted(KeyboardInterrupt):
  """SIGTERM, raised as Ctrl-C is so that training checkpoints on the way out (main.py
  exits with its status)."""


@gin.configurable("Trainer", denylist=["model_dir", "strategy"])
class Trainer:
  """Trains the gin-configured GAN on the gin-configured dataset into `model_dir`.

  Args:
    batch_size: global batch per sub-step (compare_gan's `options.batch_size`).
    training_steps: number of G steps (compare_gan's `options.training_steps`).
    steps_per_loop: G steps per traced call (compare_gan's `iterations_per_loop`).
    save_checkpoints_steps / keep_checkpoint_max: checkpoint cadence and retention.
    summary_steps: how often scalars are written (rounded to whole loops).
    image_summary_steps: how often a fixed-z sample grid goes to TensorBoard and a PNG.
    seed: run seed for weights, data order and every in-step random draw.
    deterministic: enable TF op determinism (a resumed run then equals an uninterrupted one).
    jit_compile: XLA-compile the per-replica step.
    mixed_precision: None, "mixed_bfloat16" or "mixed_float16" (losses stay float32).
  """

  def __init__(self, model_dir, strategy, batch_size=64, training_steps=100000,
               steps_per_loop=100, save_checkpoints_steps=5000, keep_checkpoint_max=10,
               summary_steps=100, image_summary_steps=1000, seed=547,
               deterministic=False, jit_compile=False, mixed_precision=None):
    # Every knob is checked before any file, dataset or network is made.
    validate.integer("Trainer.batch_size", batch_size, minimum=1)
    # 0 steps would mark the run done without a checkpoint to evaluate.
    validate.integer("Trainer.training_steps", training_steps, minimum=1)
    for binding, value in (("Trainer.steps_per_loop", steps_per_loop),
                           ("Trainer.save_checkpoints_steps", save_checkpoints_steps),
                           ("Trainer.keep_checkpoint_max", keep_checkpoint_max),
                           ("Trainer.summary_steps", summary_steps),
                           ("Trainer.image_summary_steps", image_summary_steps)):
      validate.integer(binding, value, minimum=1)
    # The step seeds are int32 tensors.
    validate.integer("Trainer.seed", seed, minimum=0, maximum=2**31 - 1)
    validate.boolean("Trainer.deterministic", deterministic)
    validate.boolean("Trainer.jit_compile", jit_compile)
    validate.choice("Trainer.mixed_precision", mixed_precision, MIXED_PRECISION_POLICIES)
    if batch_size % strategy.num_replicas_in_sync:
      raise ValueError(f"Trainer.batch_size={batch_size} must divide by the "
                       f"{strategy.num_replicas_in_sync} replicas.")
    self.model_dir = model_dir
    self.strategy = strategy
    self.worker = strategy_lib.this_worker(strategy)
    self.batch_size = batch_size
    self.training_steps = training_steps
    self.steps_per_loop = steps_per_loop
    self.save_checkpoints_steps = save_checkpoints_steps
    self.keep_checkpoint_max = keep_checkpoint_max
    self.summary_steps = summary_steps
    self.image_summary_steps = image_summary_steps
    self.seed = seed
    tf.io.gfile.makedirs(model_dir)
    if deterministic:
      tf.config.experimental.enable_op_determinism()
    if mixed_precision:
      keras.mixed_precision.set_global_policy(mixed_precision)
    keras.utils.set_random_seed(seed)

    self.dataset = datasets.get_dataset()
    with strategy.scope():
      self.gan = gan_lib.GAN(image_shape=self.dataset.image_shape,
                             num_classes=self.dataset.num_classes)
      if mixed_precision == "mixed_float16":
        self.gan.g_optimizer = keras.optimizers.LossScaleOptimizer(self.gan.g_optimizer)
        self.gan.d_optimizer = keras.optimizers.LossScaleOptimizer(self.gan.d_optimizer)
      self.gan.build_optimizers()
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
      self.trackers = {name: keras.metrics.Mean(name=name) for name in self.gan.metric_names}
    self.checkpoint = tf.train.Checkpoint(**run_dir.checkpoint_objects(self.gan, self.step))
    self.manager = None  # Made by `train()` once it knows which checkpoints are sound.
    self._saved_step = None  # The step of the newest checkpoint saved or restored.
    self._train_loop = tf.function(self._loop)
    self._replica_step = tf.function(self._replica_step_fn, jit_compile=jit_compile)

  def _replica_step_fn(self, batches, seed):
    for name, value in self.gan.train_step(batches, seed).items():
      self.trackers[name].update_state(value)

  def _loop(self, iterator, num_steps):
    base_seed = tf.constant([self.seed, 0], tf.int32)
    for _ in tf.range(num_steps):
      seed = randomness.fold_in(base_seed, tf.cast(self.step, tf.int32))
      batches = [next(iterator) for _ in range(self.gan.disc_iters + 1)]
      self.strategy.run(self._replica_step, args=(batches, seed))
      if self.gan.ema is not None:
        self.gan.ema.update(self.step)
      self.step.assign_add(1)

  def train_dataset(self, start_step=0):
    """The distributed train batches, positioned after `start_step` G steps."""
    return datasets.distributed_train_dataset(
        self.strategy, self.dataset, self.batch_size, self.seed,
        start_batch=start_step * (self.gan.disc_iters + 1))

  def run_loop(self, iterator, num_steps):
    """Runs `num_steps` G steps in one traced call (no checkpoints or summaries)."""
    self._train_loop(iterator, tf.constant(num_steps, tf.int64))

  def train(self):
    """Runs (or resumes) training to `training_steps`; returns the final scalars."""
    # One trainer per run directory: the chief holds its lock (the others write nothing).
    lock = (run_lock.hold(run_dir.train_lock_path(self.model_dir), "trainer")
            if self.worker.is_chief else contextlib.nullcontext())
    with lock, self.worker.scratch_dir() as scratch_dir:
      return self._train(scratch_dir)

  def _train(self, scratch_dir):
    chief = self.worker.is_chief
    if chief:
      run_dir.remove_stale_temporaries(self.model_dir)
    self.manager = checkpoints.restore_or_initialize(
        self.checkpoint, self.model_dir, self.keep_checkpoint_max,
        save_dir=self.worker.checkpoint_dir(self.model_dir, scratch_dir))
    start = int(self.step.numpy())
    # The same on every worker (a non-chief's manager holds no restored checkpoint), so
    # that all take part in the same saves; a restored step 0 is saved again, harmlessly.
    self._saved_step = start or -1
    if start >= self.training_steps:
      logging.info("Already trained to step %d.", start)
      self._finish(start)
      return {}
    if chief:
      run_dir.write_atomically(run_dir.config_path(self.model_dir), gin.config_str())
    iterator = iter(self.train_dataset(start))
    writer = tf.summary.create_file_writer(self.model_dir) if chief else None
    progress = summaries.Progress(start, self.training_steps)
    scalars = {}
    if start == 0:
      self._save(0)
    sigterm_handler = signal.getsignal(signal.SIGTERM)
    preemption = self._preemption_handler(scratch_dir)
    try:
      while start < self.training_steps:
        self.run_loop(iterator, self._steps_until_boundary(start))
        if chief and start == int(progress.start_step):
          # After the first trace every configurable in use has been called.
          run_dir.write_atomically(run_dir.operative_config_path(self.model_dir),
                                   gin.operative_config_str())
        start = int(self.step.numpy())
        scalars = self._read_trackers()  # On every worker: may all-reduce.
        _check_finite(scalars, start)
        scalars["steps_per_sec"] = progress.update(start, scalars)
        if chief:
          self._write_summaries(writer, start, scalars)
        if start % self.save_checkpoints_steps == 0 or start == self.training_steps:
          self._save(start)
        if preemption:
          preemption.save_checkpoint_if_preempted()
    except KeyboardInterrupt as interrupt:
      # Ctrl-C or a preemption's SIGTERM (main.py turns it into KeyboardInterrupt):
      # a loop is atomic, so the weights match `step`; keep them unless they are NaN.
      # A worker of several cannot save alone (saves are collective): its SIGTERM goes
      # through `preemption`, which has saved already.
      if scalars and not self.worker.multi_worker:
        self._save(int(self.step.numpy()))
      # For main.py's exit line (and any traceback): where a restart resumes.
      latest = run_dir.latest_checkpoint(self.model_dir)  # The chief's, on a cluster.
      if latest:
        interrupt.add_note(f"at step {run_dir.step_of(latest)}; checkpoint written to "
                           f"{latest}")
      raise
    finally:
      if preemption:
        signal.signal(signal.SIGTERM, sigterm_handler)
    self._finish(start)
    return scalars

  def _preemption_handler(self, scratch_dir):
    """TF's PreemptionCheckpointHandler on a multi-worker cluster, else None.

    A SIGTERM to any worker makes every worker save at the same loop (one more loop on)
    and then raise Preempted. The handler restores its manager's latest checkpoint when
    made, but this trainer has restored already (the newest that restores), so the
    handler gets a Checkpoint of its own on an empty directory: its count of calls, on
    which the workers agree when to save, then starts at 0 on every worker, and the
    run's checkpoints stay as they are. The saves are this trainer's.
    (On a GCE CPU VM the handler does nothing, a TF limitation: SIGTERM then stops one
    worker without a checkpoint; restart from the last periodic one.)
    """
    if not self.worker.multi_worker:
      return None
    own = tf.train.CheckpointManager(tf.train.Checkpoint(), f"{scratch_dir}/preemption",
                                     max_to_keep=1)

    def exit_preempted():
      raise Preempted(f"{self.worker.name} or another worker received SIGTERM")

    config = tf.distribute.experimental.TerminationConfig(
        exit_fn=exit_preempted, save_fn=lambda: self._save(int(self.step.numpy())))
    return tf.distribute.experimental.PreemptionCheckpointHandler(
        self.strategy.cluster_resolver, own, termination_config=config)

  def _save(self, step):
    """Saves `step` unless saved already; every worker calls it at the same points."""
    if step == self._saved_step:
      return
    checkpoints.save(self.manager, step)
    self._saved_step = step
    self.worker.discard_own_checkpoint(self.manager.directory)

  def _finish(self, step):
    """Writes the final sample grid, unless a run stopped after writing it, then TRAIN_DONE.

    Also on a resume that finds training complete: a stop between the last checkpoint and
    the grid leaves the grid to that resume.
    """
    if not self.worker.is_chief:
      return
    path = run_dir.samples_path(self.model_dir, step)
    if not tf.io.gfile.exists(path):
      self.write_sample_grid(path)
    run_dir.mark_training_done(self.model_dir)

  def _steps_until_boundary(self, step):
    """Loops end on every checkpoint, summary and image-summary boundary."""
    boundaries = [self.training_steps, _next_multiple(step, self.save_checkpoints_steps),
                  _next_multiple(step, self.summary_steps),
                  _next_multiple(step, self.image_summary_steps)]
    return int(min(min(boundaries) - step, self.steps_per_loop))

  def _read_trackers(self):
    scalars = {}
    for name, tracker in self.trackers.items():
      scalars[name] = float(tracker.result().numpy())
      tracker.reset_state()
    return scalars

  def _write_summaries(self, writer, step, scalars):
    scalars = dict(scalars)
    scalars["learning_rate/g"] = float(self.gan.g_optimizer.learning_rate.numpy())
    scalars["learning_rate/d"] = float(self.gan.d_optimizer.learning_rate.numpy())
    if step % self.summary_steps == 0 or step == self.training_steps:
      summaries.write_scalars(writer, step, scalars)
    if step % self.image_summary_steps == 0 or step == self.training_steps:
      summaries.write_images(writer, step, "fake_images", self.sample_grid())
    writer.flush()

  def sample_grid(self, num_images=64):
    """A grid from fixed z (and labels cycling through classes), EMA G when present."""
    generator = self.gan.ema_generator or self.gan.generator
    with gin.config_scope("eval"):
      z, _ = self.gan.sample_latents(num_images, tf.constant([self.seed, 1], tf.int32))
    labels = None
    if self.gan.conditional:
      labels = tf.range(num_images, dtype=tf.int32) % self.gan.num_classes
    images = generator(z, labels, training=False)
    return summaries.image_grid(images.numpy())

  def write_sample_grid(self, path):
    summaries.write_png(path, self.sample_grid())
    logging.info("Wrote sample grid %s", path)
    return path


def _next_multiple(step, every):
  return (step // every + 1) * every


def _check_finite(scalars, step):
  bad = {k: v for k, v in scalars.items() if not np.isfinite(v)}
  if bad:
    raise NonFiniteLossError(
        f"Non-finite training metrics in the loop ending at step {step}: {bad}. Training "
        "stopped; the last checkpoint before this loop is intact (lower the learning rate "
        "or add a penalty, then resume).")
