"""Cross-replica checks on 2 logical CPUs; run by test_cross_replica.py through
tests/multi_replica.py. Exits non-zero (with an assertion message) on the first failed
check.
"""
from tests import multi_replica

STRATEGY = multi_replica.mirrored_cpus(2)

import gin  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from compare_ssgan.architectures import normalization  # pylint: disable=g-import-not-at-top
from compare_ssgan.architectures import resnet_cifar  # pylint: disable=g-import-not-at-top

EPS = 1e-5


def split(x):
  """Global batch -> per-replica halves."""
  n = x.shape[0] // 2
  return STRATEGY.experimental_distribute_values_from_function(
      lambda ctx: x[ctx.replica_id_in_sync_group * n:][:n])


def gather(per_replica):
  return np.concatenate([t.numpy() for t in
                         STRATEGY.experimental_local_results(per_replica)])


def replica_values(variable):
  return [v.numpy() for v in STRATEGY.experimental_local_results(
      variable.value)]


def run(fn, *args):
  return tf.function(lambda *a: STRATEGY.run(fn, args=a))(*args)


def standardize(x, axes):
  return (x - x.mean(axes)) / np.sqrt(x.var(axes) + EPS)


def check_batch_norm(sync, moments="one_pass"):
  """sync=None (auto) must synchronize; sync=False keeps local moments; under either
  formula for the moments."""
  gin.clear_config()
  gin.bind_parameter("standardize_batch.use_cross_replica_mean", sync)
  gin.bind_parameter("standardize_batch.moments", moments)
  rng = np.random.default_rng(0)
  x = (rng.normal(size=(8, 4, 4, 3)) * [1.0, 3.0, 0.5] + [0.0, 5.0, -2.0])
  x[4:] += 3.0  # Make the two replicas' batches differ.
  x = x.astype(np.float32)
  with STRATEGY.scope():
    bn = normalization.BatchNorm(3)
    bn(x[:1], training=False)  # Variables are created in cross-replica ctx.
  out = gather(run(lambda t: bn(t, training=True), split(x)))
  axes = (0, 1, 2)
  if sync is None:
    want = standardize(x, axes)
  else:
    want = np.concatenate([standardize(x[:4], axes), standardize(x[4:], axes)])
    assert not np.allclose(out, standardize(x, axes), atol=1e-2)
  np.testing.assert_allclose(out, want, atol=1e-4, err_msg=f"sync={sync}, {moments}")
  # Mean aggregation of the replicas' updates; with sync they are identical.
  halves = [x[:4].var(axes), x[4:].var(axes)]
  var = x.var(axes) if sync is None else np.mean(halves, axis=0)
  for mm in replica_values(bn.standardize.moving_mean):
    np.testing.assert_allclose(mm, 0.1 * x.mean(axes), rtol=1e-4, atol=1e-6)
  for mv in replica_values(bn.standardize.moving_variance):
    np.testing.assert_allclose(mv, 0.9 + 0.1 * var, rtol=1e-4)


def check_generator_matches_full_batch():
  """A whole G with BN on 2 replicas equals the same G on 1 device."""
  gin.clear_config()
  z = np.random.default_rng(1).uniform(-1, 1, (8, 128)).astype(np.float32)
  with STRATEGY.scope():
    g = resnet_cifar.Generator((32, 32, 3), ch=8)
    g.build_variables()
  g_single = resnet_cifar.Generator((32, 32, 3), ch=8)
  g_single.build_variables()
  g_single.set_weights(g.get_weights())

  def step(zz):
    with tf.GradientTape() as tape:
      images = g(zz, training=True)
      loss = tf.reduce_mean(images)
    grads = tape.gradient(loss, g.trainable_weights)
    assert all(gr is not None for gr in grads)
    return images

  out = gather(run(step, split(z)))
  want = g_single(z, training=True).numpy()
  np.testing.assert_allclose(out, want, atol=2e-5)


def check_spectral_norm_in_replica_context():
  """u is assigned in replica context and matches a single-device update."""
  gin.clear_config()
  x = np.random.default_rng(2).uniform(size=(8, 32, 32, 3)).astype(np.float32)
  with STRATEGY.scope():
    d = resnet_cifar.Discriminator((32, 32, 3), ch=8, spectral_norm=True)
    d.build_variables()
  d_single = resnet_cifar.Discriminator((32, 32, 3), ch=8, spectral_norm=True)
  d_single.build_variables()
  d_single.set_weights(d.get_weights())
  logits = gather(run(lambda t: d(t, training=True)[0], split(x)))
  want = d_single(x, training=True)[0].numpy()
  np.testing.assert_allclose(logits, want, rtol=1e-4, atol=1e-5)
  u = d.final_fc.sn.u
  u0, u1 = replica_values(u)
  np.testing.assert_array_equal(u0, u1)
  np.testing.assert_allclose(u0, d_single.final_fc.sn.u.numpy(), rtol=1e-5)


if __name__ == "__main__":
  for formula in normalization.MOMENTS:
    check_batch_norm(sync=None, moments=formula)
    check_batch_norm(sync=False, moments=formula)
  check_generator_matches_full_batch()
  check_spectral_norm_in_replica_context()
  multi_replica.report(STRATEGY)
