"""ResNet for 32x32 images, SN-GAN paper Table 4 (compare_gan's resnet_cifar).

At the default widths G has 5,846,019 parameters without BN (5,849,603 with
BN) and D 1,483,137 without projection.
"""

import gin
import tensorflow as tf

from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks

_NUM_G_BLOCKS = 3


def _check_32(image_shape):
  if tuple(image_shape[:2]) != (32, 32):
    raise ValueError(f"resnet_cifar supports 32x32 images only, got "
                     f"image_shape={tuple(image_shape)}.")


@gin.configurable("resnet_cifar.Generator",
                  allowlist=["ch", "hierarchical_z", "embed_z", "embed_y"])
class Generator(base.BaseGenerator):
  """fc -> 4x4xch -> 3 up blocks (ch -> ch) -> norm, ReLU, conv3x3, sigmoid.

  Args:
    ch: Channels of every block (256 in the paper).
    hierarchical_z: Split z into 4 chunks: chunk 0 feeds the fc layer, chunk
      i (concatenated with y when conditional) conditions block i.
    embed_z: Replace z by a learned linear embedding of the same size.
    embed_y: Replace the one-hot y by a learned embedding of size z_dim.
    **kwargs: image_shape, z_dim, num_classes and `G` options.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=256,
               hierarchical_z=False, embed_z=False, embed_y=False, **kwargs):
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    _check_32(self.image_shape)
    if hierarchical_z and self.z_dim % (_NUM_G_BLOCKS + 1):
      raise ValueError(f"hierarchical_z needs z_dim divisible by "
                       f"{_NUM_G_BLOCKS + 1}, got {self.z_dim}.")
    sn = self.spectral_norm
    self.ch = ch
    self.hierarchical_z = hierarchical_z
    self.embed_z = ops.Dense(self.z_dim, use_sn=sn, name="embed_z") if (
        embed_z) else None
    self.embed_y = ops.Dense(self.z_dim, use_sn=sn, name="embed_y") if (
        embed_y and self.num_classes) else None
    self.fc_noise = ops.Dense(4 * 4 * ch, use_sn=sn, name="fc_noise")
    self.blocks = [
        resnet_blocks.ResNetBlock(ch, ch, "up", self.norm, use_sn=sn,
                                  name=f"B{i + 1}")
        for i in range(_NUM_G_BLOCKS)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.final_norm = self.norm(ch, "final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, use_sn=sn,
                                 name="final_conv")

  def _generate(self, z, y, training):
    if self.embed_z is not None:
      z = self.embed_z(z)
    if self.embed_y is not None:
      y = self.embed_y(y)
    n = _NUM_G_BLOCKS
    if self.hierarchical_z:
      z0, *z_blocks = tf.split(z, n + 1, axis=1)
      y_blocks = ([tf.concat([zi, y], axis=1) for zi in z_blocks]
                  if y is not None else [None] * n)
    else:
      z0, z_blocks, y_blocks = z, [z] * n, [y] * n
    h = tf.reshape(self.fc_noise(z0), [-1, 4, 4, self.ch])
    for block, zi, yi in zip(self.blocks, z_blocks, y_blocks):
      h = block(h, z=zi, y=yi, training=training)
    h = tf.nn.relu(self.final_norm(h, z=z, y=y, training=training))
    return tf.nn.sigmoid(self.final_conv(h))


@gin.configurable("resnet_cifar.Discriminator", allowlist=["ch", "project_y"])
class Discriminator(base.BaseDiscriminator):
  """2 down blocks + 2 plain blocks (all ch wide) -> ReLU -> mean pool -> fc.

  Args:
    ch: Channels of every block (128 in the paper); also h's size.
    project_y: Projection term when conditional (compare_gan default off).
    **kwargs: image_shape, num_classes and `D` options.
  """

  def __init__(self, image_shape, num_classes=0, ch=128, project_y=False,
               **kwargs):
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    _check_32(self.image_shape)
    self.blocks = [
        resnet_blocks.ResNetBlock(
            self.image_shape[2] if i == 0 else ch, ch,
            "down" if i < 2 else "none", self.norm,
            use_sn=self.spectral_norm, name=f"B{i + 1}")
        for i in range(4)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.build_head(ch)

  def _feature_map(self, x, training):
    for block in self.blocks:
      x = block(x, training=training)
    return tf.nn.relu(x)

  def _pool(self, feature_map, training):
    del training
    return tf.reduce_mean(feature_map, axis=[1, 2])
