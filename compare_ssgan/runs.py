"""A trained run: its config, its G (raw or EMA) and D at a checkpoint, and seeded sampling.

The one place that rebuilds a run from its model_dir, for the evaluator, the sample and
export modes and the experiments. Parse the run's config first (`parse_run_config`; main.py
does it), then load:

  run = runs.TrainedRun(model_dir)
  sampler = run.load_sampler()            # the latest checkpoint, the run's EMA choice
  for images in sampler.sample(1000, seed=0):
    ...
"""
import inspect
import re
import time
import tokenize

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import gin_files
from compare_ssgan import run_dir
from compare_ssgan.architectures import normalization
from compare_ssgan.data import datasets
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import latents
from compare_ssgan.training import checkpoints
from compare_ssgan.training import trainer as trainer_lib


# Knobs that moved, as a run directory's config.gin may still bind them: old -> new name.
RENAMED_KNOBS = {"evaluation.kid_block_size": "kid.block_size",
                 "evaluation.inception_score_splits": "inception_score.splits"}
_RENAMED_RE = re.compile(
    r"^(\s*)(" + "|".join(re.escape(old) for old in RENAMED_KNOBS) + r")(\s*=)", re.MULTILINE)


def _renamed(text, path):
  """config.gin with moved knobs under their new names (said once per file)."""
  def rename(match):
    logging.warning("%s binds %s, now %s; reading it as that.", path, match.group(2),
                    RENAMED_KNOBS[match.group(2)])
    return match.group(1) + RENAMED_KNOBS[match.group(2)] + match.group(3)
  return _RENAMED_RE.sub(rename, text)


def parse_run_config(model_dir, wait_secs=0.0, poll_secs=10.0, sleep=time.sleep,
                     clock=time.monotonic):
  """Parses the trainer's `config.gin`, so that an evaluator rebuilds the same run.

  Call it before the evaluator's own gin files and bindings, which then override it.
  An evaluator started before its trainer waits up to `wait_secs` (>= 0, inf: forever)
  for the file to appear; `sleep` and `clock` are injectable for tests.
  """
  path = run_dir.config_path(model_dir)
  start = clock()
  while not tf.io.gfile.exists(path):
    if not wait_secs:
      raise FileNotFoundError(
          f"{path} not found: {model_dir!r} is not a compare_ssgan run directory (the "
          f"trainer writes {run_dir.CONFIG} when it starts).")
    waited = clock() - start
    dir_state = "exists" if tf.io.gfile.isdir(model_dir) else "does not exist"
    if waited >= wait_secs:
      raise TimeoutError(
          f"No {path} after waiting {waited:.0f} s (the directory {dir_state}): is "
          f"--model_dir right? The trainer writes {run_dir.CONFIG} when it starts.")
    logging.info("Waiting for the trainer to write %s (the directory %s; %.0f of %s s) ...",
                 path, dir_state, waited, wait_secs)
    sleep(min(poll_secs, wait_secs - waited))
  with tf.io.gfile.GFile(path) as f:
    text = _renamed(f.read(), path)
  try:
    gin.parse_config(text)
  except tokenize.TokenError:  # Cut short: a bracket or string never closed.
    raise ValueError("cannot be parsed: " +
                     gin_files.describe_unclosed(text, path)) from None
  except SyntaxError as e:
    raise ValueError("cannot be parsed: " +
                     gin_files.describe_syntax_error(e, path)) from None
  except ValueError as e:  # An unknown configurable or parameter.
    raise ValueError(f"{path} cannot be parsed: {e}") from None


def _bound(configurable, parameter):
  """A parameter of the parsed gin config, or the configurable's default."""
  default = inspect.signature(configurable).parameters[parameter].default
  return gin.get_bindings(configurable).get(parameter, default)


