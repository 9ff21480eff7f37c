"""SimCLR's augmentations, the two views of Cntr-GAN's NT-Xent (Chen et al., "A Simple
Framework for Contrastive Learning of Visual Representations", arXiv:2002.05709).

Same conventions as `gans/augmentations.py`: `fn(images, seed) -> images` on float NHWC
images in [0, 1], per-example parameters drawn for the global batch, differentiable.
"""
import math

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans import augmentations
from compare_ssgan.gans import randomness


def _check_range(binding, value, maximum=None):
  """`value` is a (low, high) pair with 0 < low <= high (<= maximum)."""
  if not isinstance(value, (tuple, list)) or len(value) != 2:
    raise TypeError(f"{binding} must be a (low, high) pair; got {value!r}.")
  low = validate.number(f"{binding}[0]", value[0], minimum=0, maximum=maximum,
                        min_inclusive=False)
  validate.number(f"{binding}[1]", value[1], minimum=low, maximum=maximum)


@gin.configurable("random_resized_crop", denylist=["images", "seed"])
def random_resized_crop(images, seed, area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3)):
  """SimCLR's crop: a box of random area fraction and aspect ratio, resized to full size.

  SimCLR re-draws boxes that do not fit; here the box sides are clipped to the image, which
  keeps the op a fixed-shape tensor program.
  """
  _check_range("random_resized_crop.area_range", area_range, maximum=1.0)
  _check_range("random_resized_crop.aspect_ratio_range", aspect_ratio_range)
  _, height, width, _ = images.shape
  area = augmentations.uniform(images, randomness.fold_in(seed, "area"),
                               minval=area_range[0], maxval=area_range[1])
  log_ratio = augmentations.uniform(images, randomness.fold_in(seed, "ratio"),
                                    minval=math.log(aspect_ratio_range[0]),
                                    maxval=math.log(aspect_ratio_range[1]))
  ratio = tf.exp(log_ratio)
  box_h = tf.minimum(tf.sqrt(area / ratio), 1.0) * height
  box_w = tf.minimum(tf.sqrt(area * ratio), 1.0) * width
  position = augmentations.uniform(images, randomness.fold_in(seed, "position"), shape=(2,))
  return augmentations.crop_boxes(images, position[:, 0] * (height - box_h),
                                  position[:, 1] * (width - box_w), box_h, box_w)


def _grayscale(images):
  weights = tf.constant([0.2989, 0.587, 0.114], images.dtype)
  return tf.reduce_sum(images * weights, axis=-1, keepdims=True)


# RGB <-> YIQ: a hue shift is a rotation of the (I, Q) chroma plane.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def _rotate_hue(images, turns):
  """Hue shift by `turns` of a full turn ([N]) as a rotation in YIQ space (differentiable)."""
  angle = 2.0 * math.pi * turns
  cos, sin = tf.cos(angle), tf.sin(angle)
  zeros, ones = tf.zeros_like(cos), tf.ones_like(cos)
  rotation = tf.stack([tf.stack([ones, zeros, zeros], -1),
                       tf.stack([zeros, cos, -sin], -1),
                       tf.stack([zeros, sin, cos], -1)], -2)  # [N, 3, 3]
  transform = tf.constant(_YIQ_TO_RGB)[None] @ rotation @ tf.constant(_RGB_TO_YIQ)[None]
  return tf.einsum("nij,nhwj->nhwi", transform, images)


@gin.configurable("color_distortion", denylist=["images", "seed"])
def color_distortion(images, seed, strength=0.5, jitter_probability=0.8,
                     grayscale_probability=0.2):
  """SimCLR's colour distortion: jitter (p=0.8) then grayscale (p=0.2), clipped to [0, 1].

  Jitter = brightness +U(-0.8s, 0.8s), contrast and saturation x U(1-0.8s, 1+0.8s), hue
  +U(-0.2s, 0.2s) turns, for strength s. SimCLR shuffles the four; here the order is fixed,
  saturation blends with the grayscale image and hue rotates YIQ chroma (both smooth,
  XLA-friendly stand-ins for its HSV ops). Single-channel images get brightness/contrast only.
  """
  # Above 1.25 the contrast and saturation factors 1 - 0.8s would go negative.
  validate.number("color_distortion.strength", strength, minimum=0, maximum=1.25)
  validate.number("color_distortion.jitter_probability", jitter_probability, minimum=0,
                  maximum=1)
  validate.number("color_distortion.grayscale_probability", grayscale_probability, minimum=0,
                  maximum=1)
  fold = lambda name: randomness.fold_in(seed, name)
  jittered = images + augmentations.uniform(images, fold("brightness"),
                                            minval=-0.8 * strength,
                                            maxval=0.8 * strength)[:, None, None, None]
  jittered = tf.clip_by_value(jittered, 0.0, 1.0)
  factor = augmentations.uniform(images, fold("contrast"), minval=1 - 0.8 * strength,
                                 maxval=1 + 0.8 * strength)[:, None, None, None]
  mean = tf.reduce_mean(jittered, axis=[1, 2], keepdims=True)
  jittered = tf.clip_by_value((jittered - mean) * factor + mean, 0.0, 1.0)
  color = images.shape[-1] == 3
  if color:
    factor = augmentations.uniform(images, fold("saturation"), minval=1 - 0.8 * strength,
                                   maxval=1 + 0.8 * strength)[:, None, None, None]
    gray = _grayscale(jittered)
    jittered = tf.clip_by_value((jittered - gray) * factor + gray, 0.0, 1.0)
    turns = augmentations.uniform(images, fold("hue"), minval=-0.2 * strength,
                                  maxval=0.2 * strength)
    jittered = tf.clip_by_value(_rotate_hue(jittered, turns), 0.0, 1.0)
  apply = augmentations.bernoulli(images, fold("apply_jitter"), jitter_probability)
  images = tf.where(apply[:, None, None, None], jittered, images)
  if color:
    to_gray = augmentations.bernoulli(images, fold("grayscale"), grayscale_probability)
    gray = tf.tile(_grayscale(images), [1, 1, 1, 3])
    images = tf.where(to_gray[:, None, None, None], gray, images)
  return images


@gin.configurable("simclr_augment", denylist=["images", "seed"])
def simclr_augment(images, seed, crop=random_resized_crop, flip=augmentations.random_flip,
                   color=color_distortion):
  """SimCLR's CIFAR pipeline (no blur): random resized crop, flip, colour distortion."""
  images = crop(images, randomness.fold_in(seed, "crop"))
  images = flip(images, randomness.fold_in(seed, "flip"))
  return color(images, randomness.fold_in(seed, "color"))
