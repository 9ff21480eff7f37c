"""ResNet for 32x32 images, SN-GAN paper Table 4 (compare_gan's resnet_cifar).

At the default widths G has 5,846,019 parameters without BN (5,849,603 with
BN) and D 1,483,137 without projection. With SN-GAN's shortcuts
(`ResNetBlock.shortcut = "identity_or_conv1x1"`) the counts are SN-GAN's,
4,276,739 with BN and 1,053,825, but the D still applies a ReLU to the image
and mean-pools: sngan_cifar is SN-GAN's network exactly.
"""

import gin

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks

_NUM_G_BLOCKS = 3


@gin.configurable("resnet_cifar.Generator",
                  allowlist=["ch", "hierarchical_z", "embed_z", "embed_y"])
class Generator(resnet_blocks.ResNetGenerator):
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
    validate.integer("resnet_cifar.Generator.ch", ch, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    base.check_size(self.image_shape, 32, "resnet_cifar")
    sn = self.spectral_norm
    self.add_latent_layers(
        (4, 4, ch), _NUM_G_BLOCKS, fc_use_sn=sn, hierarchical_z=hierarchical_z,
        embed_z=embed_z, embed_y=embed_y, embed_y_dim=self.z_dim, use_sn=sn)
    self.blocks = [
        resnet_blocks.ResNetBlock(ch, ch, "up", self.norm, use_sn=sn,
                                  name=f"B{i + 1}")
        for i in range(_NUM_G_BLOCKS)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.final_norm = self.norm(ch, "final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, use_sn=sn,
                                 name="final_conv")


@gin.configurable("resnet_cifar.Discriminator", allowlist=["ch", "project_y"])
class Discriminator(resnet_blocks.ResNetDiscriminator):
  """2 down blocks + 2 plain blocks (all ch wide) -> ReLU -> mean pool -> fc.

  Args:
    ch: Channels of every block (128 in the paper); also h's size.
    project_y: Projection term when conditional (compare_gan default off).
    **kwargs: image_shape, num_classes and `D` options.
  """

  def __init__(self, image_shape, num_classes=0, ch=128, project_y=False,
               **kwargs):
    validate.integer("resnet_cifar.Discriminator.ch", ch, minimum=1)
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    base.check_size(self.image_shape, 32, "resnet_cifar")
    self.blocks = [
        resnet_blocks.ResNetBlock(
            self.image_shape[2] if i == 0 else ch, ch,
            "down" if i < 2 else "none", self.norm,
            use_sn=self.spectral_norm, name=f"B{i + 1}")
        for i in range(4)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.build_head(ch)
