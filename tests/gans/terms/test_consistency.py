"""CR, bCR (image space) and zCR (latent space) against hand computations."""
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import augmentations
from compare_ssgan.gans.terms import consistency
from compare_ssgan.gans.terms import latent_consistency
from tests.gans import term_testing

RNG = np.random.default_rng(1)


def _images(n=8, size=8):
  return tf.constant(RNG.uniform(size=[n, size, size, 1]).astype(np.float32))


def _numpy_cr(ctx, images, purpose):
  """mean (D(x) - D(T(x)))^2 with T drawn from the term's seed."""
  d = ctx.gan.discriminator
  augmented = augmentations.flip_and_translate(images, ctx.seed_for(purpose)).numpy()
  return np.mean((d.numpy_logits(images.numpy()) - d.numpy_logits(augmented)) ** 2)


def test_cr_is_lambda_times_squared_logit_change_on_reals_only():
  reals, fakes = _images(), _images()
  term = consistency.consistency()
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  with tf.GradientTape() as tape:
    tape.watch(fakes)
    (loss, metrics), _ = term_testing.run_d_step(ctx)
  expected = _numpy_cr(ctx, reals, "cr/real")
  assert expected > 0
  np.testing.assert_allclose(metrics["cr_real"], expected, rtol=1e-5)
  np.testing.assert_allclose(loss, 10.0 * expected, rtol=1e-5)
  assert set(metrics) == {"cr_real"} and term.metric_names == ("cr_real",)
  assert ctx.gan.discriminator.seen["images"].shape[0] == 3 * 8  # real, fake, T(real).
  fake_grad = tape.gradient(loss, fakes)
  assert fake_grad is None or not np.any(fake_grad.numpy())
  assert term.g_step_loss(ctx, {})[0].numpy() == 0.0


def test_bcr_adds_lambda_fake_on_augmented_fakes():
  reals, fakes = _images(), _images()
  term = consistency.balanced_consistency(weight_real=10.0, weight_fake=3.0)
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  with tf.GradientTape() as tape:
    tape.watch(fakes)
    (loss, metrics), _ = term_testing.run_d_step(ctx)
  real = _numpy_cr(ctx, reals, "bcr/real")
  fake = _numpy_cr(ctx, fakes, "bcr/fake")
  np.testing.assert_allclose([metrics["bcr_real"], metrics["bcr_fake"]], [real, fake],
                             rtol=1e-5)
  np.testing.assert_allclose(loss, 10.0 * real + 3.0 * fake, rtol=1e-5)
  assert np.any(tape.gradient(loss, fakes).numpy())


def test_default_weights_follow_the_papers():
  assert consistency.consistency().weight_real == 10.0
  bcr = consistency.balanced_consistency()
  assert (bcr.weight_real, bcr.weight_fake) == (10.0, 10.0)
  zcr = latent_consistency.latent_consistency()
  assert (zcr.weight_d, zcr.weight_g, zcr.sigma) == (5.0, 0.5, 0.03)
  with pytest.raises(ValueError, match="balanced_consistency.weight_fake must be"):
    consistency.balanced_consistency(weight_fake=-1.0)


Z = tf.constant(RNG.uniform(-1, 1, size=[8, 6]).astype(np.float32))
ZCR_REALS = _images(8, 4)


def _zcr_context(term, generator=None):
  """The step's fakes are G(Z); build it inside a tape for gradients to G."""
  generator = generator or term_testing.TinyGenerator(z_dim=6, size=4)
  return term_testing.make_context(ZCR_REALS, generator(Z), z=Z, generator=generator,
                                   terms=[term])


def _perturbed_z(ctx, sigma):
  noise = tf.random.stateless_normal([8, 6], ctx.seed_for("zcr")).numpy()
  return ctx.z.numpy() + sigma * noise


def test_zcr_d_term_is_lambda_dis_times_logit_change_under_latent_noise():
  term = latent_consistency.latent_consistency(weight_d=5.0, sigma=0.5)
  ctx = _zcr_context(term)
  (loss, metrics), _ = term_testing.run_d_step(ctx)
  d, g = ctx.gan.discriminator, ctx.gan.generator
  perturbed_fakes = g(tf.constant(_perturbed_z(ctx, 0.5))).numpy()
  expected = np.mean((d.numpy_logits(ctx.fake_images.numpy())
                      - d.numpy_logits(perturbed_fakes)) ** 2)
  assert expected > 0
  np.testing.assert_allclose(metrics["zcr_d"], expected, rtol=1e-5)
  np.testing.assert_allclose(loss, 5.0 * expected, rtol=1e-5)


def test_zcr_g_term_rewards_g_for_separating_g_z_and_g_z_prime():
  term = latent_consistency.latent_consistency(weight_g=0.5, sigma=0.5)
  with tf.GradientTape() as tape:
    ctx = _zcr_context(term)
    (loss, metrics), _ = term_testing.run_g_step(ctx)
  g = ctx.gan.generator
  perturbed_fakes = g(tf.constant(_perturbed_z(ctx, 0.5))).numpy()
  expected = np.mean((ctx.generated_images.numpy() - perturbed_fakes) ** 2)
  np.testing.assert_allclose(metrics["zcr_g"], expected, rtol=1e-5)
  np.testing.assert_allclose(loss, -0.5 * expected, rtol=1e-5)
  # A small step against the gradient increases the distance between G(z) and G(z').
  grad = tape.gradient(loss, g.kernel)
  g.kernel.assign_sub(1e-2 * grad)
  (_, after), _ = term_testing.run_g_step(_zcr_context(term, g))
  assert after["zcr_g"] > metrics["zcr_g"]


def test_zcr_noise_has_std_sigma():
  ctx = term_testing.make_context(_images(4096, 2), z=tf.zeros([4096, 6]))
  term = latent_consistency.latent_consistency(sigma=0.03)
  captured = {}
  ctx.generate = lambda z, labels: captured.setdefault("z", z) + 0.0
  term.perturbed_fakes(ctx)
  np.testing.assert_allclose(np.std(captured["z"].numpy()), 0.03, rtol=0.05)
