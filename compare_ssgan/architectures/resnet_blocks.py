"""ResNet blocks shared by the ResNet generators and discriminators.

Main path: norm -> ReLU -> [up] conv3x3 -> norm -> ReLU -> conv3x3 -> [down].
Upsampling ("up", generators) happens before the first conv; downsampling
("down", discriminators) is a 2x2 average pool after the second conv. The
shortcut conv is resampled the same way (up before it, down after it).
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan.architectures import ops


class ResNetBlock(ops.BuildsOnFirstCall, keras.layers.Layer):
  """compare_gan's ResNetBlock; by default SN-GAN's block (3x3 conv shortcut).

  Args:
    in_channels: Input channels.
    out_channels: Output channels.
    scale: "up", "down" or "none".
    norm_fn: `norm_fn(num_channels, name)` -> normalization layer.
    use_sn: Spectral norm on the convs.
    shortcut_kernel_size: Kernel size of the shortcut conv.
    add_shortcut: Whether there is a skip connection at all.
  """

  def __init__(self, in_channels, out_channels, scale, norm_fn, use_sn=False,
               shortcut_kernel_size=3, add_shortcut=True, **kwargs):
    super().__init__(**kwargs)
    if scale not in ("up", "down", "none"):
      raise ValueError(f"scale must be 'up', 'down' or 'none', got {scale!r}.")
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
    self.shortcut = (ops.Conv2D(out_channels, shortcut_kernel_size,
                                use_sn=use_sn, name=prefix + "_conv_shortcut")
                     if add_shortcut else None)
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
    if self.shortcut is None:
      return h
    s = self.shortcut(self._resample(x, before_conv=True))
    return h + self._resample(s, before_conv=False)


@gin.configurable("BigGanResNetBlock", allowlist=["add_shortcut"])
def big_gan_block(in_channels, out_channels, scale, norm_fn, use_sn, name,
                  add_shortcut=True):
  """BigGAN block: 1x1 conv shortcut, optional (the D drops it if in == out)."""
  return ResNetBlock(in_channels, out_channels, scale, norm_fn, use_sn=use_sn,
                     shortcut_kernel_size=1, add_shortcut=add_shortcut,
                     name=name)
