"""BigGAN (Brock et al., 2018) as re-implemented in compare_gan's resnet_biggan.

Resolutions 32, 64, 128, 256, 512 (square). Differences to resnet_cifar: much
wider, 1x1 shortcuts (none in D blocks with in == out), a shared class
embedding, hierarchical z, self-attention, an unconditional final BN in G,
(tanh + 1) / 2 output, sum pooling in D and no downsampling in D's last block.

128x128, 1000 classes, z_dim=120, G.batch_norm="conditional_batch_norm"
(cBN input = 20-d z chunk + 128-d class embedding), default widths: G has
70,433,988 trainable parameters and D 87,982,370, as in compare_gan. Suggested
attention blocks: 128 px G "B4" / D "B1" (defaults); 256 px z_dim=140, "B5" /
"B2"; 512 px z_dim=160, "B4" / "B3". At 32 px there is no B4, so no attention.
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import attention
from compare_ssgan.architectures import normalization
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import resnet_blocks

_G_MULTIPLIERS = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2),
                  128: (16, 16, 8, 4, 2, 1), 256: (16, 16, 8, 8, 4, 2, 1),
                  512: (16, 16, 8, 8, 4, 2, 1, 1)}
_D_MULTIPLIERS = {32: (2, 2, 2, 2), 64: (2, 4, 8, 16, 16),
                  128: (1, 2, 4, 8, 16, 16), 256: (1, 2, 4, 8, 8, 16, 16),
                  512: (1, 1, 2, 4, 8, 8, 16, 16)}


def _multipliers(table, image_shape):
  h, w, _ = image_shape
  if h != w or h not in table:
    raise ValueError(f"resnet_biggan supports square images of size "
                     f"{sorted(table)}, got image_shape={tuple(image_shape)}.")
  return table[h]


def _add_attention(network, channels, blocks_with_attention, use_sn):
  """Sets network.attention: a NonLocalBlock after each block listed.

  Args:
    network: A ResNet G or D whose `blocks` exist.
    channels: Output channels of each block.
    blocks_with_attention: Comma-separated block names.
    use_sn: Spectral norm in the attention layers.
  """
  wanted = set(blocks_with_attention.split(","))
  network.attention = {
      block.name: attention.NonLocalBlock(
          c, use_sn=use_sn, name=f"{block.name}_non_local_block")
      for block, c in zip(network.blocks, channels) if block.name in wanted}
  ops.checkpoint_as_attributes(network, network.attention.values())


@gin.configurable("resnet_biggan.Generator",
                  allowlist=["ch", "blocks_with_attention", "hierarchical_z",
                             "embed_z", "embed_y", "embed_y_dim",
                             "embed_bias"])
class Generator(resnet_blocks.ResNetGenerator):
  """fc -> 4x4x(m0 ch) -> up blocks (+ attention) -> BN, ReLU, conv3x3.

  Args:
    ch: Channel multiplier (96).
    blocks_with_attention: Comma-separated block names followed by
      self-attention.
    hierarchical_z: Split z into num_blocks + 1 chunks; chunk 0 feeds the fc
      layer and block i is conditioned on [chunk i, embed(y)] (or on chunk i
      alone when unconditional). z_dim must be divisible.
    embed_z: Replace z by a learned linear embedding of the same size.
    embed_y: Use a learned class embedding (shared by all blocks) instead of
      the one-hot y.
    embed_y_dim: Size of that embedding.
    embed_bias: Whether the z / y embeddings have a bias.
    **kwargs: image_shape, z_dim, num_classes and `G` options.
  """

  def __init__(self, image_shape, z_dim=128, num_classes=0, ch=96,
               blocks_with_attention="B4", hierarchical_z=True, embed_z=False,
               embed_y=True, embed_y_dim=128, embed_bias=False, **kwargs):
    validate.integer("resnet_biggan.Generator.ch", ch, minimum=1)
    validate.integer("resnet_biggan.Generator.embed_y_dim", embed_y_dim, minimum=1)
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    mult = _multipliers(_G_MULTIPLIERS, self.image_shape)
    in_ch = [m * ch for m in mult[:-1]]
    out_ch = [m * ch for m in mult[1:]]
    sn = self.spectral_norm
    self.add_latent_layers(
        (4, 4, in_ch[0]), len(in_ch), fc_use_sn=sn,
        hierarchical_z=hierarchical_z, embed_z=embed_z, embed_y=embed_y,
        embed_y_dim=embed_y_dim, use_bias=embed_bias)
    self.blocks = [resnet_blocks.big_gan_block(a, b, "up", self.norm, sn,
                                               name=f"B{i + 1}")
                   for i, (a, b) in enumerate(zip(in_ch, out_ch))]
    ops.checkpoint_as_attributes(self, self.blocks)
    _add_attention(self, out_ch, blocks_with_attention, sn)
    # Always a plain BN here, whatever G.batch_norm says (as in compare_gan).
    self.final_norm = normalization.BatchNorm(out_ch[-1], name="final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, use_sn=sn,
                                 name="final_conv")

  def output_activation(self, x):
    return (tf.nn.tanh(x) + 1.0) / 2.0


@gin.configurable("resnet_biggan.Discriminator",
                  allowlist=["ch", "blocks_with_attention", "project_y"])
class Discriminator(resnet_blocks.ResNetDiscriminator):
  """Down blocks (the last one keeps the size) -> ReLU -> sum pool -> fc.

  Blocks whose input and output widths match have no skip connection. The
  projection embedding is always glorot-normal initialised (compare_gan
  hard-codes it).

  Args:
    ch: Channel multiplier (96).
    blocks_with_attention: Comma-separated block names followed by
      self-attention.
    project_y: Projection term when conditional (compare_gan default on).
    **kwargs: image_shape, num_classes and `D` options.
  """

  def __init__(self, image_shape, num_classes=0, ch=96,
               blocks_with_attention="B1", project_y=True, **kwargs):
    validate.integer("resnet_biggan.Discriminator.ch", ch, minimum=1)
    super().__init__(image_shape, num_classes, project_y=project_y,
                     sum_pool=True, **kwargs)
    out_ch = [m * ch for m in _multipliers(_D_MULTIPLIERS, self.image_shape)]
    in_ch = [self.image_shape[2]] + out_ch[:-1]
    n = len(out_ch)
    self.blocks = [
        resnet_blocks.big_gan_block(
            a, b, "down" if i < n - 1 else "none", self.norm,
            self.spectral_norm, name=f"B{i + 1}", add_shortcut=a != b)
        for i, (a, b) in enumerate(zip(in_ch, out_ch))]
    ops.checkpoint_as_attributes(self, self.blocks)
    _add_attention(self, out_ch, blocks_with_attention, self.spectral_norm)
    self.build_head(out_ch[-1],
                    embedding_initializer=keras.initializers.GlorotNormal())
