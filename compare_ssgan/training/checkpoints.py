"""Checkpoint manager with clear errors for corrupt checkpoints and full disks."""

from absl import logging
import tensorflow as tf


class CheckpointError(RuntimeError):
  pass


def restore_or_initialize(manager, checkpoint):
  """Restores the latest checkpoint in `manager.directory`; returns its path or None."""
  path = manager.latest_checkpoint
  if path is None:
    return None
  restore(checkpoint, path, others=manager.checkpoints)
  logging.info("Restored %s", path)
  return path


def restore(checkpoint, path, others=(), partial=False):
  """Restores `path`; a corrupt or incompatible file raises a CheckpointError naming it."""
  try:
    status = checkpoint.restore(path)
    status.assert_existing_objects_matched()
    if partial:  # The file may hold more (D, optimizers) than this reader wants.
      status.expect_partial()
  except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:
    alternatives = [p for p in others if p != path]
    hint = (f" Other checkpoints in the directory: {alternatives}; move the bad one aside "
            "to resume from the previous one." if alternatives else "")
    raise CheckpointError(
        f"Checkpoint {path!r} cannot be restored into this model ({type(e).__name__}: "
        f"{str(e).splitlines()[0][:300]}). It is corrupt, truncated, or from a different "
        f"configuration. Nothing was changed on disk.{hint}") from e


def save(manager, step):
  """Saves; a full disk or unwritable model_dir raises an error, earlier checkpoints stay."""
  try:
    return manager.save(checkpoint_number=step)
  except (tf.errors.OpError, OSError) as e:
    raise CheckpointError(
        f"Could not write the checkpoint for step {step} to {manager.directory!r} "
        f"({type(e).__name__}: {str(e).splitlines()[0][:300]}). Is the disk full or the "
        "directory read-only? The previous checkpoints were left as they were.") from e
