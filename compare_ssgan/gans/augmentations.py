"""Batched, seeded, differentiable image augmentations that run inside the replica step.

Every augmentation is `fn(images, seed) -> images` on float NHWC images in [0, 1], with its
strength knobs bound in gin. Per-example parameters are drawn for the *global* batch and
sliced per replica (`randomness.replica_slice`), so 1 and N replicas augment alike.

Geometric ops (flip, translation, zoom, crops) are one primitive: separable resampling with
reflect boundaries, written as two small interpolation matrices and an einsum. It has no
per-image Python loop, no host round-trip, compiles under XLA (TPU) and is differentiable
w.r.t. the images, so it can sit between G and D.
"""

import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans import randomness


def uniform(images, seed, shape=(), minval=0.0, maxval=1.0):
  """Per-example U[minval, maxval) of `shape`, drawn for the global batch."""
  draw = lambda n, s: tf.random.stateless_uniform([n, *shape], s, minval, maxval)
  return randomness.replica_slice(draw, tf.shape(images)[0], seed)


def bernoulli(images, seed, probability):
  return uniform(images, seed) < probability


def _reflect(index, size):
  """Maps integer indices onto [0, size) by mirroring without repeating the edge."""
  period = 2 * (size - 1)
  index = tf.math.floormod(index, period)
  return tf.where(index >= size, period - index, index)


def _interpolation_matrix(coords, size):
  """[N, out] float source coordinates -> [N, out, size] linear-interpolation weights."""
  lower = tf.floor(coords)
  frac = coords - lower
  lower = tf.cast(lower, tf.int32)
  return (tf.one_hot(_reflect(lower, size), size) * (1.0 - frac)[..., None]
          + tf.one_hot(_reflect(lower + 1, size), size) * frac[..., None])


def resample(images, rows, cols):
  """out[n, i, j] = images[n, rows[n, i], cols[n, j]], bilinear, reflect outside the image.

  Args:
    images: [N, H, W, C].
    rows: [N, H'] source row coordinates (pixel units, may be fractional or out of range).
    cols: [N, W'] source column coordinates.
  """
  _, height, width, _ = images.shape
  weights_rows = _interpolation_matrix(rows, height)
  weights_cols = _interpolation_matrix(cols, width)
  return tf.einsum("nhy,nyxc,nwx->nhwc", weights_rows, images, weights_cols)


def _pixel_grid(box_start, box_size, num):
  """Sample positions (pixel centres) of `num` outputs spanning [start, start + size)."""
  steps = (tf.range(num, dtype=tf.float32) + 0.5) / num
  return box_start[:, None] + steps[None, :] * box_size[:, None] - 0.5


def crop_boxes(images, top, left, height, width):
  """Resamples the boxes (pixel units, [N] each) to the input's size."""
  _, h, w, _ = images.shape
  return resample(images, _pixel_grid(top, height, h), _pixel_grid(left, width, w))


@gin.configurable("random_flip", denylist=["images", "seed"])
def random_flip(images, seed, probability=0.5):
  """Horizontal flip of each image with `probability`."""
  validate.number("random_flip.probability", probability, minimum=0, maximum=1)
  flip = bernoulli(images, seed, probability)
  return tf.where(flip[:, None, None, None], images[:, :, ::-1, :], images)


@gin.configurable("random_translation", denylist=["images", "seed"])
def random_translation(images, seed, strength=0.125, axes="xy"):
  """Integer shift by up to round(strength * side) pixels per axis, reflect padding.

  strength=0.125 is CR-GAN's "up to 4 px at 32 px"; Zhao et al. 2020b's Translation(X/Y)
  shift by a ~ U(-strength, strength) of the side, which this draws as a uniform integer.
  """
  validate.number("random_translation.strength", strength, minimum=0, maximum=1)
  validate.choice("random_translation.axes", axes, ("xy", "x", "y"))
  _, height, width, _ = images.shape
  shifts = []
  for index, (axis, side) in enumerate((("y", height), ("x", width))):
    limit = int(round(strength * side)) if axis in axes else 0
    shift = tf.floor(uniform(images, randomness.fold_in(seed, index),
                              minval=-limit, maxval=limit + 1))
    shifts.append(shift)
  rows = tf.range(height, dtype=tf.float32)[None, :] - shifts[0][:, None]
  cols = tf.range(width, dtype=tf.float32)[None, :] - shifts[1][:, None]
  return resample(images, rows, cols)


