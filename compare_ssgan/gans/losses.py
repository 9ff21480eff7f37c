"""Adversarial losses, as in compare_gan's loss_lib plus relativistic ones.

Each loss takes D's logits on real and on fake images ([N, 1] float32, or [N, patches] for a
patch critic, averaged over patches) and returns `AdversarialLoss(d_loss, d_real, d_fake,
g_loss)`. Losses whose G term depends on the real logits (the relativistic ones) carry
`uses_real_logits_in_g_step = True`, so that the G step only pays for a D pass on reals when
it needs one. Losses that compare within label groups (SimGAN, simgan.py) carry
`uses_labels = True` and also take the real and fake labels; `adversarial_loss` calls both.
"""
import collections

import gin
import tensorflow as tf

AdversarialLoss = collections.namedtuple(
    "AdversarialLoss", ["d_loss", "d_real", "d_fake", "g_loss"])


def _check_logits(real_logits, fake_logits):
  for name, logits in (("real_logits", real_logits), ("fake_logits", fake_logits)):
    if logits.shape.rank != 2:
      raise ValueError(f"{name} must have shape [N, 1] or [N, patches]; got {logits.shape}.")


def _mean(x):
  return tf.reduce_mean(tf.cast(x, tf.float32))


@gin.configurable("non_saturating", allowlist=[])
def non_saturating(real_logits, fake_logits):
  """Goodfellow et al.: D minimises BCE; G maximises log D(G(z))."""
  _check_logits(real_logits, fake_logits)
  d_real = _mean(tf.nn.softplus(-real_logits))
  d_fake = _mean(tf.nn.softplus(fake_logits))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake,
                         _mean(tf.nn.softplus(-fake_logits)))


@gin.configurable("minimax", allowlist=[])
def minimax(real_logits, fake_logits):
  """The original saturating game: G minimises log(1 - D(G(z)))."""
  _check_logits(real_logits, fake_logits)
  d_real = _mean(tf.nn.softplus(-real_logits))
  d_fake = _mean(tf.nn.softplus(fake_logits))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake, -d_fake)


@gin.configurable("hinge", allowlist=[])
def hinge(real_logits, fake_logits):
  _check_logits(real_logits, fake_logits)
  d_real = _mean(tf.nn.relu(1.0 - real_logits))
  d_fake = _mean(tf.nn.relu(1.0 + fake_logits))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake, -_mean(fake_logits))


@gin.configurable("wasserstein", allowlist=[])
def wasserstein(real_logits, fake_logits):
  _check_logits(real_logits, fake_logits)
  d_real = -_mean(real_logits)
  d_fake = _mean(fake_logits)
  return AdversarialLoss(d_real + d_fake, d_real, d_fake, -_mean(fake_logits))


@gin.configurable("least_squares", allowlist=[])
def least_squares(real_logits, fake_logits):
  """compare_gan's LSGAN: squares of sigmoid *probabilities*, targets 1 / 0."""
  _check_logits(real_logits, fake_logits)
  real_p, fake_p = tf.sigmoid(real_logits), tf.sigmoid(fake_logits)
  d_real = 0.5 * _mean(tf.square(real_p - 1.0))
  d_fake = 0.5 * _mean(tf.square(fake_p))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake,
                         0.5 * _mean(tf.square(fake_p - 1.0)))


def _relativistic(real_logits, fake_logits):
  """Logits relative to the other side's batch mean (Jolicoeur-Martineau 2018); a patch
  critic's, to the mean at the same patch position."""
  _check_logits(real_logits, fake_logits)
  real_rel = real_logits - tf.reduce_mean(fake_logits, axis=0)
  fake_rel = fake_logits - tf.reduce_mean(real_logits, axis=0)
  return real_rel, fake_rel


@gin.configurable("relativistic_average", allowlist=[])
def relativistic_average(real_logits, fake_logits):
  """RaGAN (relativistic average standard GAN)."""
  real_rel, fake_rel = _relativistic(real_logits, fake_logits)
  d_real = _mean(tf.nn.softplus(-real_rel))
  d_fake = _mean(tf.nn.softplus(fake_rel))
  g_loss = _mean(tf.nn.softplus(real_rel)) + _mean(tf.nn.softplus(-fake_rel))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake, g_loss)


@gin.configurable("relativistic_average_least_squares", allowlist=[])
def relativistic_average_least_squares(real_logits, fake_logits):
  """RaLSGAN: targets +1 / -1 for the relative logits."""
  real_rel, fake_rel = _relativistic(real_logits, fake_logits)
  d_real = _mean(tf.square(real_rel - 1.0))
  d_fake = _mean(tf.square(fake_rel + 1.0))
  g_loss = _mean(tf.square(real_rel + 1.0)) + _mean(tf.square(fake_rel - 1.0))
  return AdversarialLoss(d_real + d_fake, d_real, d_fake, g_loss)


relativistic_average.uses_real_logits_in_g_step = True
relativistic_average_least_squares.uses_real_logits_in_g_step = True


def uses_real_logits_in_g_step(loss_fn):
  return getattr(loss_fn, "uses_real_logits_in_g_step", False)


def uses_labels(loss_fn):
  return getattr(loss_fn, "uses_labels", False)


def adversarial_loss(loss_fn, real_logits, fake_logits, real_labels, fake_labels):
  """`loss_fn` on the logits, with the labels (None if unconditional) if it uses them."""
  if uses_labels(loss_fn):
    return loss_fn(real_logits, fake_logits, real_labels, fake_labels)
  return loss_fn(real_logits, fake_logits)
