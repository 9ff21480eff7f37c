"""Batched augmentations: exact geometry against numpy, seeding, gradients."""
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.gans import augmentations
from compare_ssgan.gans import simclr_augmentations

RNG = np.random.default_rng(0)
SEED = tf.constant([5, 6], tf.int32)


def _images(n=16, size=8, channels=3):
  return tf.constant(RNG.uniform(size=[n, size, size, channels]).astype(np.float32))


def _reflect_shift(image, dy, dx):
  """numpy: out[i, j] = image[i - dy, j - dx] with reflect padding (no edge repeat)."""
  m = max(abs(dy), abs(dx))
  padded = np.pad(image, [(m, m), (m, m), (0, 0)], mode="reflect")
  h, w = image.shape[:2]
  return padded[m - dy:m - dy + h, m - dx:m - dx + w]


def _find_shift(source, result, limit):
  matches = [(dy, dx) for dy in range(-limit, limit + 1) for dx in range(-limit, limit + 1)
             if np.allclose(_reflect_shift(source, dy, dx), result, atol=1e-6)]
  return matches[0] if matches else None


def test_resample_with_integer_coordinates_is_an_exact_reflect_shift():
  images = _images(2)
  rows = tf.range(8, dtype=tf.float32)[None] - tf.constant([[3.0], [-2.0]])
  cols = tf.range(8, dtype=tf.float32)[None] - tf.constant([[-1.0], [4.0]])
  out = augmentations.resample(images, rows, cols).numpy()
  np.testing.assert_allclose(out[0], _reflect_shift(images[0].numpy(), 3, -1), atol=1e-6)
  np.testing.assert_allclose(out[1], _reflect_shift(images[1].numpy(), -2, 4), atol=1e-6)


def test_flip_and_translate_is_cr_gans_t():
  """Each output is a flip (or not) of its input shifted by at most 4 px at 32 px."""
  images = _images(n=12, size=32, channels=1)
  out = augmentations.flip_and_translate(images, SEED).numpy()
  shifts, flips = [], []
  for source, result in zip(images.numpy(), out):
    shift = _find_shift(source, result, 4)
    flipped = _find_shift(source[:, ::-1], result, 4)
    assert (shift is None) != (flipped is None)
    shifts.append(shift or flipped)
    flips.append(flipped is not None)
  assert 0 < sum(flips) < len(flips)
  assert len(set(shifts)) > 3


def test_translation_along_one_axis_only():
  images = _images(n=8, size=16)
  out = augmentations.random_translation(images, SEED, strength=0.25, axes="x").numpy()
  for source, result in zip(images.numpy(), out):
    dy, dx = _find_shift(source, result, 4)
    assert dy == 0 and abs(dx) <= 4


