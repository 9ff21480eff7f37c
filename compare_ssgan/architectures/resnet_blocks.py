"""ResNet blocks, and the forward passes shared by the ResNet G's and D's.

Main path: norm -> ReLU -> [up] conv3x3 -> norm -> ReLU -> conv3x3 -> [down].
Upsampling ("up", generators) happens before the first conv; downsampling
("down", discriminators) is a 2x2 average pool after the second conv. The
shortcut conv is resampled the same way (up before it, down after it).
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops

# Shortcut kinds -> kernel size of the shortcut conv (None: no conv).
_SHORTCUT_KERNELS = {"conv3x3": 3, "conv1x1": 1, "identity_or_conv1x1": None,
                     "none": None}


@gin.configurable("ResNetBlock", allowlist=["shortcut"])
def configured_shortcut(shortcut="conv3x3"):
  """The shortcut of ResNet blocks built without one (gin `ResNetBlock.shortcut`).

  resnet_cifar and resnet_stl read it; resnet_biggan and sngan_cifar choose
  their own.

  Args:
    shortcut: "conv3x3" (compare_gan's), "conv1x1" (BigGAN's) or
      "identity_or_conv1x1" (SN-GAN's and torch-mimicry's: a 1x1 conv where
      the block changes the width or resamples, the identity otherwise).
  """
  return validate.choice("ResNetBlock.shortcut", shortcut,
                         ("conv3x3", "conv1x1", "identity_or_conv1x1"))


class ResNetBlock(ops.BuildsOnFirstCall, keras.layers.Layer):
  """compare_gan's ResNetBlock; by default with its 3x3 conv shortcut.

  Args:
    in_channels: Input channels.
    out_channels: Output channels.
    scale: "up", "down" or "none".
    norm_fn: `norm_fn(num_channels, name)` -> normalization layer.
    use_sn: Spectral norm on the convs.
    shortcut: One of `configured_shortcut`'s kinds, or "none" (no skip
      connection: BigGAN's D blocks with in == out); None: the gin-configured
      kind.
    shortcut_after_relu: The shortcut takes relu(x) instead of x: what
      torch-mimicry's DBlock computes, because its first ReLU works in place
      on the block input, which its shortcut then reads.
  """

  def __init__(self, in_channels, out_channels, scale, norm_fn, use_sn=False,
               shortcut=None, shortcut_after_relu=False, **kwargs):
    super().__init__(**kwargs)
    if scale not in ("up", "down", "none"):
      raise ValueError(f"scale must be 'up', 'down' or 'none', got {scale!r}.")
    shortcut = configured_shortcut() if shortcut is None else shortcut
    if shortcut not in _SHORTCUT_KERNELS:
      raise ValueError(f"shortcut must be one of {tuple(_SHORTCUT_KERNELS)}, "
                       f"got {shortcut!r}.")
    self.in_channels = in_channels
    self.scale = scale
    prefix = "same" if scale == "none" else scale
    self.bn1 = norm_fn(in_channels, "bn1")
    self.conv1 = ops.Conv2D(out_channels, 3, use_sn=use_sn,
                            name=("up" if scale == "up" else "same") + "_conv1")
    self.bn2 = norm_fn(out_channels, "bn2")
    self.conv2 = ops.Conv2D(
        out_channels, 3, use_sn=use_sn,
        name=("down" if scale == "down" else "same") + "_conv2")
    kernel_size = _SHORTCUT_KERNELS[shortcut]
    if shortcut == "identity_or_conv1x1" and (in_channels != out_channels or
                                              scale != "none"):
      kernel_size = 1
    self.shortcut = (ops.Conv2D(out_channels, kernel_size, use_sn=use_sn,
                                name=prefix + "_conv_shortcut")
                     if kernel_size else None)
    self.has_skip = shortcut != "none"
    self.shortcut_after_relu = shortcut_after_relu
    self.upsample = ops.make_upsample() if scale == "up" else None

  def _resample(self, x, before_conv):
    if before_conv and self.scale == "up":
      return self.upsample(x)
    if not before_conv and self.scale == "down":
      return ops.downsample(x)
    return x

  def call(self, x, z=None, y=None, training=False):
    if x.shape[-1] != self.in_channels:
      raise ValueError(f"{self.name} expects {self.in_channels} input "
                       f"channels, got shape {x.shape}.")
    h = tf.nn.relu(self.bn1(x, z=z, y=y, training=training))
    h = self.conv1(self._resample(h, before_conv=True))
    h = tf.nn.relu(self.bn2(h, z=z, y=y, training=training))
    h = self._resample(self.conv2(h), before_conv=False)
    if not self.has_skip:
      return h
    if self.shortcut_after_relu:
      x = tf.nn.relu(x)
    if self.shortcut is not None:
      x = self._resample(self.shortcut(self._resample(x, before_conv=True)),
                         before_conv=False)
    return h + x


@gin.configurable("BigGanResNetBlock", allowlist=["add_shortcut"])
def big_gan_block(in_channels, out_channels, scale, norm_fn, use_sn, name,
                  add_shortcut=True):
  """BigGAN block: 1x1 conv shortcut, optional (the D drops it if in == out)."""
  return ResNetBlock(in_channels, out_channels, scale, norm_fn, use_sn=use_sn,
                     shortcut="conv1x1" if add_shortcut else "none", name=name)


class ResNetGenerator(base.BaseGenerator):
  """[embed z, y] -> fc_noise -> blocks (+ attention) -> norm, ReLU, conv.

  Subclasses create, in this order (it fixes the seeded initial weights):
  `add_latent_layers(...)` (the z / y embeddings and `fc_noise`), `blocks`,
  optionally `attention` ({block name: layer applied after that block}),
  `final_norm` and `final_conv`, and override `output_activation` unless the
  output is a sigmoid.
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self.attention = {}

  def add_latent_layers(self, seed_shape, num_blocks, fc_use_sn,
                        hierarchical_z=False, embed_z=False, embed_y=False,
                        embed_y_dim=None, **embedding_kwargs):
    """Creates the optional z / y embeddings, then fc_noise: z -> seed_shape.

    Args:
      seed_shape: (H, W, C) of the first feature map.
      num_blocks: Number of G blocks (hierarchical z has num_blocks + 1 chunks).
      fc_use_sn: Spectral norm on fc_noise.
      hierarchical_z: Split z into num_blocks + 1 chunks: chunk 0 feeds
        fc_noise and block i is conditioned on chunk i, and on [chunk i, y]
        when conditional. Needs z_dim divisible by num_blocks + 1.
      embed_z: Replace z by a learned linear embedding of the same size.
      embed_y: Replace the one-hot y by a learned embedding of size
        embed_y_dim (ignored when unconditional).
      embed_y_dim: Size of the y embedding.
      **embedding_kwargs: `ops.Dense` options of the two embeddings.
    """
    if hierarchical_z and self.z_dim % (num_blocks + 1):
      raise ValueError(f"hierarchical_z with {num_blocks} blocks needs z_dim "
                       f"divisible by {num_blocks + 1}, got {self.z_dim}.")
    self.hierarchical_z = hierarchical_z
    self.embed_z = (ops.Dense(self.z_dim, name="embed_z", **embedding_kwargs)
                    if embed_z else None)
    self.embed_y = (ops.Dense(embed_y_dim, name="embed_y", **embedding_kwargs)
                    if embed_y and self.num_classes else None)
    self.fc_noise = ops.FeatureMapDense(seed_shape, use_sn=fc_use_sn,
                                        name="fc_noise")

  def output_activation(self, x):
    return tf.nn.sigmoid(x)

  def _latents_per_block(self, z, y):
    """(fc_noise's z, each block's z, each block's y)."""
    n = len(self.blocks)
    if not self.hierarchical_z:
      return z, [z] * n, [y] * n
    z0, *z_blocks = tf.split(z, n + 1, axis=1)
    y_blocks = ([tf.concat([zi, y], axis=1) for zi in z_blocks]
                if y is not None else [None] * n)
    return z0, z_blocks, y_blocks

  def _generate(self, z, y, training):
    if self.embed_z is not None:
      z = self.embed_z(z)
    if self.embed_y is not None:
      y = self.embed_y(y)
    z0, z_blocks, y_blocks = self._latents_per_block(z, y)
    h = self.fc_noise(z0)
    for block, zi, yi in zip(self.blocks, z_blocks, y_blocks):
      h = block(h, z=zi, y=yi, training=training)
      if block.name in self.attention:
        h = self.attention[block.name](h)
    h = tf.nn.relu(self.final_norm(h, z=z, y=y, training=training))
    return self.output_activation(self.final_conv(h))


class ResNetDiscriminator(base.BaseDiscriminator):
  """Blocks (+ attention) -> ReLU -> pool over H, W (mean; sum if sum_pool).

  Subclasses create `blocks`, optionally `attention` ({block name: layer
  applied after that block}), and the head.
  """

  def __init__(self, *args, sum_pool=False, **kwargs):
    super().__init__(*args, **kwargs)
    self.sum_pool = sum_pool
    self.attention = {}

  def _block_maps(self, x, training):
    """Each block's output (after its attention, if any); ReLU on the last."""
    maps = []
    for block in self.blocks:
      x = block(x, training=training)
      if block.name in self.attention:
        x = self.attention[block.name](x)
      maps.append(x)
    maps[-1] = tf.nn.relu(maps[-1])
    return maps

  def _pool(self, feature_map, training):
    del training
    pool = tf.reduce_sum if self.sum_pool else tf.reduce_mean
    return pool(feature_map, axis=[1, 2])