@gin.configurable("flip_and_translate", denylist=["images", "seed"])
def flip_and_translate(images, seed, strength=0.125):
  """CR-GAN's T: random horizontal flip, then a shift of up to 1/8 of the side (reflect)."""
  validate.number("flip_and_translate.strength", strength, minimum=0, maximum=1)
  images = random_flip(images, randomness.fold_in(seed, "flip"))
  return random_translation(images, randomness.fold_in(seed, "translate"), strength)


def _view_random_box(images, seed, strength, box_side):
  """Resamples each image from a box of side box_side(side, s), s ~ U[1, 1 + strength].

  The box's top-left corner is uniform in [0, side - box side] (a negative range when
  the box is larger than the image, so that it always contains the whole image).
  """
  _, height, width, _ = images.shape
  scale = uniform(images, randomness.fold_in(seed, "scale"), minval=1.0,
                   maxval=1.0 + strength)
  position = uniform(images, randomness.fold_in(seed, "position"), shape=(2,))
  box_h, box_w = box_side(height, scale), box_side(width, scale)
  return crop_boxes(images, position[:, 0] * (height - box_h),
                     position[:, 1] * (width - box_w), box_h, box_w)


@gin.configurable("zoom_in", denylist=["images", "seed"])
def zoom_in(images, seed, strength=0.2):
  """Crops a random square of side 1/s of the image, s ~ U[1, 1 + strength], upsamples it."""
  validate.number("zoom_in.strength", strength, minimum=0)
  return _view_random_box(images, seed, strength, lambda side, s: side / s)


@gin.configurable("zoom_out", denylist=["images", "seed"])
def zoom_out(images, seed, strength=0.4):
  """Shrinks by s ~ U[1, 1 + strength] at a random place, reflect-filling the border."""
  validate.number("zoom_out.strength", strength, minimum=0)
  return _view_random_box(images, seed, strength, lambda side, s: side * s)


@gin.configurable("cutout", denylist=["images", "seed"])
def cutout(images, seed, strength=0.2):
  """Zeroes a square of side round(strength * side) centred anywhere in the image."""
  validate.number("cutout.strength", strength, minimum=0, maximum=1)
  _, height, width, _ = images.shape
  centre = uniform(images, seed, shape=(2,))
  size_h = int(round(strength * height))
  size_w = int(round(strength * width))
  top = tf.floor(centre[:, 0] * height) - size_h // 2
  left = tf.floor(centre[:, 1] * width) - size_w // 2
  rows = tf.range(height, dtype=tf.float32)[None, :]
  cols = tf.range(width, dtype=tf.float32)[None, :]
  inside_rows = (rows >= top[:, None]) & (rows < top[:, None] + size_h)
  inside_cols = (cols >= left[:, None]) & (cols < left[:, None] + size_w)
  inside = inside_rows[:, :, None] & inside_cols[:, None, :]
  return images * tf.cast(~inside, images.dtype)[..., None]


@gin.configurable("brightness", denylist=["images", "seed"])
def brightness(images, seed, strength=0.1):
  """Adds U(-strength, strength) to every pixel of an image (no clipping: stays smooth)."""
  validate.number("brightness.strength", strength, minimum=0)
  delta = uniform(images, seed, minval=-strength, maxval=strength)
  return images + delta[:, None, None, None]


@gin.configurable("channel_offset", denylist=["images", "seed"])
def channel_offset(images, seed, strength=0.04, channel=0):
  """Adds U(-strength, strength) to one channel (Zhao 2020b's Redness: 0, Greenness: 1)."""
  validate.number("channel_offset.strength", strength, minimum=0)
  validate.integer("channel_offset.channel", channel, minimum=0)
  if channel >= images.shape[-1]:
    raise ValueError(f"channel_offset.channel={channel} but the images have "
                     f"{images.shape[-1]} channels.")
  delta = uniform(images, seed, minval=-strength, maxval=strength)
  mask = tf.one_hot(channel, images.shape[-1])
  return images + delta[:, None, None, None] * mask


def compose(augmentations, images, seed):
  """Applies `augmentations` in order, each with its own seed."""
  for index, augmentation in enumerate(augmentations):
    images = augmentation(images, randomness.fold_in(seed, index))
  return images
