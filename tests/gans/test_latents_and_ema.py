"""The latent prior, truncation, and the EMA of G."""
import collections
import functools

import gin
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from compare_ssgan.architectures import base
from compare_ssgan.gans import ema as ema_lib
from compare_ssgan.gans import gan as gan_lib
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


def test_gan_builds_each_network_once_and_the_ema_generator_starts_as_a_copy(monkeypatch):
  calls = collections.Counter()
  for cls in (base.BaseGenerator, base.BaseDiscriminator):
    def counted(self, *args, _call=cls.call, **kwargs):
      calls[type(self).__name__] += 1
      return _call(self, *args, **kwargs)
    monkeypatch.setattr(cls, "call", functools.wraps(cls.call)(counted))
  gin.parse_config("dcgan.Generator.ch = 4\ndcgan.Discriminator.ch = 4\n"
                   "G.spectral_norm = True")
  gan = gan_lib.GAN((8, 8, 1), 0, architecture="dcgan", z_dim=8, g_use_ema=True)
  # One building call each, in the registry: G, its EMA copy, and D.
  assert calls == {"Generator": 2, "Discriminator": 1}
  assert len(gan.ema_generator.variables) == len(gan.generator.variables)
  for avg, var in zip(gan.ema_generator.variables, gan.generator.variables):
    np.testing.assert_array_equal(avg.numpy(), var.numpy())
