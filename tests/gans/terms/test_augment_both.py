"""Augment real and fake: D judges T(x) and T(G(z)) in both steps; T is differentiable."""
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans.terms import augment_both
from compare_ssgan.gans.terms import latent_consistency
from compare_ssgan.gans.terms import rotation
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import randomness
from tests import tiny_configs
from tests.gans import term_testing

RNG = np.random.default_rng(4)
SEED = tf.constant([1, 2], tf.int32)


def _images(n=8, size=8):
  return tf.constant(RNG.uniform(size=[n, size, size, 1]).astype(np.float32))


def _brighten(images, seed):
  """A deterministic test augmentation."""
  del seed
  return images + 0.25


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


def test_rotation_rotates_the_augmented_images_d_judges():
  """Class 0 and classes 1-3 must differ only by the rotation, not by the augmentation."""
  rotate = rotation.rotation(rotated_batch_size=8)  # The last 2 of 8 images, rotated.
  rotate.build_heads(term_testing.TinyDiscriminator(), None)
  reals, fakes = _images(), _images()
  ctx = term_testing.make_context(
      reals, fakes, terms=[augment_both.augment_real_and_fake([_brighten]), rotate])
  rotations = lambda x: np.concatenate([np.rot90(x[-2:], k, (1, 2)) for k in (1, 2, 3)])
  for run_step, group, offset in ((term_testing.run_d_step, reals, 16),
                                  (term_testing.run_g_step, fakes, 8)):
    run_step(ctx)
    # D step: [real, fake, rotated reals]; G step: [fake, rotated fakes].
    seen = ctx.gan.discriminator.seen["images"].numpy()
    np.testing.assert_allclose(seen[:8], group.numpy() + 0.25)  # What the GAN loss judges.
    np.testing.assert_allclose(seen[offset:], rotations(seen[:8]))


def test_zcr_compares_fakes_judged_alike():
  """zCR's D term compares D(T(G(z))) with D(T(G(z'))), T the same: only z differs."""
  zcr = latent_consistency.latent_consistency(sigma=0.5)
  generator = term_testing.TinyGenerator(z_dim=6, size=8)
  z = tf.constant(RNG.uniform(-1, 1, size=[8, 6]).astype(np.float32))
  ctx = term_testing.make_context(
      _images(), generator(z), z=z, generator=generator,
      terms=[augment_both.augment_real_and_fake([_brighten]), zcr])
  term_testing.run_d_step(ctx)
  seen = ctx.gan.discriminator.seen["images"].numpy()  # real, fake, perturbed fakes.
  np.testing.assert_allclose(seen[8:16], generator(z).numpy() + 0.25)
  np.testing.assert_allclose(seen[16:], zcr.perturbed_fakes(ctx).numpy() + 0.25)


def test_the_gan_step_judges_augmented_reals_and_fakes():
  """Needs the GAN step's `transform_discriminator_inputs` hook (see gans/terms/augment_both.py)."""
  keras.utils.set_random_seed(0)
  gin.parse_config(tiny_configs.tiny_networks())
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
