"""The run directory contract: what the trainer writes into model_dir and others read.

The one owner of these names (as compare_gan's runner_lib.TaskManager); model_dir is any
tf.io.gfile path:

  config.gin                  the gin config, written when training starts
  operative_config.gin        the parameters actually used, after the first loop
  ckpt-<step>.index, .data-*  tf.train checkpoints, <step> in G steps; the .index is written
                              last, so its presence means the checkpoint is complete
  checkpoint                  tf.train.CheckpointManager's state: the latest and retained
                              checkpoints (a cache of the files above, rebuilt from them)
  samples_<step, 8 digits>.png  the final fixed-z sample grid
  TRAIN_DONE                  empty, written once training has ended
  eval/results.<csv|jsonl>    evaluation rows of both generators (column use_ema); their
                              TensorBoard scalars in eval/ (G) and eval/ema/ (EMA G)
  eval/failures.jsonl         checkpoints the evaluator could not restore, with the reason
  export/<step>/              `--mode=export`'s SavedModel of the generator (compare_ssgan.export)
  curves.png                  `--mode=train_and_eval`'s FID/KID curves of this run
  train.lock                  the trainer working here (compare_ssgan.run_lock), while it runs
  eval/evaluator.lock         the evaluator writing eval/, while it runs
  study.json                  a study run's identity and command, and whether it finished
                              (compare_ssgan.studies.runner); study_run.log: its output

Temporaries the trainer owns, left behind only by a crash or a failed write:
  ckpt-<step>_temp/           a checkpoint save in progress (tf.train's sharded save)
  checkpoint.tmp<hex>         the state file being rewritten (tf.io's atomic write)
  <file>.tmp-<pid>            `write_atomically` of config.gin, operative_config.gin, TRAIN_DONE
  export/<step>.tmp-<pid>     an export being written (`replace_directory_atomically`)
"""
import os
import re

from absl import logging
import tensorflow as tf

from compare_ssgan import run_lock

CONFIG = "config.gin"
OPERATIVE_CONFIG = "operative_config.gin"
TRAIN_DONE = "TRAIN_DONE"
CHECKPOINT_NAME = "ckpt"
CHECKPOINT_STATE = "checkpoint"
EVAL_DIR = "eval"
EVAL_FAILURES = "failures.jsonl"
EXPORT_DIR = "export"
CURVES = "curves.png"
STUDY_RUN = "study.json"
TRAIN_LOCK = "train.lock"
EVAL_LOCK = "evaluator.lock"
STUDY_LOG = "study_run.log"

# Object keys inside a checkpoint (also the variable-name prefixes tf.train writes).
STEP = "step"
GENERATOR = "generator"
EMA_GENERATOR = "ema_generator"
DISCRIMINATOR = "discriminator"
G_OPTIMIZER = "g_optimizer"
D_OPTIMIZER = "d_optimizer"

_CHECKPOINT_RE = re.compile(rf"{CHECKPOINT_NAME}-(\d+)")
_INDEX = ".index"
_CHECKPOINT_TEMP = "_temp"  # Where tf.train writes a checkpoint's shards before renaming.
_ATOMIC_TEMP = ".tmp-"
_TRAINER_TEMPORARY_RE = re.compile(
    rf"{CHECKPOINT_NAME}-\d+{_CHECKPOINT_TEMP}|{CHECKPOINT_STATE}\.tmp[0-9a-f]{{32}}|"
    rf"({re.escape(CONFIG)}|{re.escape(OPERATIVE_CONFIG)}|{TRAIN_DONE})"
    rf"{re.escape(_ATOMIC_TEMP)}\d+")


def config_path(model_dir):
  return os.path.join(model_dir, CONFIG)


def operative_config_path(model_dir):
  return os.path.join(model_dir, OPERATIVE_CONFIG)


def samples_path(model_dir, step):
  return os.path.join(model_dir, f"samples_{step:08d}.png")


def results_path(model_dir, results_format):
  return os.path.join(model_dir, EVAL_DIR, f"results.{results_format}")


def curves_path(model_dir):
  return os.path.join(model_dir, CURVES)


def train_lock_path(model_dir):
  return os.path.join(model_dir, TRAIN_LOCK)


def eval_lock_path(model_dir):
  return os.path.join(model_dir, EVAL_DIR, EVAL_LOCK)


def study_run_path(model_dir):
  return os.path.join(model_dir, STUDY_RUN)


def study_log_path(model_dir):
  return os.path.join(model_dir, STUDY_LOG)


def eval_failures_path(model_dir):
  return os.path.join(model_dir, EVAL_DIR, EVAL_FAILURES)


