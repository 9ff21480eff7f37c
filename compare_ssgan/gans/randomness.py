"""Stateless, replica-count-invariant randomness for the training step.

Every random draw in a step comes from a stateless seed derived from (run seed, step,
sub-step, purpose), so the RNG "state" is just the checkpointed step counter. Per-example
draws are made for the *global* batch and sliced per replica: one device and N devices on
the same global batch see the same z, labels and augmentations.
"""
import zlib

import tensorflow as tf


def fold_in(seed, value):
  """Derives a new [2] int32 seed from `seed` and an int (tensor) or a purpose name."""
  if isinstance(value, str):
    value = zlib.crc32(value.encode()) & 0x7FFFFFFF
  return tf.random.experimental.stateless_fold_in(seed, tf.cast(value, tf.int32))


def replica_slice(draw_fn, local_batch_size, seed):
  """Draws `draw_fn(global_batch_size, seed)` and returns this replica's rows."""
  ctx = tf.distribute.get_replica_context()
  num_replicas = ctx.num_replicas_in_sync if ctx else 1
  global_values = draw_fn(local_batch_size * num_replicas, seed)
  if num_replicas == 1:
    return global_values
  start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * local_batch_size
  return global_values[start:start + local_batch_size]


def replica_id():
  """This replica's index in the sync group (int32; 0 outside a replica context)."""
  ctx = tf.distribute.get_replica_context()
  return tf.cast(ctx.replica_id_in_sync_group if ctx else 0, tf.int32)


def num_replicas_in_sync():
  ctx = tf.distribute.get_replica_context()
  return ctx.num_replicas_in_sync if ctx else tf.distribute.get_strategy().num_replicas_in_sync
