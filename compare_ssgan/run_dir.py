"""The run directory contract: what the trainer writes into model_dir and others read.

The one owner of these names (as compare_gan's runner_lib.TaskManager); model_dir is any
tf.io.gfile path:

  config.gin                  the gin config, written when training starts
  operative_config.gin        the parameters actually used, after the first loop
  ckpt-<step>.index, .data-*  tf.train checkpoints, <step> in G steps; the .index is written
                              last, so its presence means the checkpoint is complete
  samples_<step, 8 digits>.png  the final fixed-z sample grid
  TRAIN_DONE                  empty, written once training has ended
  eval/results.<csv|jsonl>    evaluation rows of both generators (column use_ema); their
                              TensorBoard scalars in eval/ (G) and eval/ema/ (EMA G)
  eval/failures.jsonl         checkpoints the evaluator could not restore, with the reason
"""
import os
import re

import tensorflow as tf

CONFIG = "config.gin"
OPERATIVE_CONFIG = "operative_config.gin"
TRAIN_DONE = "TRAIN_DONE"
CHECKPOINT_NAME = "ckpt"
EVAL_DIR = "eval"
EVAL_FAILURES = "failures.jsonl"

# Object keys inside a checkpoint (also the variable-name prefixes tf.train writes).
STEP = "step"
GENERATOR = "generator"
EMA_GENERATOR = "ema_generator"
DISCRIMINATOR = "discriminator"
G_OPTIMIZER = "g_optimizer"
D_OPTIMIZER = "d_optimizer"

_CHECKPOINT_RE = re.compile(rf"{CHECKPOINT_NAME}-(\d+)")
_INDEX = ".index"


def config_path(model_dir):
  return os.path.join(model_dir, CONFIG)


def operative_config_path(model_dir):
  return os.path.join(model_dir, OPERATIVE_CONFIG)


def samples_path(model_dir, step):
  return os.path.join(model_dir, f"samples_{step:08d}.png")


def results_path(model_dir, results_format):
  return os.path.join(model_dir, EVAL_DIR, f"results.{results_format}")


def eval_failures_path(model_dir):
  return os.path.join(model_dir, EVAL_DIR, EVAL_FAILURES)


def eval_summary_dir(model_dir, use_ema):
  """Separate TensorBoard runs, so that the two generators' curves can be overlaid."""
  return os.path.join(model_dir, EVAL_DIR, "ema") if use_ema else os.path.join(
      model_dir, EVAL_DIR)


def mark_training_done(model_dir):
  write_atomically(os.path.join(model_dir, TRAIN_DONE), "")


def training_done(model_dir):
  return tf.io.gfile.exists(os.path.join(model_dir, TRAIN_DONE))


def step_of(prefix):
  """The step in a `<model_dir>/ckpt-<step>` checkpoint prefix."""
  match = _CHECKPOINT_RE.fullmatch(os.path.basename(prefix))
  if not match:
    raise ValueError(f"Checkpoint prefix {prefix!r} is not of the form "
                     f"'<model_dir>/{CHECKPOINT_NAME}-<step>'.")
  return int(match.group(1))


def checkpoint_exists(prefix):
  return tf.io.gfile.exists(prefix + _INDEX)


def list_checkpoints(model_dir):
  """Complete checkpoints as [(step, prefix)], oldest first."""
  found = []
  for index in tf.io.gfile.glob(os.path.join(model_dir, f"{CHECKPOINT_NAME}-*{_INDEX}")):
    prefix = index[:-len(_INDEX)]
    if _CHECKPOINT_RE.fullmatch(os.path.basename(prefix)):
      found.append((step_of(prefix), prefix))
  return sorted(found)


def checkpoint_objects(gan, step):
  """Everything a resumed run needs: networks, optimizers, EMA, term heads and the step.

  The step is also the RNG state: every random draw is a stateless function of it.
  """
  objects = {STEP: step, GENERATOR: gan.generator, DISCRIMINATOR: gan.discriminator,
             G_OPTIMIZER: gan.g_optimizer, D_OPTIMIZER: gan.d_optimizer}
  if gan.ema_generator is not None:
    objects[EMA_GENERATOR] = gan.ema_generator
  for index, term in enumerate(gan.terms):
    objects[f"term_{index}_{term.name}"] = term
  return objects


def generator_objects(gan, step, use_ema):
  """What a sampler restores (a subset of `checkpoint_objects`): the step and one G."""
  if use_ema:
    return {STEP: step, EMA_GENERATOR: gan.ema_generator}
  return {STEP: step, GENERATOR: gan.generator}


def write_atomically(path, data):
  """Writes str or bytes to a temporary file, then renames it over `path` (any gfile path).

  A crash leaves the old file or the new one, never half of one. The temporary name has
  the pid, so two writers never share one.
  """
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  tmp = f"{path}.tmp-{os.getpid()}"
  with tf.io.gfile.GFile(tmp, "wb" if isinstance(data, bytes) else "w") as f:
    f.write(data)
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path
