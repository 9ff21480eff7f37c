"""Inception preprocessing under the two resize protocols.

Both take images in [0, 1], scale them to [0, 255] (fakes stay continuous floats), resize
them to 299x299 and map them by (x - 128) / 128, i.e. to [-1, 127/128], the input range of
the 2015-12-05 graph. They differ in the resize:

- "compare_gan" (compare_gan / TF-GAN 2019): the *TF1 legacy* bilinear kernel, in the graph.
  `tf.image.resize` / Keras resizing use half-pixel centers and move pool_3 features by
  ~20%, so they must not be used here.
- "clean" (clean-fid's `clean` mode, "On Aliased Resizing and Surprising Subtleties in GAN
  Evaluation", arXiv 2104.11222): each channel as a float32 PIL image (mode "F"), resized
  with PIL's bicubic filter (antialiased when it shrinks), clipped to [0, 255] and not
  quantised. PIL runs on the host, so this resize is numpy, outside any tf.function.
"""

import numpy as np
from PIL import Image
import tensorflow as tf

INCEPTION_SIZE = 299
COMPARE_GAN = "compare_gan"
CLEAN = "clean"
RESIZES = (COMPARE_GAN, CLEAN)


def _check_channels(shape):
  """The channel count (1 or 3) of an NHWC shape; anything else is refused."""
  if len(shape) != 4:
    raise ValueError(f"Expected images of rank 4 (NHWC), got shape {shape}.")
  if shape[-1] not in (1, 3):
    raise ValueError(f"Expected 1 or 3 channels, got {shape[-1]} (shape {shape}).")
  return shape[-1]


def resize_bilinear_tf1(images, size=INCEPTION_SIZE):
  """TF1 `resize_bilinear(align_corners=False, half_pixel_centers=False)`.

  Source pixel of output (i, j) is (i * in_h / size, j * in_w / size), edges
  clamped. A same-size resize is the identity and is skipped.
  """
  images = tf.convert_to_tensor(images, tf.float32)
  if images.shape[1] == size and images.shape[2] == size:
    return images
  return tf.raw_ops.ResizeBilinear(
      images=images, size=[size, size], align_corners=False,
      half_pixel_centers=False)


def to_inception_range(images_255):
  """Maps [0, 255] pixels to the network's input range: (x - 128) / 128."""
  return (images_255 - 128.0) / 128.0


def preprocess_for_inception(images, quantize=False, clip=False):
  """Maps float NHWC images in [0, 1] (1 or 3 channels) to Inception input, compare_gan's way.

  Args:
    images: float [N, H, W, C] in [0, 1], C in {1, 3}.
    quantize: round to 8-bit levels (after x255) as if the images were saved
      as uint8; compare_gan does not do this for fakes.
    clip: clip to [0, 255] after x255; compare_gan does not do this either.

  Returns:
    float32 [N, 299, 299, 3] in [-1, 127/128] (wider if not clipped).
  """
  x = tf.convert_to_tensor(images, tf.float32)
  if _check_channels(tuple(x.shape)) == 1:
    x = tf.tile(x, [1, 1, 1, 3])
  x = x * 255.0
  if clip or quantize:
    x = tf.clip_by_value(x, 0.0, 255.0)
  if quantize:
    x = tf.round(x)
  return to_inception_range(resize_bilinear_tf1(x))


def _bicubic_channel(channel):
  """clean-fid's resize of one [H, W] float32 channel: PIL "F", bicubic, to 299x299."""
  image = Image.fromarray(np.ascontiguousarray(channel, np.float32))  # Mode "F".
  return np.asarray(image.resize((INCEPTION_SIZE, INCEPTION_SIZE), Image.BICUBIC))


def resize_clean(images, quantize=False, clip=False):
  """clean-fid's `clean` resize of float NHWC images in [0, 1], on the host.

  A grayscale image is resized once and replicated to 3 channels: clean-fid converts it to
  RGB first and resizes three equal channels, which gives the same numbers.

  Args:
    images: float [N, H, W, C] in [0, 1], C in {1, 3}.
    quantize: round to 8-bit levels (after x255), before the resize.
    clip: clip to [0, 255] after x255, before the resize.

  Returns:
    float32 [N, 299, 299, 3] in [0, 255]: what clean-fid feeds its network, which maps it
    by `to_inception_range`.
  """
  x = np.asarray(images, np.float32)
  channels = _check_channels(x.shape)
  x = x * np.float32(255)
  if clip or quantize:
    x = np.clip(x, 0, 255)
  if quantize:
    x = np.round(x)
  out = np.empty((len(x), INCEPTION_SIZE, INCEPTION_SIZE, channels), np.float32)
  for i, image in enumerate(x):
    for c in range(channels):
      out[i, :, :, c] = _bicubic_channel(image[:, :, c])
  np.clip(out, 0, 255, out=out)  # Bicubic overshoots; clean-fid clips, as here.
  return np.repeat(out, 3, axis=-1) if channels == 1 else out