def eval_summary_dir(model_dir, use_ema):
  """Separate TensorBoard runs, so that the two generators' curves can be overlaid."""
  return os.path.join(model_dir, EVAL_DIR, "ema") if use_ema else os.path.join(
      model_dir, EVAL_DIR)


def export_path(model_dir, step):
  return os.path.join(model_dir, EXPORT_DIR, str(step))


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


def checkpoint_prefix(model_dir, step):
  return os.path.join(model_dir, f"{CHECKPOINT_NAME}-{step}")


def checkpoint_state_path(model_dir):
  return os.path.join(model_dir, CHECKPOINT_STATE)


def checkpoint_exists(prefix):
  return tf.io.gfile.exists(prefix + _INDEX)


def checkpoint_time(prefix):
  """When the checkpoint was completed (its .index is written last), in seconds."""
  return tf.io.gfile.stat(prefix + _INDEX).mtime_nsec / 1e9


def list_checkpoints(model_dir):
  """Complete checkpoints as [(step, prefix)], oldest first."""
  found = []
  for index in tf.io.gfile.glob(os.path.join(model_dir, f"{CHECKPOINT_NAME}-*{_INDEX}")):
    prefix = index[:-len(_INDEX)]
    if _CHECKPOINT_RE.fullmatch(os.path.basename(prefix)):
      found.append((step_of(prefix), prefix))
  return sorted(found)


def latest_checkpoint(model_dir):
  """The newest complete checkpoint's prefix, or None; read from the files on disk, not
  from the `checkpoint` state file, which a crash may have damaged."""
  found = list_checkpoints(model_dir)
  return found[-1][1] if found else None


def remove_partial_checkpoint(prefix):
  """Removes the shards of a failed save of `prefix` (they would keep a full disk full)."""
  _remove(prefix + _CHECKPOINT_TEMP)


def remove_stale_temporaries(model_dir):
  """Removes what a crashed or failed trainer left half-written; returns the paths.

  Only the trainer's own temporaries (see the module docstring), never other files.
  """
  stale = [os.path.join(model_dir, name) for name in tf.io.gfile.listdir(model_dir)
           if _TRAINER_TEMPORARY_RE.fullmatch(name.rstrip("/"))]
  for path in stale:
    logging.warning("Removing %s, left half-written by an earlier run.", path)
    _remove(path)
  return stale


def _remove(path):
  if tf.io.gfile.isdir(path):
    tf.io.gfile.rmtree(path)
  elif tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)


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


def discriminator_objects(gan, step):
  """What the D probe restores (a subset of `checkpoint_objects`): the step and D."""
  return {STEP: step, DISCRIMINATOR: gan.discriminator}


def _replace_atomically(path, fill):
  """Has `fill(tmp)` write a temporary file beside `path`, then renames it over `path`.

  A crash leaves the old file or the new one, never half of one. The temporary name has
  the pid, so two writers never share one.
  """
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  tmp = f"{path}{_ATOMIC_TEMP}{os.getpid()}"
  fill(tmp)
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path


def replace_directory_atomically(path, fill):
  """Has `fill(tmp)` write a directory beside `path`, then puts it in place of `path`.

  A crash leaves the old directory or the new one in place, never half of one; what a dead
  writer left beside it (`<path>.tmp-<pid>` of a process that no longer runs on this host)
  is removed first.
  """
  parent, name = os.path.split(path.rstrip("/"))
  parent = parent or "."
  tf.io.gfile.makedirs(parent)
  for entry in tf.io.gfile.listdir(parent):
    entry = entry.rstrip("/")
    match = re.fullmatch(rf"{re.escape(name)}{re.escape(_ATOMIC_TEMP)}(\d+)", entry)
    if match and not run_lock.process_alive(int(match.group(1))):
      logging.warning("Removing %s, left half-written by an earlier process.", entry)
      _remove(os.path.join(parent, entry))
  tmp = os.path.join(parent, f"{name}{_ATOMIC_TEMP}{os.getpid()}")
  _remove(tmp)
  fill(tmp)
  _remove(path)
  tf.io.gfile.rename(tmp, path)
  return path


def write_atomically(path, data):
  """Writes str or bytes to `path` (any gfile path) atomically (`_replace_atomically`)."""
  def fill(tmp):
    with tf.io.gfile.GFile(tmp, "wb" if isinstance(data, bytes) else "w") as f:
      f.write(data)
  return _replace_atomically(path, fill)


def copy_atomically(source, path):
  """Copies a file to `path` (any gfile paths) atomically (`_replace_atomically`)."""
  return _replace_atomically(
      path, lambda tmp: tf.io.gfile.copy(source, tmp, overwrite=True))