def test_cutout_zeroes_one_square_and_keeps_the_rest():
  images = _images(n=8, size=10) + 0.5  # No zeros before the cutout.
  out = augmentations.cutout(images, SEED, strength=0.4).numpy()
  for source, result in zip(images.numpy(), out):
    zero = np.all(result == 0, axis=-1)
    rows, cols = np.nonzero(zero)
    assert rows.size > 0 and zero[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    assert rows.max() - rows.min() + 1 <= 4 and cols.max() - cols.min() + 1 <= 4
    np.testing.assert_array_equal(result[~zero], source[~zero])


@pytest.mark.parametrize("augmentation", [
    lambda x, s: augmentations.zoom_in(x, s, strength=0.0),
    lambda x, s: augmentations.zoom_out(x, s, strength=0.0),
    lambda x, s: simclr_augmentations.random_resized_crop(x, s, (1.0, 1.0), (1.0, 1.0)),
    lambda x, s: simclr_augmentations.color_distortion(x, s, strength=0.0,
                                                grayscale_probability=0.0),
    lambda x, s: augmentations.brightness(x, s, strength=0.0),
    lambda x, s: augmentations.channel_offset(x, s, strength=0.0, channel=1),
])
def test_zero_strength_is_the_identity(augmentation):
  images = _images(4)
  np.testing.assert_allclose(augmentation(images, SEED), images, atol=1e-5)


def test_zoom_in_magnifies_and_zoom_out_shrinks():
  """A centred bright square grows under zoom-in and shrinks under zoom-out."""
  images = np.zeros([4, 16, 16, 1], np.float32)
  images[:, 6:10, 6:10] = 1.0
  area = lambda x: (x.numpy() > 0.5).sum(axis=(1, 2, 3))
  assert np.all(area(augmentations.zoom_in(tf.constant(images), SEED, 0.5)) > 16)
  zoomed_out = augmentations.zoom_out(tf.constant(images), SEED, 0.5)
  assert np.all(area(zoomed_out) < 16)


def test_colour_offsets_and_grayscale():
  images = _images(6)
  red = augmentations.channel_offset(images, SEED, strength=0.3, channel=0) - images
  assert np.all(red[..., 1:].numpy() == 0)
  delta = red[..., 0].numpy()
  assert np.allclose(delta, delta[:, :1, :1]) and np.abs(delta).max() <= 0.3
  gray = simclr_augmentations.color_distortion(images, SEED, jitter_probability=0.0,
                                        grayscale_probability=1.0).numpy()
  np.testing.assert_allclose(gray[..., 0], gray[..., 2])
  with pytest.raises(ValueError, match="channel_offset.channel=1"):
    augmentations.channel_offset(_images(2, channels=1), SEED, channel=1)


def test_hue_rotation_keeps_luma_and_a_full_turn_is_the_identity():
  images = _images(3)
  luma = lambda x: np.asarray(x) @ np.array([0.299, 0.587, 0.114], np.float32)
  turned = simclr_augmentations._rotate_hue(images, tf.constant([0.1, 0.3, 1.0]))  # pylint: disable=protected-access
  np.testing.assert_allclose(luma(turned), luma(images), atol=1e-5)
  np.testing.assert_allclose(turned[2], images[2], atol=1e-5)
  assert not np.allclose(turned[0], images[0], atol=1e-3)


def test_simclr_views_stay_in_range_and_differ_by_seed():
  images = _images(8, size=16)
  a = simclr_augmentations.simclr_augment(images, SEED).numpy()
  b = simclr_augmentations.simclr_augment(images, SEED).numpy()
  c = simclr_augmentations.simclr_augment(images, tf.constant([5, 7])).numpy()
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  assert a.min() >= 0.0 and a.max() <= 1.0 and a.shape == images.shape


ALL = [(augmentations, name) for name in (
    "random_flip", "random_translation", "flip_and_translate", "zoom_in", "zoom_out",
    "cutout", "brightness", "channel_offset")] + [
        (simclr_augmentations, name) for name in (
            "random_resized_crop", "color_distortion", "simclr_augment")]


@pytest.mark.parametrize("module,name", ALL)
def test_differentiable(module, name):
  images = _images(4)
  with tf.GradientTape() as tape:
    tape.watch(images)
    out = getattr(module, name)(images, SEED)
    loss = tf.reduce_sum(out * tf.range(3, dtype=tf.float32))
  grad = tape.gradient(loss, images)
  assert grad is not None and np.any(grad.numpy())


@pytest.mark.slow
def test_all_compile_with_xla():
  """One XLA program applying every augmentation (TPU-friendly: no host ops, no loops)."""
  def apply_all(images, seed):
    return [getattr(module, name)(images, seed) for module, name in ALL]
  images = _images(4)
  # XLA's stateless RNG draws other numbers than the TF kernels: compare shapes only.
  for out in tf.function(apply_all, jit_compile=True)(images, SEED):
    assert out.shape == images.shape and np.all(np.isfinite(out))


def test_resample_under_xla_equals_eager():
  images = _images(2)
  rows = tf.constant(RNG.uniform(-3, 10, size=[2, 8]).astype(np.float32))
  cols = tf.constant(RNG.uniform(-3, 10, size=[2, 5]).astype(np.float32))
  compiled = tf.function(augmentations.resample, jit_compile=True)(images, rows, cols)
  np.testing.assert_allclose(compiled, augmentations.resample(images, rows, cols), atol=1e-5)