class Sampler:
  """Draws images from one checkpoint's generator, deterministically given a seed.

  Latents and labels come from `latents.seeded_latents` with the evaluation prior
  (`eval/z.*`), so seed s gives the same images here, in the sample mode and from an
  export of the same checkpoint.
  """

  def __init__(self, gan, generator, step, checkpoint_path, use_ema,
               standing_statistics_batches=0, batch_size=64, seed=0):
    """`standing_statistics_batches` > 0: G's BN statistics are first replaced by standing
    statistics over that many batches of `batch_size` latents of the evaluation prior
    (normalization.standing_statistics; drawn with `seed` from their own stream)."""
    self.gan = gan
    self.generator = generator
    self.step = step
    self.checkpoint_path = checkpoint_path
    self.use_ema = use_ema
    self.image_shape = gan.image_shape
    self.num_classes = gan.num_classes
    self.prior = latents.eval_prior(gan.z_dim,
                                    gan.num_classes if gan.conditional else 0)
    self.standing_statistics_batches = standing_statistics_batches
    if standing_statistics_batches:
      batches = latents.seeded_latents(
          self.prior, standing_statistics_batches * batch_size, seed, batch_size,
          stream=latents.STANDING_STATISTICS_STREAM)
      cores = normalization.standing_statistics(
          generator, ((gan.transform_latents(z, batch_seed), labels)
                      for batch_seed, z, labels in batches))
      logging.info("Standing statistics of %d BN layers of G over %d batches of %d.",
                   cores, standing_statistics_batches, batch_size)
    self._generate = tf.function(lambda z, y: generator(z, y, training=False))

  def sample_with_labels(self, num_examples, seed=0, batch_size=64):
    """Yields (images, labels or None): float32 numpy [b, H, W, C] in [0, 1], int32 [b]."""
    for batch_seed, z, labels in latents.seeded_latents(self.prior, num_examples, seed,
                                                        batch_size):
      z = self.gan.transform_latents(z, batch_seed)
      yield (np.asarray(self._generate(z, labels), np.float32),
             None if labels is None else labels.numpy())

  def sample(self, num_examples, seed=0, batch_size=64):
    """Yields float32 numpy batches [b, H, W, C] in [0, 1], `num_examples` in total."""
    for images, _ in self.sample_with_labels(num_examples, seed, batch_size):
      yield images


class TrainedRun:
  """The run in `model_dir`, as its parsed config describes it."""

  def __init__(self, model_dir):
    self.model_dir = model_dir

  def uses_ema(self):
    """`GAN.g_use_ema`: whether the run keeps an EMA generator."""
    return _bound(gan_lib.GAN, "g_use_ema")

  def training_steps(self):
    """`Trainer.training_steps`: the run's final step."""
    return _bound(trainer_lib.Trainer, "training_steps")

  def dataset(self):
    return datasets.get_dataset()

  def _checkpoint(self, checkpoint_path):
    checkpoint_path = checkpoint_path or run_dir.latest_checkpoint(self.model_dir)
    if checkpoint_path is None:
      raise FileNotFoundError(f"No checkpoint in {self.model_dir!r}.")
    return checkpoint_path

  def _build_gan(self):
    dataset = self.dataset()
    return gan_lib.GAN(image_shape=dataset.image_shape, num_classes=dataset.num_classes)

  def load_discriminator(self, checkpoint_path=None):
    """(D, step) restored from a checkpoint (default: the latest)."""
    checkpoint_path = self._checkpoint(checkpoint_path)
    gan = self._build_gan()
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(**run_dir.discriminator_objects(gan, step))
    checkpoints.restore(checkpoint, checkpoint_path, partial=True)
    return gan.discriminator, int(step.numpy())

  def load_sampler(self, checkpoint_path=None, use_ema=None, standing_statistics_batches=0,
                   batch_size=64, seed=0):
    """A Sampler of G (or its EMA) at a checkpoint (default: the latest); `use_ema`
    defaults to the run's own `GAN.g_use_ema`; the rest: see Sampler."""
    checkpoint_path = self._checkpoint(checkpoint_path)
    if use_ema is None:
      use_ema = self.uses_ema()
    gan = self._build_gan()
    if use_ema and gan.ema_generator is None:
      raise ValueError(f"use_ema=True but the run in {self.model_dir!r} has no EMA "
                       "generator (GAN.g_use_ema was False).")
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(**run_dir.generator_objects(gan, step, use_ema))
    checkpoints.restore(checkpoint, checkpoint_path, partial=True)
    generator = gan.ema_generator if use_ema else gan.generator
    return Sampler(gan, generator, int(step.numpy()), checkpoint_path, use_ema,
                   standing_statistics_batches, batch_size, seed)
