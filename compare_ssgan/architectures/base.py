"""Generator / discriminator base classes: the interface of every architecture.

Generator: `G(z, y=None, training=False)` -> float32 images [N, H, W, C] in
[0, 1]. Discriminator: `D(x, y=None, training=False)` -> (float32 logits
[N, 1], or [N, patches] with `D.patch_output`, float32 features
[N, feature_dim]). `y` holds int32 class ids [N]; it
is one-hot encoded inside and ignored by unconditional models
(num_classes=0). Under a mixed-precision policy the networks compute in the
policy's dtype and cast their outputs to float32.
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import ops


def _one_hot(y, num_classes, dtype, who):
  """One-hot labels for a conditional model, None for an unconditional one."""
  if num_classes <= 0:
    return None
  if y is None:
    raise ValueError(f"{who} is conditional (num_classes={num_classes}) and "
                     "needs int32 class ids y of shape [N].")
  return tf.one_hot(tf.cast(y, tf.int32), num_classes, dtype=dtype)


def downscaled_size(image_shape, factor, architecture):
  """(H / factor, W / factor): the seed size of a G that upsamples `factor` times."""
  h, w, _ = image_shape
  if h % factor or w % factor:
    raise ValueError(f"{architecture} needs H and W divisible by {factor}, got "
                     f"image_shape={tuple(image_shape)}.")
  return h // factor, w // factor


def check_size(image_shape, size, architecture):
  """Raises unless the images are size x size (architectures built for one size)."""
  if tuple(image_shape[:2]) != (size, size):
    raise ValueError(f"{architecture} supports {size}x{size} images only, got "
                     f"image_shape={tuple(image_shape)}.")


def _check_image_shape(image_shape):
  shape = tuple(int(d) for d in image_shape)
  if len(shape) != 3 or min(shape) <= 0:
    raise ValueError(f"image_shape must be (H, W, C), got {image_shape}.")
  return shape


@gin.configurable("G", allowlist=["batch_norm", "spectral_norm"])
class BaseGenerator(ops.BuildsOnFirstCall, keras.Model):
  """Base generator; subclasses implement `_generate(z, y_onehot, training)`.

  Args:
    image_shape: (H, W, C) of the generated images.
    z_dim: Size of the latent vector z.
    num_classes: Number of classes; 0 means unconditional.
    batch_norm: Normalization of G's hidden layers: "none", "batch_norm",
      "conditional_batch_norm" (needs num_classes > 0) or
      "self_modulated_batch_norm" (modulated by z). compare_gan's default is
      none, but every compare_gan config and the papers use batch norm.
    spectral_norm: Spectral norm on G's weights (where compare_gan uses it).
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0,
               batch_norm="batch_norm", spectral_norm=False, name="generator",
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.image_shape = _check_image_shape(image_shape)
    self.z_dim = int(z_dim)
    self.num_classes = int(num_classes)
    validate.choice("G.batch_norm", batch_norm, normalization.NORMALIZATIONS)
    if batch_norm == "conditional_batch_norm" and self.num_classes <= 0:
      raise ValueError("G.batch_norm='conditional_batch_norm' needs labels, "
                       f"but num_classes={self.num_classes}.")
    self.batch_norm = batch_norm
    self.spectral_norm = validate.boolean("G.spectral_norm", spectral_norm)

  def norm(self, num_channels, name):
    """A new normalization layer of the configured kind."""
    return normalization.make_norm(self.batch_norm, num_channels,
                                   use_sn=self.spectral_norm, name=name)

  def call(self, z, y=None, training=False):
    if z.shape[-1] != self.z_dim:
      raise ValueError(f"{self.name} expects z of shape [N, {self.z_dim}], "
                       f"got {z.shape}.")
    y = _one_hot(y, self.num_classes, self.compute_dtype, self.name)
    z = tf.cast(z, self.compute_dtype)
    return tf.cast(self._generate(z, y, training), tf.float32)

  def build_variables(self):
    """Creates all variables with one inference-mode call on a dummy batch.

    Call it inside `strategy.scope()` before tracing a distributed step
    (variables cannot be created in a replica context). It runs one power
    iteration per spectrally normalized kernel, like any forward call.
    """
    y = tf.zeros([1], tf.int32) if self.num_classes else None
    self(tf.zeros([1, self.z_dim]), y, training=False)


