"""SS-GAN's rotation term: exact rotations and labels, gradients, hand-computed losses."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import rotation
from tests import tiny_configs
from tests.gans import term_testing

RNG = np.random.default_rng(0)


def _images(n, size=4):
  return RNG.uniform(size=[n, size, size, 1]).astype(np.float32)


def _term(rotated_batch_size=8, weight_d=1.0, weight_g=0.2, head=True):
  term = rotation.rotation(rotated_batch_size, weight_d, weight_g)
  term.build_heads(term_testing.TinyDiscriminator(), None)
  if head:  # Fixed, hand-chosen head weights for the numpy mirror.
    term.head.kernel.assign(RNG.normal(size=[4, 4]).astype(np.float32))
    term.head.bias.assign(np.array([0.1, -0.2, 0.3, 0.0], np.float32))
  return term


def _numpy_rotation_loss(term, images, n):
  """CE of the head on [last n originals, their 90, 180, 270 rotations], and accuracy."""
  source = images[-n:]
  stack = np.concatenate([source] + [np.rot90(source, k, axes=(1, 2)) for k in (1, 2, 3)])
  logits = (term_testing.quadrant_means(stack) @ term.head.kernel.numpy()
            + term.head.bias.numpy())
  targets = np.repeat(np.arange(4), n)
  return (term_testing.softmax_cross_entropy(logits, targets),
          np.mean(logits.argmax(1) == targets))


def test_rot90_is_numpy_rot90_on_non_square_images():
  images = RNG.uniform(size=[2, 3, 5, 2]).astype(np.float32)
  for k in range(4):
    np.testing.assert_array_equal(rotation.rot90(tf.constant(images), k),
                                  np.rot90(images, k, axes=(1, 2)))


def test_rotate_last_stacks_90_180_270_of_the_last_n_with_their_labels():
  images = _images(6)
  labels = np.arange(6, dtype=np.int32) + 10
  rotated, rotated_labels = rotation.rotate_last(tf.constant(images), tf.constant(labels), 2)
  expected = np.concatenate([np.rot90(images[-2:], k, axes=(1, 2)) for k in (1, 2, 3)])
  np.testing.assert_array_equal(rotated, expected)
  np.testing.assert_array_equal(rotated_labels, [14, 15, 14, 15, 14, 15])
  np.testing.assert_array_equal(rotation.rotation_targets(2), [0, 0, 1, 1, 2, 2, 3, 3])


def test_d_loss_is_beta_times_hand_computed_cross_entropy_on_reals():
  reals, fakes = _images(8), _images(8)
  term = _term(rotated_batch_size=8, weight_d=0.7)
  (loss, metrics), _ = term_testing.run_d_step(
      term_testing.make_context(reals, fakes, terms=[term]))
  ce, accuracy = _numpy_rotation_loss(term, reals, n=2)
  np.testing.assert_allclose(metrics["rotation_real_loss"], ce, rtol=1e-5)
  np.testing.assert_allclose(loss, 0.7 * ce, rtol=1e-5)
  np.testing.assert_allclose(metrics["rotation_accuracy"], accuracy)


def test_a_reals_only_context_runs_d_on_reals_and_rotated_reals_only():
  reals = _images(8)
  term = _term(rotated_batch_size=8, weight_d=0.7)
  ctx = base.StepContext.reals_only(term_testing.TinyDiscriminator(), [term],
                                    tf.constant(reals))
  assert ctx.fake_images is None and ctx.gan.generator is None and not ctx.gan.conditional
  (loss, metrics), outputs = term_testing.run_d_step(ctx)
  assert list(outputs) == ["real", "rot_real"]
  ce, accuracy = _numpy_rotation_loss(term, reals, n=2)
  np.testing.assert_allclose(metrics["rotation_real_loss"], ce, rtol=1e-5)
  np.testing.assert_allclose(loss, 0.7 * ce, rtol=1e-5)
  np.testing.assert_allclose(metrics["rotation_accuracy"], accuracy)


def test_g_loss_is_alpha_times_hand_computed_cross_entropy_on_fakes():
  reals, fakes = _images(8), _images(8)
  term = _term(rotated_batch_size=8)
  (loss, metrics), _ = term_testing.run_g_step(
      term_testing.make_context(reals, fakes, terms=[term]))
  ce, _ = _numpy_rotation_loss(term, fakes, n=2)
  np.testing.assert_allclose(metrics["rotation_fake_loss"], ce, rtol=1e-5)
  np.testing.assert_allclose(loss, 0.2 * ce, rtol=1e-5)


def test_d_term_has_zero_gradient_wrt_fakes_and_nonzero_wrt_reals():
  reals, fakes = tf.constant(_images(8)), tf.constant(_images(8))
  term = _term()
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([reals, fakes])
    (loss, _), _ = term_testing.run_d_step(
        term_testing.make_context(reals, fakes, terms=[term]))
  fake_grad = tape.gradient(loss, fakes)
  assert fake_grad is None or not np.any(fake_grad.numpy())
  assert np.any(tape.gradient(loss, reals).numpy())


def test_conditional_rotations_carry_their_own_groups_labels():
  reals, fakes = _images(8), _images(8)
  real_labels = np.arange(8, dtype=np.int32)
  fake_labels = np.arange(8, dtype=np.int32) + 100
  term = _term()
  ctx = term_testing.make_context(reals, fakes, real_labels, fake_labels, conditional=True,
                                  terms=[term])
  term_testing.run_g_step(ctx)
  seen = ctx.gan.discriminator.seen["labels"].numpy()  # [fake (8), rotated fakes (6)].
  np.testing.assert_array_equal(seen[8:], np.tile(fake_labels[-2:], 3))
  term_testing.run_d_step(ctx)
  seen = ctx.gan.discriminator.seen["labels"].numpy()  # [real, fake, rotated reals].
  np.testing.assert_array_equal(seen[16:], np.tile(real_labels[-2:], 3))


def test_rotated_batch_size_is_checked():
  with pytest.raises(ValueError, match="multiple of 4"):
    rotation.rotation(6)
  term = _term(rotated_batch_size=16, head=False)  # n = 4 > a replica batch of 2.
  with pytest.raises(ValueError, match="needs 4 source images"):
    term_testing.run_d_step(term_testing.make_context(_images(2), _images(2), terms=[term]))


def _tiny_gan(terms, **kwargs):
  gin.parse_config(tiny_configs.tiny_networks() + "D.spectral_norm = True")
  return gan_lib.GAN((8, 8, 1), 0, architecture="dcgan", z_dim=8, auxiliary_terms=terms,
                     **kwargs)


def test_g_step_updates_g_only_and_d_step_trains_the_head():
  term = rotation.rotation(rotated_batch_size=8)
  gan = _tiny_gan([term])
  assert term.head.use_sn  # Spectrally normalized because D is.
  head_ids = {id(v) for v in term.trainable_variables}
  assert head_ids <= {id(v) for v in gan.d_variables}
  assert not head_ids & {id(v) for v in gan.g_variables}
  snapshot = lambda variables: [v.numpy().copy() for v in variables]
  d_before = snapshot(gan.discriminator.trainable_variables + term.trainable_variables)
  g_before = snapshot(gan.generator.trainable_variables)
  images = tf.constant(_images(8, size=8))
  metrics = gan.generator_step(images, None, tf.constant([1, 2]))
  assert np.isfinite(metrics["rotation_fake_loss"].numpy())
  for before, var in zip(d_before, gan.discriminator.trainable_variables +
                         term.trainable_variables):
    np.testing.assert_array_equal(before, var.numpy())
  assert any(np.any(b != v.numpy()) for b, v in zip(g_before,
                                                    gan.generator.trainable_variables))
  gan.discriminator_step(images, None, tf.constant([1, 3]))
  assert all(np.any(b != v.numpy()) for b, v in zip(d_before[-2:], term.trainable_variables))


def test_rotation_only_trains_d_by_the_rotation_loss_alone():
  term = rotation.rotation(rotated_batch_size=8)
  gan = _tiny_gan([term], adversarial_weight=0.0)
  final_fc = [v.numpy().copy() for v in gan.discriminator.final_fc.trainable_variables]
  d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
  images = tf.constant(_images(8, size=8))
  metrics = gan.discriminator_step(images, None, tf.constant([1, 3]))
  # The adversarial loss is computed (and reported) but contributes nothing.
  assert metrics["d_loss_real"].numpy() + metrics["d_loss_fake"].numpy() > 0
  assert metrics["d_loss"].numpy() == pytest.approx(metrics["rotation_real_loss"].numpy(),
                                                    rel=1e-6)
  for before, var in zip(final_fc, gan.discriminator.final_fc.trainable_variables):
    np.testing.assert_array_equal(before, var.numpy())  # Only the logit trains by it.
  assert any(np.any(b != v.numpy()) for b, v in zip(d_before,
                                                    gan.discriminator.trainable_variables))
  metrics = gan.generator_step(images, None, tf.constant([1, 2]))
  assert metrics["g_loss"].numpy() == pytest.approx(
      0.2 * metrics["rotation_fake_loss"].numpy(), rel=1e-6)
  with pytest.raises(ValueError, match="GAN.adversarial_weight"):
    _tiny_gan([], adversarial_weight=-1.0)
