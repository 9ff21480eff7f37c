"""compare_gan / TF-GAN (2019) Inception preprocessing.

Images in [0, 1] are scaled to [0, 255] (fakes stay continuous floats), resized
to 299x299 with the *TF1 legacy* bilinear kernel, then mapped by (x - 128) / 128,
i.e. to [-1, 127/128]. `tf.image.resize` / Keras resizing use half-pixel centers
and move pool_3 features by ~20%, so they must not be used here.
"""

import tensorflow as tf

INCEPTION_SIZE = 299


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


def preprocess_for_inception(images, quantize=False, clip=False):
  """Maps float NHWC images in [0, 1] (1 or 3 channels) to Inception input.

  Args:
    images: float [N, H, W, C] in [0, 1], C in {1, 3}.
    quantize: round to 8-bit levels (after x255) as if the images were saved
      as uint8; compare_gan does not do this for fakes.
    clip: clip to [0, 255] after x255; compare_gan does not do this either.

  Returns:
    float32 [N, 299, 299, 3] in [-1, 127/128] (wider if not clipped).
  """
  x = tf.convert_to_tensor(images, tf.float32)
  if x.shape.rank != 4:
    raise ValueError(f"Expected images of rank 4 (NHWC), got shape {x.shape}.")
  channels = x.shape[-1]
  if channels == 1:
    x = tf.tile(x, [1, 1, 1, 3])
  elif channels != 3:
    raise ValueError(
        f"Expected 1 or 3 channels, got {channels} (shape {x.shape}).")
  x = x * 255.0
  if clip or quantize:
    x = tf.clip_by_value(x, 0.0, 255.0)
  if quantize:
    x = tf.round(x)
  x = resize_bilinear_tf1(x)
  return (x - 128.0) / 128.0
