"""What the trainer has written in model_dir: checkpoints and the done marker.

Contract with the trainer: `tf.train.CheckpointManager(checkpoint_name="ckpt")`
files `ckpt-<G step>.index` / `.data-*` (the `.index` is written last, so its
presence means the checkpoint is complete), and an empty `TRAIN_DONE` file
once training has ended.
"""

import os
import re

import tensorflow as tf

DONE_MARKER = "TRAIN_DONE"
_INDEX_RE = re.compile(r"ckpt-(\d+)\.index$")
_PREFIX_RE = re.compile(r"ckpt-(\d+)$")


def list_checkpoints(model_dir):
  """Complete checkpoints as [(step, prefix)], oldest first."""
  found = []
  for path in tf.io.gfile.glob(os.path.join(model_dir, "ckpt-*.index")):
    match = _INDEX_RE.search(path)
    if match:
      found.append((int(match.group(1)), path[:-len(".index")]))
  return sorted(found)


def checkpoint_exists(prefix):
  return tf.io.gfile.exists(prefix + ".index")


def training_done(model_dir):
  return tf.io.gfile.exists(os.path.join(model_dir, DONE_MARKER))


def step_of(prefix):
  """The step in a `.../ckpt-<step>` prefix."""
  match = _PREFIX_RE.search(prefix)
  if not match:
    raise ValueError(f"Checkpoint prefix {prefix!r} is not of the form "
                     "'<dir>/ckpt-<step>'.")
  return int(match.group(1))
