"""Rebuilds a trained generator (evaluator workers, sampling) or D (the probe) from a
model_dir."""
import inspect
import time

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import configurables  # pylint: disable=unused-import
from compare_ssgan import run_dir
from compare_ssgan.data import datasets
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import randomness
from compare_ssgan.training import checkpoints
from compare_ssgan.training import trainer as trainer_lib


class Sampler:
  """Draws images from one checkpoint's generator, deterministically given a seed.

  z comes from the prior under the gin scope `eval` (so `eval/z.truncation = 0.5` applies
  to evaluation only); conditional models get uniform random labels, as in compare_gan.
  """

  def __init__(self, gan, generator, step, checkpoint_path, use_ema):
    self.gan = gan
    self.generator = generator
    self.step = step
    self.checkpoint_path = checkpoint_path
    self.use_ema = use_ema
    self.image_shape = gan.image_shape
    self.num_classes = gan.num_classes
    self._generate = tf.function(lambda z, y: generator(z, y, training=False))

  def sample(self, num_examples, seed=0, batch_size=64):
    """Yields float32 numpy batches [b, H, W, C] in [0, 1], `num_examples` in total."""
    base = tf.constant([seed, 7], tf.int32)
    for index, start in enumerate(range(0, num_examples, batch_size)):
      size = min(batch_size, num_examples - start)
      with gin.config_scope("eval"):
        z, labels = self.gan.sample_latents(size, randomness.fold_in(base, index))
      yield np.asarray(self._generate(z, labels), np.float32)


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
    gin.parse_config(f.read())


def run_uses_ema():
  """`GAN.g_use_ema` of the parsed gin config: whether the run keeps an EMA generator."""
  default = inspect.signature(gan_lib.GAN).parameters["g_use_ema"].default
  return gin.get_bindings(gan_lib.GAN).get("g_use_ema", default)


def run_training_steps():
  """`Trainer.training_steps` of the parsed gin config: the run's final step."""
  default = inspect.signature(trainer_lib.Trainer).parameters["training_steps"].default
  return gin.get_bindings(trainer_lib.Trainer).get("training_steps", default)


def _checkpoint_path(model_dir, checkpoint_path):
  checkpoint_path = checkpoint_path or run_dir.latest_checkpoint(model_dir)
  if checkpoint_path is None:
    raise FileNotFoundError(f"No checkpoint in {model_dir!r}.")
  return checkpoint_path


def _build_gan():
  dataset = datasets.get_dataset()
  return gan_lib.GAN(image_shape=dataset.image_shape, num_classes=dataset.num_classes)


def load_discriminator(model_dir, checkpoint_path=None):
  """Builds the gin-configured GAN and restores D from a checkpoint (the latest by default).

  The run's config must be parsed first (`parse_run_config`).

  Returns:
    (discriminator, step).
  """
  checkpoint_path = _checkpoint_path(model_dir, checkpoint_path)
  gan = _build_gan()
  step = tf.Variable(0, dtype=tf.int64)
  checkpoint = tf.train.Checkpoint(**run_dir.discriminator_objects(gan, step))
  checkpoints.restore(checkpoint, checkpoint_path, partial=True)
  return gan.discriminator, int(step.numpy())


def load_sampler(model_dir, checkpoint_path=None, use_ema=None):
  """Builds the gin-configured GAN and restores G (or its EMA) from a checkpoint.

  The run's config must be parsed first (`parse_run_config`; main.py does it).
  `checkpoint_path` defaults to the latest checkpoint in model_dir; `use_ema` to the
  run's own `GAN.g_use_ema`.
  """
  checkpoint_path = _checkpoint_path(model_dir, checkpoint_path)
  if use_ema is None:
    use_ema = run_uses_ema()
  gan = _build_gan()
  if use_ema and gan.ema_generator is None:
    raise ValueError(f"use_ema=True but the run in {model_dir!r} has no EMA generator "
                     "(GAN.g_use_ema was False).")
  step = tf.Variable(0, dtype=tf.int64)
  checkpoint = tf.train.Checkpoint(**run_dir.generator_objects(gan, step, use_ema))
  checkpoints.restore(checkpoint, checkpoint_path, partial=True)
  generator = gan.ema_generator if use_ema else gan.generator
  return Sampler(gan, generator, int(step.numpy()), checkpoint_path, use_ema)
