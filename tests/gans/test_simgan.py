"""SimGAN's cosine loss against a numpy transcription of its definition, and a training run."""
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.architectures import dcgan
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.gans import losses
from compare_ssgan.gans import simgan
from tests.training import helpers

RNG = np.random.default_rng(0)


def _cos(a, b):
  """tf.math.l2_normalize's cosine: norms floored at sqrt(1e-12)."""
  return a @ b / (max(np.linalg.norm(a), 1e-6) * max(np.linalg.norm(b), 1e-6))


def _numpy_simgan(real, fake, real_labels, fake_labels):
  """(g_loss, d_real, d_fake), written group by group as simgan.py's docstring states them."""
  grouped_g, d_real, d_fake = [], [], []
  for label in np.unique(np.concatenate([real_labels, fake_labels])):
    reals, fakes = real[real_labels == label], fake[fake_labels == label]
    if not len(reals) or not len(fakes):
      continue  # Nothing to compare with inside this group.
    real_mean, fake_mean = reals.mean(0), fakes.mean(0)
    grouped_g.append(0.5 * (np.mean([1 - _cos(fake_mean, r) for r in reals]) +
                            np.mean([1 - _cos(f, real_mean) for f in fakes])))
    d_real.append(np.mean([max(0.0, _cos(r, fake_mean)) for r in reals]))
    d_fake.append(np.mean([max(0.0, _cos(f, real_mean)) for f in fakes]))
  batch_g = 1 - _cos(fake.mean(0), real.mean(0))
  return 0.5 * (np.mean(grouped_g) + batch_g), np.mean(d_real), np.mean(d_fake)


def _vectors(n, patches=5):
  return RNG.normal(size=[n, patches]).astype(np.float32)


def _check(out, expected):
  g_loss, d_real, d_fake = expected
  np.testing.assert_allclose(out.g_loss.numpy(), g_loss, rtol=1e-5)
  np.testing.assert_allclose(out.d_real.numpy(), d_real, rtol=1e-5)
  np.testing.assert_allclose(out.d_fake.numpy(), d_fake, rtol=1e-5)
  np.testing.assert_allclose(out.d_loss.numpy(), d_real + d_fake, rtol=1e-5)


def test_matches_numpy_within_label_groups():
  real, fake = _vectors(7), _vectors(6)
  # Group 0: 3 reals / 2 fakes; group 1: one real, one fake; group 2: 3 reals and no fake
  # (left out); group 3: 3 fakes and no real (left out).
  real_labels = np.array([0, 2, 0, 1, 2, 0, 2], np.int32)
  fake_labels = np.array([3, 0, 1, 3, 0, 3], np.int32)
  out = simgan.SimGANLoss()(tf.constant(real), tf.constant(fake),
                            tf.constant(real_labels), tf.constant(fake_labels))
  _check(out, _numpy_simgan(real, fake, real_labels, fake_labels))


def test_unconditional_batch_is_one_group():
  real, fake = _vectors(4), _vectors(4)
  out = simgan.SimGANLoss()(tf.constant(real), tf.constant(fake))
  _check(out, _numpy_simgan(real, fake, np.zeros(4), np.zeros(4)))


def test_g_only_keeps_the_critic_loss_for_d():
  real, fake = _vectors(4), _vectors(4)
  out = simgan.SimGANLoss(critic_loss=losses.hinge)(tf.constant(real), tf.constant(fake))
  hinge = losses.hinge(tf.constant(real), tf.constant(fake))
  np.testing.assert_allclose(out.g_loss.numpy(),
                             _numpy_simgan(real, fake, np.zeros(4), np.zeros(4))[0], rtol=1e-5)
  for got, expected in zip(out[:3], hinge[:3]):
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_g_loss_holds_reals_fixed_and_the_critic_loss_trains_both_sides():
  real, fake = tf.Variable(_vectors(4)), tf.Variable(_vectors(4))
  with tf.GradientTape(persistent=True) as tape:
    out = simgan.SimGANLoss()(real, fake)
  assert tape.gradient(out.g_loss, real) is None
  assert np.any(tape.gradient(out.g_loss, fake).numpy())
  assert all(np.any(g.numpy()) for g in tape.gradient(out.d_loss, [real, fake]))


def test_zero_vectors_and_no_shared_group_stay_finite():
  real = tf.Variable(np.zeros([3, 4], np.float32))
  fake = tf.Variable(_vectors(3, patches=4))
  with tf.GradientTape(persistent=True) as tape:
    zero = simgan.SimGANLoss()(real, fake)
    disjoint = simgan.SimGANLoss()(real, fake, tf.constant([0, 0, 1]), tf.constant([2, 2, 2]))
  for out in (zero, disjoint):
    assert all(np.isfinite(v.numpy()) for v in out)
    assert all(np.all(np.isfinite(g.numpy())) for g in tape.gradient(out.d_loss, [real, fake]))
  assert disjoint.d_loss.numpy() == 0.0  # No group has both sides: only G's batch term.
  np.testing.assert_allclose(disjoint.g_loss.numpy(), 0.5, rtol=1e-6)  # 0.5 * (0 + 1 - 0).


def test_scalar_logits_and_bad_critic_loss_are_rejected():
  with pytest.raises(ValueError, match=r"D.patch_output = True"):
    simgan.SimGANLoss()(tf.zeros([4, 1]), tf.zeros([4, 1]))
  with pytest.raises(ValueError, match=r"simgan_loss.critic_loss must be None"):
    simgan.SimGANLoss(critic_loss="hinge")


@pytest.mark.parametrize("module, image_shape", [(dcgan, (8, 8, 1)),
                                                  (resnet_cifar, (32, 32, 1))])
def test_patch_critic_logits_are_a_1x1_conv_of_the_last_map(module, image_shape):
  d = module.Discriminator(image_shape, ch=4, patch_output=True)
  images = tf.constant(RNG.uniform(size=(2,) + image_shape).astype(np.float32))
  logits, features = d(images)
  feature_map = d._feature_map(images, training=False).numpy()  # pylint: disable=protected-access
  expected = (feature_map @ d.patch_conv.kernel.numpy()[0, 0] + d.patch_conv.bias.numpy())
  np.testing.assert_allclose(logits.numpy(), expected.reshape(2, -1), rtol=1e-5, atol=1e-6)
  assert features.shape == (2, d.feature_dim) and not hasattr(d, "final_fc")
  with pytest.raises(ValueError, match="D.patch_output=True has no per-patch projection"):
    module.Discriminator(image_shape, num_classes=3, project_y=True, patch_output=True)


def test_conditional_gan_trains_with_the_loss(tmp_path):
  trainer = helpers.make_trainer(
      tmp_path, "Trainer.training_steps = 2\n"
      "GAN.conditional = True\n"
      "G.batch_norm = 'conditional_batch_norm'\n"
      "D.patch_output = True\n"
      "GAN.loss_fn = @simgan_loss()")
  scalars = trainer.train()
  assert np.isfinite(scalars["d_loss"]) and np.isfinite(scalars["g_loss"])
  assert 0.0 <= scalars["g_loss"] <= 2.0
