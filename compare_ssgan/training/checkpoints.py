"""Checkpoint restore and save: recovery from damaged run directories, clear errors."""
import os

from absl import logging
import tensorflow as tf

from compare_ssgan import run_dir


class CheckpointError(RuntimeError):
  pass


def restore_or_initialize(checkpoint, model_dir, max_to_keep, save_dir=None):
  """Restores the newest checkpoint in `model_dir` that restores; returns the manager.

  The checkpoint files on disk are the truth, not TF's state file: a missing, garbage or
  stale `checkpoint` file is rewritten from them (TF would ignore it and start over from
  step 0, overwriting the run). A newest checkpoint that does not restore is skipped with a
  warning naming it; if none restores, a CheckpointError is raised and nothing changes.

  `save_dir` (default `model_dir`) is where the manager saves: a multi-worker run's
  non-chief saves elsewhere (see strategy.Worker) and leaves model_dir's state file alone.
  """
  save_dir = save_dir or model_dir
  on_disk = run_dir.list_checkpoints(model_dir)
  path = _restore_newest(checkpoint, model_dir, [prefix for _, prefix in reversed(on_disk)])
  if save_dir == model_dir:
    retained = ([prefix for step, prefix in on_disk if step <= run_dir.step_of(path)]
                if path else [])
    _sync_state(model_dir, retained)
  return tf.train.CheckpointManager(checkpoint, save_dir, max_to_keep=max_to_keep,
                                    checkpoint_name=run_dir.CHECKPOINT_NAME)


def _restore_newest(checkpoint, model_dir, newest_first):
  errors = []
  for path in newest_first:
    try:
      restore(checkpoint, path)
    except CheckpointError as e:
      logging.warning("Skipping checkpoint %s: %s", path, e)
      errors.append(str(e))
      continue
    logging.info("Restored %s", path)
    return path
  if errors:
    raise CheckpointError(
        f"None of the checkpoints in {model_dir!r} restores, so training does not start "
        "over from step 0 on top of them. To start over, move the ckpt-* files and "
        f"'{run_dir.CHECKPOINT_STATE}' out of the directory (or use a new --model_dir); "
        "to resume, restore the files or the run's gin config. Nothing was changed on disk. "
        + " ".join(errors))
  return None


def _sync_state(model_dir, retained):
  """Makes CheckpointManager's state file list `retained` (oldest first), latest last."""
  try:
    state = tf.train.get_checkpoint_state(model_dir)  # None when missing or garbage.
  except ValueError:  # Parses, but names no checkpoint.
    state = None
  if state and retained and state.model_checkpoint_path == retained[-1] and list(
      state.all_model_checkpoint_paths) == retained:
    return
  state_path = run_dir.checkpoint_state_path(model_dir)
  if not retained:
    if tf.io.gfile.exists(state_path):
      logging.warning("Removing %s: it names checkpoints that are not on disk.", state_path)
      tf.io.gfile.remove(state_path)
    return
  logging.warning("Rewriting %s from the checkpoints on disk: latest %s of %s.", state_path,
                  retained[-1], retained)
  # The manager only retires (per max_to_keep) checkpoints newer than the last preserved
  # timestamp, so the times are the files' own and the preserved one precedes them all.
  times = [run_dir.checkpoint_time(prefix) for prefix in retained]
  tf.compat.v1.train.update_checkpoint_state(
      model_dir, os.path.basename(retained[-1]),
      all_model_checkpoint_paths=[os.path.basename(prefix) for prefix in retained],
      all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1)


def restore(checkpoint, path, partial=False):
  """Restores `path`; a corrupt or incompatible file raises a CheckpointError naming it."""
  try:
    status = checkpoint.restore(path)
    status.assert_existing_objects_matched()
    if partial:  # The file may hold more (D, optimizers) than this reader wants.
      status.expect_partial()
  except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:
    raise CheckpointError(
        f"Checkpoint {path!r} cannot be restored into this model ({type(e).__name__}: "
        f"{str(e).splitlines()[0][:300]}). It is corrupt, truncated, or from a different "
        "configuration. Nothing was changed on disk.") from e


def save(manager, step):
  """Saves; a full disk or unwritable model_dir raises an error, earlier checkpoints stay."""
  try:
    return manager.save(checkpoint_number=step)
  except (tf.errors.OpError, OSError) as e:
    run_dir.remove_partial_checkpoint(run_dir.checkpoint_prefix(manager.directory, step))
    raise CheckpointError(
        f"Could not write the checkpoint for step {step} to {manager.directory!r} "
        f"({type(e).__name__}: {str(e).splitlines()[0][:300]}). Is the disk full or the "
        "directory read-only? The previous checkpoints were left as they were.") from e
