"""Tests for the batch-norm family on one device (see test_cross_replica.py)."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.architectures import normalization


def _data(shape=(6, 3, 3, 4), seed=0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=shape) * 3 + 2).astype(np.float32)


def _standardize(x, mean, var, eps=1e-5):
  return (x - mean) / np.sqrt(var + eps)


def test_batch_norm_training_then_inference():
  x = _data()
  bn = normalization.BatchNorm(4)
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  np.testing.assert_allclose(bn(x, training=True).numpy(),
                             _standardize(x, mean, var), atol=1e-4)
  # decay 0.9 from (0, 1), no zero-debiasing.
  mm, mv = 0.1 * mean, 0.9 + 0.1 * var
  np.testing.assert_allclose(bn.standardize.moving_mean.numpy(), mm,
                             rtol=1e-5)
  np.testing.assert_allclose(bn.standardize.moving_variance.numpy(), mv,
                             rtol=1e-5)
  np.testing.assert_allclose(bn(x, training=False).numpy(),
                             _standardize(x, mm, mv), atol=1e-4)
  # Inference leaves the moving averages alone.
  np.testing.assert_allclose(bn.standardize.moving_mean.numpy(), mm,
                             rtol=1e-5)
  assert [v.name for v in bn.trainable_weights] == ["gamma", "beta"]


def test_gin_decay_and_epsilon():
  gin.bind_parameter("standardize_batch.decay", 0.5)
  gin.bind_parameter("standardize_batch.epsilon", 0.1)
  x = _data()
  bn = normalization.BatchNorm(4)
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  np.testing.assert_allclose(bn(x, training=True).numpy(),
                             _standardize(x, mean, var, eps=0.1), atol=1e-4)
  np.testing.assert_allclose(bn.standardize.moving_mean.numpy(), 0.5 * mean,
                             rtol=1e-5)


def test_2d_inputs_are_normalized_per_unit():
  x = _data(shape=(8, 5))
  bn = normalization.BatchNorm(5)
  np.testing.assert_allclose(bn(x, training=True).numpy(),
                             _standardize(x, x.mean(0), x.var(0)), atol=1e-4)


def test_conditional_bn_with_zero_embedding_equals_bn():
  x = _data()
  y = tf.one_hot([0, 1, 2, 0, 1, 2], 3)
  cbn = normalization.ConditionalBatchNorm(4)
  cbn(x, y=y, training=False)
  for dense in (cbn.gamma, cbn.beta):
    assert not dense.use_bias
    dense.kernel.assign(tf.zeros_like(dense.kernel))
  bn = normalization.BatchNorm(4)
  np.testing.assert_allclose(cbn(x, y=y, training=True).numpy(),
                             bn(x, training=True).numpy(), atol=1e-5)


@pytest.mark.parametrize("gain,offset", [(None, 1.0), ("one_plus_linear", 1.0),
                                         ("linear", 0.0)])
def test_conditional_bn_gain(gain, offset):
  # Default: 1 + W y (compare_gan's 1 + W y fix of its conditional BN gain); "linear": compare_gan's W y.
  if gain is not None:
    gin.bind_parameter("conditional_batch_norm.gain", gain)
  x = _data()
  y = tf.one_hot([0, 1, 2, 0, 1, 2], 3).numpy()
  cbn = normalization.make_norm("conditional_batch_norm", 4, name="cbn")
  out = cbn(x, y=y, training=True).numpy()
  gamma = offset + y @ cbn.gamma.kernel.numpy()
  beta = y @ cbn.beta.kernel.numpy()
  x_hat = _standardize(x, x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)))
  np.testing.assert_allclose(
      out, x_hat * gamma[:, None, None, :] + beta[:, None, None, :],
      atol=1e-4)


def test_conditional_bn_rejects_unknown_gain():
  gin.bind_parameter("conditional_batch_norm.gain", "one_plus")
  with pytest.raises(ValueError, match=r"conditional_batch_norm.gain .*"
                                       r"'one_plus_linear'.*got 'one_plus'"):
    normalization.make_norm("conditional_batch_norm", 4, name="cbn")


def test_self_modulated_bn():
  x = _data()
  z = np.random.default_rng(1).normal(size=(6, 7)).astype(np.float32)
  sbn = normalization.make_norm("self_modulated_batch_norm", 4, name="sbn")
  out = sbn(x, z=z, training=True).numpy()
  h = np.maximum(z @ sbn.hidden.kernel.numpy() + sbn.hidden.bias.numpy(), 0)
  assert sbn.hidden.kernel.shape == (7, 32)
  np.testing.assert_array_equal(sbn.gamma.bias.numpy(), 1.0)
  gamma = h @ sbn.gamma.kernel.numpy() + sbn.gamma.bias.numpy()
  beta = h @ sbn.beta.kernel.numpy() + sbn.beta.bias.numpy()
  x_hat = _standardize(x, x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)))
  np.testing.assert_allclose(
      out, x_hat * gamma[:, None, None, :] + beta[:, None, None, :],
      atol=1e-4)


def test_self_modulated_bn_without_hidden_layer():
  gin.bind_parameter("self_modulated_batch_norm.num_hidden", 0)
  sbn = normalization.make_norm("self_modulated_batch_norm", 4, name="sbn")
  sbn(_data(), z=tf.ones([6, 7]), training=True)
  assert sbn.hidden is None and sbn.gamma.kernel.shape == (7, 4)


def test_missing_conditioning_raises():
  with pytest.raises(ValueError, match="needs the conditioning y"):
    normalization.ConditionalBatchNorm(4)(_data(), training=True)
  with pytest.raises(ValueError, match="needs the latent z"):
    normalization.make_norm("self_modulated_batch_norm", 4, name="s")(
        _data(), training=True)
  with pytest.raises(ValueError, match="group_norm"):
    normalization.make_norm("group_norm", 4)
