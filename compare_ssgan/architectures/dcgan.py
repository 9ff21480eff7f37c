"""A small DCGAN (InfoGAN / CS231n style) that trains in minutes on a CPU.

Meant for small grey-scale demos such as Fashion-MNIST padded to 32x32x1
(works for any H, W divisible by 4, e.g. 28x28). Not compare_gan's dcgan_arch,
which is a 4-deconv 64 px network. At the default ch=32 and 32x32x1, G has
299,745 parameters (z_dim 64) and D 2,131,553; a batch-64 G+D step takes
about 0.15 s on 2 CPU cores.
"""

import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import base
from compare_ssgan.architectures import ops


@gin.configurable("dcgan.Generator", allowlist=["ch"])
class Generator(base.BaseGenerator):
  """fc -> (H/4)x(W/4)x2ch -> deconv4x4/2 ch -> deconv4x4/2 colors.

  Norm + ReLU after the fc and the first deconv; (tanh + 1) / 2 output.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=32, **kwargs):
    validate.integer("dcgan.Generator.ch", ch, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    seed_shape = base.downscaled_size(self.image_shape, 4, "dcgan") + (2 * ch,)
    sn = self.spectral_norm
    self.fc = ops.FeatureMapDense(seed_shape, use_sn=sn, name="fc")
    self.bn1 = self.norm(2 * ch, "bn1")
    self.deconv1 = ops.Conv2DTranspose(ch, 4, 2, use_sn=sn, name="deconv1")
    self.bn2 = self.norm(ch, "bn2")
    self.deconv2 = ops.Conv2DTranspose(self.image_shape[2], 4, 2, use_sn=sn,
                                       name="deconv2")

  def _generate(self, z, y, training):
    h = self.fc(z)
    h = tf.nn.relu(self.bn1(h, z=z, y=y, training=training))
    h = tf.nn.relu(self.bn2(self.deconv1(h), z=z, y=y, training=training))
    return (tf.nn.tanh(self.deconv2(h)) + 1.0) / 2.0


@gin.configurable("dcgan.Discriminator", allowlist=["ch", "project_y"])
class Discriminator(base.BaseDiscriminator):
  """conv4x4/2 ch -> conv4x4/2 2ch -> fc 16ch (= h) -> logit; lrelu(0.2)."""

  pool_is_a_block = True  # h comes from the fc layer, not from pooling conv2.

  def __init__(self, image_shape, num_classes=0, ch=32, project_y=False,
               **kwargs):
    validate.integer("dcgan.Discriminator.ch", ch, minimum=1)
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    s_h, s_w = base.downscaled_size(self.image_shape, 4, "dcgan")
    sn = self.spectral_norm
    self.conv1 = ops.Conv2D(ch, 4, 2, use_sn=sn, name="conv1")
    self.conv2 = ops.Conv2D(2 * ch, 4, 2, use_sn=sn, name="conv2")
    self.bn2 = self.norm(2 * ch, "bn2")
    self.flat_dim = s_h * s_w * 2 * ch
    self.fc = ops.Dense(16 * ch, use_sn=sn, name="fc")
    self.bn3 = self.norm(16 * ch, "bn3")
    self.build_head(16 * ch)

  def _block_maps(self, x, training):
    h1 = tf.nn.leaky_relu(self.conv1(x), alpha=0.2)
    h2 = tf.nn.leaky_relu(self.bn2(self.conv2(h1), training=training), alpha=0.2)
    return [h1, h2]

  def _pool(self, feature_map, training):
    h = self.fc(tf.reshape(feature_map, [-1, self.flat_dim]))
    return tf.nn.leaky_relu(self.bn3(h, training=training), alpha=0.2)
