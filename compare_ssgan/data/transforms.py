"""Per-image transforms on float32 [H, W, C] images in [0, 1].

compare_gan's dataset-specific crops (ImageNet, CelebA, LSUN) use its TF1
`tf.image.resize_images` kernel (bilinear, no half-pixel centres), kept here so
that real images match compare_gan's FID reals. `fit` then brings any image to
the configured square resolution and channel count.
"""
import gin
import tensorflow as tf

RESIZE_METHODS = ("pad", "resize", "center_crop")


def to_float(image):
  """uint8 [H, W, C] -> float32 in [0, 1] (compare_gan's x / 255)."""
  return tf.cast(image, tf.float32) / 255.0


def compare_gan_resize(image, resolution):
  """Bilinear resize as TF1 `resize_images` (align_corners=False)."""
  return tf.compat.v1.image.resize(
      image, [resolution, resolution],
      method=tf.compat.v1.image.ResizeMethod.BILINEAR)


def center_square(image):
  """The centred square crop with side min(H, W) ("middle" in compare_gan)."""
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  return tf.image.resize_with_crop_or_pad(image, side, side)


def _imagenet_crop(image, crop_method, seed):
  if crop_method == "distorted":
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4]), seed=seed,
        aspect_ratio_range=[1.0, 1.0], area_range=[0.5, 1.0],
        use_image_if_no_bounding_boxes=True)
    return tf.slice(image, begin, size)
  if crop_method == "random":
    side = tf.reduce_min(tf.shape(image)[:2])
    return tf.image.stateless_random_crop(
        image, tf.stack([side, side, tf.shape(image)[2]]), seed=seed)
  if crop_method == "middle":
    return center_square(image)
  if crop_method == "none":
    return image
  raise ValueError(f"Unknown ImageNet crop_method {crop_method!r}; expected "
                   "one of 'distorted', 'random', 'middle', 'none'.")


@gin.configurable("train_imagenet_transform", denylist=["image", "resolution",
                                                        "seed"])
def train_imagenet_transform(image, resolution, seed, crop_method="distorted"):
  """compare_gan's ImageNet train crop, then resize to the resolution.

  "distorted" samples a square box covering 50-100% of the image area. `seed`
  is a per-example stateless seed, so crops are reproducible and resumable.
  """
  return compare_gan_resize(_imagenet_crop(image, crop_method, seed),
                            resolution)


@gin.configurable("eval_imagenet_transform", denylist=["image", "resolution",
                                                       "seed"])
def eval_imagenet_transform(image, resolution, seed=None, crop_method="middle"):
  """compare_gan's ImageNet eval crop (centred square), then resize."""
  return compare_gan_resize(_imagenet_crop(image, crop_method, seed),
                            resolution)


def celeb_a_transform(image, resolution, seed=None):
  """compare_gan's CelebA: centre crop/pad to 160x160, then resize."""
  del seed  # Deterministic.
  return compare_gan_resize(tf.image.resize_with_crop_or_pad(image, 160, 160),
                            resolution)


def crop_or_pad_transform(image, resolution, seed=None):
  """compare_gan's LSUN: centre crop/pad to the resolution, no resizing."""
  del seed  # Deterministic.
  return tf.image.resize_with_crop_or_pad(image, resolution, resolution)


def identity_transform(image, resolution, seed=None):
  del resolution, seed  # `fit` does the rest.
  return image


def fit(image, resolution, method, channels):
  """Brings an image to [resolution, resolution, channels].

  "pad" centres the image and zero-pads (or centre-crops a too large side),
  keeping pixels unresampled; "resize" rescales each side (aspect ratio not
  kept); "center_crop" takes the centred square and rescales it.
  """
  if method not in RESIZE_METHODS:
    raise ValueError(f"Unknown resize_method {method!r}; expected one of "
                     f"{RESIZE_METHODS}.")
  if image.shape[:2] != (resolution, resolution):
    if method == "pad":
      image = tf.image.resize_with_crop_or_pad(image, resolution, resolution)
    else:
      if method == "center_crop":
        image = center_square(image)
      image = tf.image.resize(image, [resolution, resolution], antialias=True)
  if image.shape[-1] == 1 and channels == 3:
    image = tf.image.grayscale_to_rgb(image)
  elif image.shape[-1] == 3 and channels == 1:
    image = tf.image.rgb_to_grayscale(image)
  image.set_shape([resolution, resolution, channels])
  return image
