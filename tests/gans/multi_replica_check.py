"""Run as a script: NT-Xent, the augmentations and SS-GAN's per-replica rotation count on
2 mirrored CPU replicas vs 1 device.

Reports the largest differences through tests/multi_replica.py.
"""
from tests import multi_replica

TWO_DEVICES = multi_replica.mirrored_cpus(2)

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from compare_ssgan.gans import augmentations  # pylint: disable=g-import-not-at-top
from compare_ssgan.gans import simclr_augmentations  # pylint: disable=g-import-not-at-top
from compare_ssgan.gans.terms import contrastive  # pylint: disable=g-import-not-at-top
from compare_ssgan.gans.terms import rotation  # pylint: disable=g-import-not-at-top

RNG = np.random.default_rng(0)
VIEW1 = RNG.normal(size=[6, 5]).astype(np.float32)
VIEW2 = VIEW1 + RNG.normal(scale=0.7, size=[6, 5]).astype(np.float32)
IMAGES = RNG.uniform(size=[6, 8, 8, 3]).astype(np.float32)
SEED = tf.constant([7, 8], tf.int32)


def step(view1, view2, images):
  """Global-mean NT-Xent, its input gradients, and two augmentations of `images`."""
  replicas = tf.distribute.get_replica_context().num_replicas_in_sync
  with tf.GradientTape() as tape:
    tape.watch([view1, view2])
    loss, accuracy = contrastive.nt_xent(view1, view2, 0.5)
    scaled = loss / replicas  # The GAN step's scaling: summed replicas = global mean.
  grads = tape.gradient(scaled, [view1, view2])
  rotated_per_replica = rotation.RotationTerm(8, 1.0, 0.2).num_sources(None)
  return (scaled, accuracy / replicas, grads[0], grads[1],
          augmentations.random_translation(images, SEED),
          simclr_augmentations.simclr_augment(images, SEED), tf.constant([rotated_per_replica]))


def run(strategy):
  n = 6 // strategy.num_replicas_in_sync
  shard = lambda x: strategy.experimental_distribute_values_from_function(
      lambda ctx: x[ctx.replica_id_in_sync_group * n:(ctx.replica_id_in_sync_group + 1) * n])
  outputs = strategy.run(tf.function(step), args=(shard(VIEW1), shard(VIEW2),
                                                  shard(IMAGES)))
  local = [strategy.experimental_local_results(o) for o in outputs]
  loss, accuracy = (float(sum(np.sum(v) for v in local[i])) for i in (0, 1))
  return loss, accuracy, [np.concatenate(local[i]) for i in range(2, 6)], int(local[6][0][0])


one = run(tf.distribute.get_strategy())
two = run(TWO_DEVICES)
multi_replica.report(
    TWO_DEVICES, loss=[one[0], two[0]], accuracy=[one[1], two[1]],
    max_diffs=[float(np.max(np.abs(a - b))) for a, b in zip(one[2], two[2])],
    rotated_sources_per_replica=[one[3], two[3]])
