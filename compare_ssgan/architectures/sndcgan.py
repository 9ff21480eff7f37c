"""SN-DCGAN (Miyato et al., 2018; the GAN-landscape paper's SNDCGAN).

Any H, W divisible by 8. At the default width and 32x32x3 G has 3,811,459
parameters without BN and D 5,860,865; at 128x128x3, 19,662,979 and
5,983,745. G never uses spectral norm on its fc / deconvs (G.spectral_norm
only reaches the cBN / sBN linears); D ignores D.batch_norm, as in compare_gan.
"""

import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops


@gin.configurable("sndcgan.Generator", allowlist=["ch"])
class Generator(base.BaseGenerator):
  """fc -> norm (per unit, on the flat vector) -> 3 deconv4x4/2 -> deconv3x3.

  Channels 8ch -> 4ch -> 2ch -> ch -> colors; (tanh + 1) / 2 output.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=64, **kwargs):
    validate.integer("sndcgan.Generator.ch", ch, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    self.seed_shape = base.downscaled_size(self.image_shape, 8, "sndcgan") + (8 * ch,)
    units = self.seed_shape[0] * self.seed_shape[1] * 8 * ch
    self.g_fc1 = ops.Dense(units, name="g_fc1")
    # compare_gan normalizes the flat fc output, i.e. per unit, not per channel.
    self.g_bn1 = self.norm(units, "g_bn1")
    self.deconvs = [ops.Conv2DTranspose(m * ch, 4, 2, name=f"g_dc{i + 2}")
                    for i, m in enumerate((4, 2, 1))]
    self.norms = [self.norm(m * ch, f"g_bn{i + 2}")
                  for i, m in enumerate((4, 2, 1))]
    ops.checkpoint_as_attributes(self, self.deconvs + self.norms)
    self.g_dc5 = ops.Conv2DTranspose(self.image_shape[2], 3, 1, name="g_dc5")

  def _generate(self, z, y, training):
    h = self.g_fc1(z)
    h = tf.nn.relu(self.g_bn1(h, z=z, y=y, training=training))
    h = tf.reshape(h, (-1,) + self.seed_shape)
    for deconv, norm in zip(self.deconvs, self.norms):
      h = tf.nn.relu(norm(deconv(h), z=z, y=y, training=training))
    return (tf.nn.tanh(self.g_dc5(h)) + 1.0) / 2.0


@gin.configurable("sndcgan.Discriminator", allowlist=["ch", "project_y"])
class Discriminator(base.BaseDiscriminator):
  """7 convs (3x3/1 and 4x4/2 alternating) with lrelu(0.1) -> flatten -> fc.

  The input is rescaled to [-1, 1] first (only this D does that). h is the
  flattened last feature map: (H/8) * (W/8) * 8ch values.
  """

  def __init__(self, image_shape, num_classes=0, ch=64, project_y=False,
               **kwargs):
    validate.integer("sndcgan.Discriminator.ch", ch, minimum=1)
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    s_h, s_w = base.downscaled_size(self.image_shape, 8, "sndcgan")
    layout = ((1, 3, 1), (2, 4, 2), (2, 3, 1), (4, 4, 2), (4, 3, 1),
              (8, 4, 2), (8, 3, 1))  # (channel multiplier, kernel, stride)
    self.convs = [
        ops.Conv2D(m * ch, k, s, use_sn=self.spectral_norm,
                   name=f"d_conv{i + 1}")
        for i, (m, k, s) in enumerate(layout)]
    ops.checkpoint_as_attributes(self, self.convs)
    self.build_head(s_h * s_w * 8 * ch)

  def _block_maps(self, x, training):
    del training
    h = x * 2.0 - 1.0
    maps = []
    for conv in self.convs:
      h = tf.nn.leaky_relu(conv(h), alpha=0.1)
      maps.append(h)
    return maps

  def _pool(self, feature_map, training):
    del training
    return tf.reshape(feature_map, [-1, self.feature_dim])
