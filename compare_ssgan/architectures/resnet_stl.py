"""ResNet for 48x48 images, SN-GAN paper Table 5 (compare_gan's resnet_stl).

Works for any H, W divisible by 8 (G starts from H/8 x W/8).
"""

import gin

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks


@gin.configurable("resnet_stl.Generator", allowlist=["ch"])
class Generator(resnet_blocks.ResNetGenerator):
  """fc -> (H/8)x(W/8)x8ch -> up blocks 8ch->4ch->2ch->ch -> norm, ReLU, conv.

  As in compare_gan, fc_noise and final_conv never use spectral norm (the
  blocks do when G.spectral_norm); sigmoid output.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=64, **kwargs):
    validate.integer("resnet_stl.Generator.ch", ch, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    seed_h, seed_w = base.downscaled_size(self.image_shape, 8, "resnet_stl")
    self.add_latent_layers((seed_h, seed_w, 8 * ch), 3, fc_use_sn=False)
    self.blocks = [
        resnet_blocks.ResNetBlock(a * ch, b * ch, "up", self.norm,
                                  use_sn=self.spectral_norm, name=f"B{i + 1}")
        for i, (a, b) in enumerate(((8, 4), (4, 2), (2, 1)))]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.final_norm = self.norm(ch, "final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, name="final_conv")


@gin.configurable("resnet_stl.Discriminator", allowlist=["ch", "project_y"])
class Discriminator(resnet_blocks.ResNetDiscriminator):
  """B0 colors->ch, then ch->2ch->4ch->8ch->16ch; all down but the last.

  Then ReLU and a mean pool: h has 16ch values.
  """

  def __init__(self, image_shape, num_classes=0, ch=64, project_y=False,
               **kwargs):
    validate.integer("resnet_stl.Discriminator.ch", ch, minimum=1)
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    base.downscaled_size(self.image_shape, 8, "resnet_stl")
    channels = [self.image_shape[2]] + [m * ch for m in (1, 2, 4, 8, 16)]
    self.blocks = [
        resnet_blocks.ResNetBlock(
            channels[i], channels[i + 1], "down" if i < 4 else "none",
            self.norm, use_sn=self.spectral_norm, name=f"B{i}")
        for i in range(5)]
    ops.checkpoint_as_attributes(self, self.blocks)
    self.build_head(16 * ch)
