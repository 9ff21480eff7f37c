"""Augment real and fake: D judges T(x) and T(G(z)) in both steps; T is differentiable."""
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans.terms import augment_both
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import randomness
from tests.gans import term_testing

RNG = np.random.default_rng(4)
SEED = tf.constant([1, 2], tf.int32)


def _images(n=8, size=8):
  return tf.constant(RNG.uniform(size=[n, size, size, 1]).astype(np.float32))


def test_transform_is_seeded_per_group_and_differentiable_wrt_fakes():
  term = augment_both.augment_real_and_fake([augmentations.random_translation,
                                             augmentations.cutout])
  images = _images()
  ctx = term_testing.make_context(images, images)
  with tf.GradientTape() as tape:
    tape.watch(images)
    fake, labels = term.transform_discriminator_inputs(ctx, images, None, "fake")
    loss = tf.reduce_sum(fake * tf.range(8, dtype=tf.float32)[:, None])
  assert labels is None and np.any(tape.gradient(loss, images).numpy())
  real, _ = term.transform_discriminator_inputs(ctx, images, None, "real")
  again, _ = term.transform_discriminator_inputs(ctx, images, None, "fake")
  expected = augmentations.cutout(
      augmentations.random_translation(images, randomness.fold_in(
          ctx.seed_for("augment/fake"), 0)), randomness.fold_in(ctx.seed_for("augment/fake"), 1))
  np.testing.assert_array_equal(fake, expected)
  np.testing.assert_array_equal(fake, again)
  assert not np.allclose(fake, real) and not np.allclose(fake, images)


def test_bad_settings_are_named():
  with pytest.raises(ValueError, match="at least one augmentation"):
    augment_both.augment_real_and_fake([])
  term = augment_both.augment_real_and_fake([augmentations.random_flip])
  with pytest.raises(ValueError, match="unknown group 'rotated'"):
    term.transform_discriminator_inputs(None, _images(), None, "rotated")


def test_the_gan_step_judges_augmented_reals_and_fakes():
  """Needs the GAN step's `transform_discriminator_inputs` hook (see gans/terms/augment_both.py)."""
  keras.utils.set_random_seed(0)
  gin.parse_config("dcgan.Generator.ch = 4\ndcgan.Discriminator.ch = 4")
  term = augment_both.augment_real_and_fake([augmentations.random_translation])
  gan = gan_lib.GAN((8, 8, 1), 0, architecture="dcgan", z_dim=8, auxiliary_terms=[term])
  images = _images()
  final = gan.discriminator.final_fc.kernel  # Scaled up: logits of order 0.1, not 1e-5.
  final.assign(1e3 * final)
  logits = lambda x: gan.discriminator(x, None, training=True)[0].numpy()
  transform = lambda x, group, seed: augmentations.random_translation(
      x, randomness.fold_in(randomness.fold_in(seed, f"augment/{group}"), 0))
  d_seed, g_seed = randomness.fold_in(SEED, 0), randomness.fold_in(SEED, 1)
  augmented = logits(transform(images, "real", d_seed))
  assert np.max(np.abs(augmented - logits(images))) > 1e-3  # D sees the augmentation.
  metrics = gan.discriminator_step(images, None, d_seed)
  np.testing.assert_allclose(metrics["d_real_logits"], np.mean(augmented), atol=1e-6)
  z, _ = gan.sample_latents(8, g_seed)  # The G step's z and, below, its fakes.
  fakes = gan.generator(z, None, training=True)
  expected_g_loss = -np.mean(logits(transform(fakes, "fake", g_seed)))  # Hinge.
  metrics = gan.generator_step(images, None, g_seed)
  np.testing.assert_allclose(metrics["g_loss"], expected_g_loss, atol=1e-6)
