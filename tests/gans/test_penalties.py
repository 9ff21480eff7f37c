"""Penalties against closed forms on a linear critic D(x) = sum(w * x)."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import penalties
from compare_ssgan.gans import regularizers

SEED = tf.constant([3, 4], tf.int32)


def linear_critic(weights):
  w = tf.constant(weights)

  def logits(images, labels):
    del labels
    return tf.reduce_sum(images * w, axis=[1, 2, 3])[:, None]
  return logits


def test_gradient_penalties_on_a_linear_critic():
  # grad D = w everywhere, so the slope is sqrt(1e-4 + |w|^2) for any interpolate.
  weights = np.full([1, 2, 2, 1], 0.75, np.float32)  # |w|^2 = 2.25
  real = tf.random.uniform([5, 2, 2, 1], seed=1)
  fake = tf.random.uniform([5, 2, 2, 1], seed=2)
  slope = np.sqrt(1e-4 + 2.25)
  for fn in (penalties.wgangp_penalty, penalties.dragan_penalty):
    value = fn(linear_critic(weights), real, fake, None, SEED)
    np.testing.assert_allclose(value.numpy(), (slope - 1.0) ** 2, rtol=1e-5)
  r1 = penalties.r1_penalty(linear_critic(weights), real, fake, None, SEED)
  np.testing.assert_allclose(r1.numpy(), 0.5 * 2.25, rtol=1e-6)
  assert penalties.no_penalty(None, real, fake, None, SEED).numpy() == 0.0


def test_wgangp_uses_interpolates_between_real_and_fake():
  # D(x) = sum(x^2) has grad 2x: the penalty depends on where the interpolates lie.
  def quadratic(images, labels):
    del labels
    return tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]
  real = tf.zeros([64, 1, 1, 1])
  fake = tf.ones([64, 1, 1, 1])
  alpha = tf.random.stateless_uniform([64, 1, 1, 1], SEED)
  expected = np.mean((np.sqrt(1e-4 + (2 * alpha.numpy().ravel()) ** 2) - 1.0) ** 2)
  value = penalties.wgangp_penalty(quadratic, real, fake, None, SEED)
  np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5)


def test_orthogonal_regularization_only_penalises_off_diagonal():
  orthogonal = tf.Variable(np.diag([3.0, 2.0]).astype(np.float32))  # columns orthogonal
  assert regularizers.orthogonal_regularization([orthogonal], beta=1.0).numpy() == 0.0
  w = np.array([[1.0, 1.0], [0.0, 1.0]], np.float32)  # W^T W = [[1, 1], [1, 2]]
  value = regularizers.orthogonal_regularization([tf.Variable(w), tf.Variable([1.0])],
                                                 beta=0.5)
  np.testing.assert_allclose(value.numpy(), 0.5 * 2.0, rtol=1e-6)
  # beta is GAN.{g,d}_orthogonal_weight; no gin knob of its own that the GAN would override.
  with pytest.raises(ValueError, match="orthogonal_regularization"):
    gin.parse_config("orthogonal_regularization.beta = 1.0")
