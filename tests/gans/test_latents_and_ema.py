"""The latent prior, truncation, and the EMA of G."""
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from compare_ssgan.gans import ema as ema_lib
from compare_ssgan.gans import latents

SEED = tf.constant([1, 2], tf.int32)


def test_uniform_prior_is_compare_gans_default():
  z = latents.sample_z(4096, 8, SEED).numpy()
  assert z.min() >= -1.0 and z.max() <= 1.0
  assert abs(z.mean()) < 0.02 and abs(z.var() - 1.0 / 3.0) < 0.02


def test_truncated_normal_matches_scipy():
  z = latents.sample_z(20000, 4, SEED, distribution="normal", truncation=0.5).numpy()
  assert np.abs(z).max() <= 0.5
  expected_var = scipy.stats.truncnorm(-0.5, 0.5).var()
  np.testing.assert_allclose(z.var(), expected_var, rtol=0.02)
  # Kolmogorov-Smirnov against the exact truncated normal.
  assert scipy.stats.kstest(z[:, 0], scipy.stats.truncnorm(-0.5, 0.5).cdf).pvalue > 1e-3


def test_same_seed_same_z_and_bad_prior_named():
  np.testing.assert_array_equal(latents.sample_z(3, 2, SEED), latents.sample_z(3, 2, SEED))
  with pytest.raises(ValueError, match="'cauchy'"):
    latents.sample_z(3, 2, SEED, distribution="cauchy")


class _Net(tf.Module):

  def __init__(self, value):
    super().__init__()
    self.w = tf.Variable(value, trainable=True)
    self.stat = tf.Variable(value, trainable=False)

  @property
  def trainable_variables(self):
    return [self.w]

  @property
  def non_trainable_variables(self):
    return [self.stat]


def test_ema_tracks_raw_weights_before_start_then_averages():
  net, avg = _Net(1.0), _Net(0.0)
  ema = ema_lib.GeneratorEMA(net, avg, decay=0.9, start_step=2)
  ema.update(tf.constant(0, tf.int64))
  assert avg.w.numpy() == 1.0  # decay is 0 before start_step
  net.w.assign(3.0)
  net.stat.assign(5.0)
  ema.update(tf.constant(2, tf.int64))
  np.testing.assert_allclose(avg.w.numpy(), 0.9 * 1.0 + 0.1 * 3.0)
  assert avg.stat.numpy() == 5.0  # non-trainable state is copied, not averaged
  with pytest.raises(ValueError, match="ema.decay"):
    ema_lib.GeneratorEMA(net, avg, decay=1.5)
