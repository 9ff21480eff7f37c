"""torch-mimicry's SSGAN batching of the rotation term (`rotation.batching =
"one_way_per_image"`) and D called once per group (`DiscriminatorBatch.calls`)."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import rotation
from tests.gans import term_testing

RNG = np.random.default_rng(0)


def _images(n, size=4):
  return RNG.uniform(size=[n, size, size, 1]).astype(np.float32)


def _term(weight_d=1.0, weight_g=0.2):
  term = rotation.rotation(rotated_batch_size=4, weight_d=weight_d, weight_g=weight_g,
                           batching="one_way_per_image")
  term.build_heads(term_testing.TinyDiscriminator(), None)
  term.head.kernel.assign(RNG.normal(size=[4, 4]).astype(np.float32))
  term.head.bias.assign(np.array([0.1, -0.2, 0.3, 0.0], np.float32))
  return term


def _mimicry_rotate_batch(images):
  """numpy transcription of mimicry's SSGANBaseDiscriminator._rotate_batch (NCHW there):
  image i by degrees[i * 4 // N], 90 = transpose(H, W) then flip H, 270 = then flip W."""
  n = len(images)
  out, labels = [], []
  for i in range(n):
    k = i * 4 // n
    image = images[i]  # [H, W, C]
    if k == 1:
      image = np.flip(np.transpose(image, (1, 0, 2)), 0)
    elif k == 2:
      image = np.flip(np.flip(image, 0), 1)
    elif k == 3:
      image = np.flip(np.transpose(image, (1, 0, 2)), 1)
    out.append(image)
    labels.append(k)
  return np.stack(out), np.array(labels)


def test_rotate_each_is_mimicrys_rotate_batch():
  images = RNG.uniform(size=[8, 5, 5, 2]).astype(np.float32)
  expected, labels = _mimicry_rotate_batch(images)
  np.testing.assert_array_equal(rotation.one_way_rotations(8), labels)
  np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2, 3, 3])
  np.testing.assert_array_equal(
      rotation.rotate_each(tf.constant(images), rotation.one_way_rotations(8)), expected)
  np.testing.assert_array_equal(rotation.one_way_rotations(6), [0, 0, 1, 2, 2, 3])


@pytest.mark.parametrize("step", ["discriminator", "generator"])
def test_one_way_loss_is_cross_entropy_over_the_rotated_batch_alone(step):
  reals, fakes = _images(8), _images(8)
  term = _term(weight_d=0.7, weight_g=0.2)
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  run = term_testing.run_d_step if step == "discriminator" else term_testing.run_g_step
  (loss, metrics), outputs = run(ctx)
  images = reals if step == "discriminator" else fakes
  group = "rot_real" if step == "discriminator" else "rot_fake"
  rotated, targets = _mimicry_rotate_batch(images)
  assert outputs[group].features.shape[0] == 8  # Every image, rotated once.
  logits = term_testing.quadrant_means(rotated) @ term.head.kernel.numpy() + \
      term.head.bias.numpy()
  ce = term_testing.softmax_cross_entropy(logits, targets)
  name = "rotation_real_loss" if step == "discriminator" else "rotation_fake_loss"
  np.testing.assert_allclose(metrics[name], ce, rtol=1e-5)
  np.testing.assert_allclose(loss, (0.7 if step == "discriminator" else 0.2) * ce, rtol=1e-5)


def test_rotation_rejects_an_unknown_batching():
  with pytest.raises(ValueError, match="rotation.batching"):
    rotation.rotation(rotated_batch_size=4, batching="random")


class _CountingDiscriminator(term_testing.TinyDiscriminator):
  calls = 0

  def call(self, images, labels=None, training=False):
    self.calls += 1
    return super().call(images, labels, training)


@pytest.mark.parametrize("calls,expected", [("one", 1), ("per_group", 3)])
def test_per_group_calls_run_d_once_per_group_with_the_same_outputs(calls, expected):
  reals, fakes = _images(8), _images(8)
  gin.clear_config()
  gin.bind_parameter("DiscriminatorBatch.calls", calls)
  discriminator = _CountingDiscriminator()
  ctx = term_testing.make_context(reals, fakes, terms=[_term()], discriminator=discriminator)
  outputs = base.discriminator_outputs(ctx, "discriminator")
  gin.clear_config()
  assert discriminator.calls == expected
  assert list(outputs) == ["real", "fake", "rot_real"]
  np.testing.assert_allclose(outputs["fake"].logits, discriminator.numpy_logits(fakes),
                             rtol=1e-5)
  assert outputs["rot_real"].features.shape[0] == 8


def test_discriminator_batch_rejects_an_unknown_calls():
  with pytest.raises(ValueError, match="DiscriminatorBatch.calls"):
    base.DiscriminatorBatch(False, calls="two")
