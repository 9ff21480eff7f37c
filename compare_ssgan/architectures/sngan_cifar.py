"""SN-GAN's CIFAR-10 ResNet as torch-mimicry builds it (its SNGAN-32 / SSGAN-32).

The same work as mimicry's networks, for like-for-like comparisons; resnet_cifar
is compare_gan's reading of the same paper table (3x3 shortcut convs, a ReLU on
the image, mean pooling). Here every shortcut is SN-GAN's: a 1x1 conv where the
block changes width or size, the identity elsewhere (D's last two blocks). D's
first block is SN-GAN's "optimized" block (no ReLU on the image; its shortcut
average-pools, then applies the 1x1 conv) and D sums over H, W. G ends in tanh,
mapped to [0, 1] like every G here, and D's first block maps its [0, 1] input
back to [-1, 1], mimicry's image range: G -> D computes mimicry's function.

At the default widths G has 4,276,739 parameters with BN (4,273,155 without)
and D 1,053,825 without projection, as mimicry's. Pair it with
`upsample.method = "bilinear"` for mimicry's upsampling
(gin_configs/ssgan_paper/cifar10_uncond_sngan.gin).
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks

_NUM_G_BLOCKS = 3
_SHORTCUT = "identity_or_conv1x1"


@gin.configurable("sngan_cifar.Generator", allowlist=["ch"])
class Generator(resnet_blocks.ResNetGenerator):
  """fc -> 4x4xch -> 3 up blocks (ch -> ch) -> norm, ReLU, conv3x3, tanh.

  Args:
    ch: Channels of every block (mimicry's ngf, 256).
    **kwargs: image_shape, z_dim, num_classes and `G` options.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=256, **kwargs):
    validate.integer("sngan_cifar.Generator.ch", ch, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    base.check_size(self.image_shape, 32, "sngan_cifar")
    sn = self.spectral_norm
    self.add_latent_layers((4, 4, ch), _NUM_G_BLOCKS, fc_use_sn=sn)
    self.blocks = [
        resnet_blocks.ResNetBlock(ch, ch, "up", self.norm, use_sn=sn,
                                  shortcut=_SHORTCUT, name=f"B{i + 1}")
        for i in range(_NUM_G_BLOCKS)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.final_norm = self.norm(ch, "final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, use_sn=sn,
                                 name="final_conv")

  def output_activation(self, x):
    return (tf.nn.tanh(x) + 1.0) / 2.0


class OptimizedBlock(ops.BuildsOnFirstCall, keras.layers.Layer):
  """SN-GAN's first D block, on images in [0, 1].

  Main path: conv3x3 -> norm -> ReLU -> conv3x3 -> 2x2 average pool; shortcut:
  average pool -> conv1x1. The images are first mapped to [-1, 1] (mimicry's
  range); there is no activation before the first conv.
  """

  def __init__(self, out_channels, norm_fn, use_sn, **kwargs):
    super().__init__(**kwargs)
    self.conv1 = ops.Conv2D(out_channels, 3, use_sn=use_sn, name="same_conv1")
    self.bn1 = norm_fn(out_channels, "bn1")
    self.conv2 = ops.Conv2D(out_channels, 3, use_sn=use_sn, name="down_conv2")
    self.shortcut = ops.Conv2D(out_channels, 1, use_sn=use_sn,
                               name="down_conv_shortcut")

  def call(self, x, training=False):
    x = 2.0 * x - 1.0
    h = tf.nn.relu(self.bn1(self.conv1(x), training=training))
    h = ops.downsample(self.conv2(h))
    return h + self.shortcut(ops.downsample(x))


@gin.configurable("sngan_cifar.Discriminator",
                  allowlist=["ch", "project_y", "shortcut_after_relu"])
class Discriminator(resnet_blocks.ResNetDiscriminator):
  """Optimized down block, down block, 2 plain blocks -> ReLU -> sum pool -> fc.

  Args:
    ch: Channels of every block (mimicry's ndf, 128); also h's size.
    project_y: Projection term when conditional (mimicry's SNGAN-32 is
      unconditional).
    shortcut_after_relu: Blocks 2-4 add relu(x), not x (or the 1x1 conv of
      relu(x)), to their residual: torch-mimicry's DBlock applies its first
      ReLU in place to the block input, which its shortcut then reads. SN-GAN's
      own code adds x (the default).
    **kwargs: image_shape, num_classes and `D` options.
  """

  def __init__(self, image_shape, num_classes=0, ch=128, project_y=False,
               shortcut_after_relu=False, **kwargs):
    validate.integer("sngan_cifar.Discriminator.ch", ch, minimum=1)
    validate.boolean("sngan_cifar.Discriminator.shortcut_after_relu",
                     shortcut_after_relu)
    super().__init__(image_shape, num_classes, project_y=project_y,
                     sum_pool=True, **kwargs)
    base.check_size(self.image_shape, 32, "sngan_cifar")
    sn = self.spectral_norm
    self.blocks = [OptimizedBlock(ch, self.norm, sn, name="B1")] + [
        resnet_blocks.ResNetBlock(ch, ch, "down" if i == 2 else "none",
                                  self.norm, use_sn=sn, shortcut=_SHORTCUT,
                                  shortcut_after_relu=shortcut_after_relu,
                                  name=f"B{i}")
        for i in (2, 3, 4)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.build_head(ch)