@gin.configurable("D", allowlist=["batch_norm", "spectral_norm", "patch_output"])
class BaseDiscriminator(ops.BuildsOnFirstCall, keras.Model):
  """Base discriminator; subclasses implement `_block_maps(x, training)` (the
  [N, h, w, c] map after each block, in forward order; the last one is the
  final feature map) and `_pool(feature_map, training)` (final map -> h).

  The head is shared: logit = final_fc(h) (+ <embedding_fc(y), h> with
  projection), where h is D's final pre-logit feature vector. Extra heads
  (rotation, contrastive, ...) should consume `features` and mirror
  `self.spectral_norm`; `self.feature_dim` is h's size.

  Args:
    image_shape: (H, W, C) of the input images (values in [0, 1]).
    num_classes: Number of classes; 0 means unconditional.
    project_y: Add the projection term (Miyato & Koyama, 2018) when the model
      is conditional; ignored when num_classes == 0.
    spectral_norm: Spectral norm on every D weight (compare_gan default off).
    batch_norm: "none" (default) or "batch_norm" in D's hidden layers.
    patch_output: PatchGAN-style critic: the logits are a 1x1 conv (no
      final_fc) on the last feature map, flattened to [N, h * w], one output
      per patch; the adversarial losses average over patches. `features` are
      still the pooled h (dcgan's fc then trains only through terms using h).
      Needed by the SimGAN loss (a cosine needs vectors).
  """

  pool_is_a_block = False  # See block_features.

  def __init__(self, image_shape, num_classes=0, project_y=False,
               spectral_norm=False, batch_norm="none", patch_output=False,
               name="discriminator", **kwargs):
    super().__init__(name=name, **kwargs)
    self.image_shape = _check_image_shape(image_shape)
    self.num_classes = int(num_classes)
    self.project_y = bool(project_y) and self.num_classes > 0
    self.spectral_norm = validate.boolean("D.spectral_norm", spectral_norm)
    validate.choice("D.batch_norm", batch_norm, ("none", "batch_norm"))
    self.batch_norm = batch_norm
    validate.boolean("D.patch_output", patch_output)
    if patch_output and self.project_y:
      raise ValueError("D.patch_output=True has no per-patch projection: set the "
                       "architecture's Discriminator.project_y=False (a conditional "
                       "GAN can still condition G).")
    self.patch_output = patch_output
    self.feature_dim = None

  def norm(self, num_channels, name):
    """A new normalization layer of the configured kind."""
    return normalization.make_norm(self.batch_norm, num_channels,
                                   use_sn=self.spectral_norm, name=name)

  def build_head(self, feature_dim, embedding_initializer=None):
    """Creates the logit layer on h (and the projection embedding), or the
    1x1 patch conv on the last feature map with `patch_output`."""
    self.feature_dim = int(feature_dim)
    if self.patch_output:
      self.patch_conv = ops.Conv2D(1, 1, 1, use_sn=self.spectral_norm,
                                   name="patch_conv")
      return
    self.final_fc = ops.Dense(1, use_sn=self.spectral_norm, name="final_fc")
    if self.project_y:
      self.embedding_fc = ops.Dense(
          self.feature_dim, use_bias=False, use_sn=self.spectral_norm,
          kernel_initializer=embedding_initializer, name="embedding_fc")

  def _check_images(self, x):
    if tuple(x.shape[1:]) != self.image_shape:
      raise ValueError(f"{self.name} expects images of shape "
                       f"[N, {', '.join(map(str, self.image_shape))}], got "
                       f"{x.shape}.")

  def _feature_map(self, x, training):
    return self._block_maps(x, training)[-1]

  def call(self, x, y=None, training=False):
    self._check_images(x)
    y = (_one_hot(y, self.num_classes, self.compute_dtype, self.name)
         if self.project_y else None)
    feature_map = self._feature_map(tf.cast(x, self.compute_dtype), training)
    h = self._pool(feature_map, training)
    if self.patch_output:
      patches = self.patch_conv(feature_map)
      logits = tf.reshape(patches, [-1, patches.shape[1] * patches.shape[2]])
    else:
      logits = self.final_fc(h)
    if y is not None:
      logits += tf.reduce_sum(self.embedding_fc(y) * h, axis=1, keepdims=True)
    return tf.cast(logits, tf.float32), tf.cast(h, tf.float32)

  def build_variables(self):
    """Creates all variables with one inference-mode call on a dummy batch."""
    y = tf.zeros([1], tf.int32) if self.num_classes else None
    self(tf.zeros((1,) + self.image_shape), y, training=False)

  def block_features(self, x, grid=1):
    """{"block1": ..., "blockK": ...}: D's features after each block, in forward
    order, in inference mode (training=False), float32 [N, C] (or [N, C * grid^2]).

    Block k < K is its map averaged over H and W (`grid` = 1), or over each cell of a
    grid x grid partition of it (adaptive average pooling, cells of ceil/floor size as
    torch's AdaptiveAvgPool2d), flattened: C * grid^2 features, so that a wide late block
    and a narrow early one can be compared at more equal widths. blockK is h itself, exactly
    the features `D(x)` returns (for dcgan and sndcgan not a spatial average:
    an fc output and the flattened map). With `pool_is_a_block` (dcgan: its
    `_pool` is an fc layer) the last map is a block of its own before h.
    Labels play no part (they only enter the logit). This is the input of the
    representation probe (metrics/probe.py; Chen et al. 2019, section 4.4).
    Spectrally normalised kernels run their power iteration, as in any call.
    """
    self._check_images(x)
    maps = self._block_maps(tf.cast(x, self.compute_dtype), training=False)
    h = self._pool(maps[-1], training=False)
    if not self.pool_is_a_block:
      maps = maps[:-1]  # h is the last map, pooled.
    pooled = [_grid_average(m, grid) for m in maps] + [h]
    return {f"block{k + 1}": tf.cast(f, tf.float32)
            for k, f in enumerate(pooled)}


def _grid_average(feature_map, grid):
  """[N, H, W, C] -> [N, C * grid^2]: the mean of each cell of a grid x grid partition
  (cell i spans rows floor(i H / grid) .. ceil((i + 1) H / grid) - 1, likewise columns)."""
  if grid == 1:
    return tf.reduce_mean(feature_map, axis=[1, 2])
  height, width = feature_map.shape[1], feature_map.shape[2]
  if grid > min(height, width):
    raise ValueError(f"grid={grid} is larger than a {height}x{width} feature map.")
  cells = []
  for i in range(grid):
    rows = slice(i * height // grid, -(-(i + 1) * height // grid))
    for j in range(grid):
      columns = slice(j * width // grid, -(-(j + 1) * width // grid))
      cells.append(tf.reduce_mean(feature_map[:, rows, columns, :], axis=[1, 2]))
  return tf.concat(cells, axis=1)
