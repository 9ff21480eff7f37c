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

from compare_ssgan.architectures import attention
from compare_ssgan.architectures import base
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


def _attention_layers(block_names, channels, blocks_with_attention, use_sn):
  """{block name: NonLocalBlock} for the blocks listed (comma-separated)."""
  wanted = set(blocks_with_attention.split(","))
  return {name: attention.NonLocalBlock(c, use_sn=use_sn,
                                        name=f"{name}_non_local_block")
          for name, c in zip(block_names, channels) if name in wanted}


@gin.configurable("resnet_biggan.Generator",
                  allowlist=["ch", "blocks_with_attention", "hierarchical_z",
                             "embed_z", "embed_y", "embed_y_dim",
                             "embed_bias"])
class Generator(base.BaseGenerator):
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
    super().__init__(image_shape, z_dim, num_classes, **kwargs)
    mult = _multipliers(_G_MULTIPLIERS, self.image_shape)
    in_ch = [m * ch for m in mult[:-1]]
    out_ch = [m * ch for m in mult[1:]]
    n = len(in_ch)
    if hierarchical_z and self.z_dim % (n + 1):
      raise ValueError(f"hierarchical_z at {self.image_shape[0]} px needs "
                       f"z_dim divisible by {n + 1}, got {self.z_dim}.")
    sn = self.spectral_norm
    self.seed_shape = (4, 4, in_ch[0])
    self.hierarchical_z = hierarchical_z
    self.embed_z = (ops.Dense(self.z_dim, use_bias=embed_bias, name="embed_z")
                    if embed_z else None)
    self.embed_y = (ops.Dense(embed_y_dim, use_bias=embed_bias,
                              name="embed_y")
                    if embed_y and self.num_classes else None)
    self.fc_noise = ops.Dense(16 * in_ch[0], use_sn=sn, name="fc_noise")
    self.blocks = [resnet_blocks.big_gan_block(a, b, "up", self.norm, sn,
                                               name=f"B{i + 1}")
                   for i, (a, b) in enumerate(zip(in_ch, out_ch))]
    self.attention = _attention_layers([b.name for b in self.blocks], out_ch,
                                       blocks_with_attention, sn)
    ops.checkpoint_as_attributes(self, self.blocks)
    ops.checkpoint_as_attributes(self, self.attention.values())
    # Always a plain BN here, whatever G.batch_norm says (as in compare_gan).
    self.final_norm = normalization.BatchNorm(out_ch[-1], name="final_norm")
    self.final_conv = ops.Conv2D(self.image_shape[2], 3, use_sn=sn,
                                 name="final_conv")

  def _generate(self, z, y, training):
    if self.embed_z is not None:
      z = self.embed_z(z)
    if self.embed_y is not None:
      y = self.embed_y(y)
    n = len(self.blocks)
    if self.hierarchical_z:
      z0, *z_blocks = tf.split(z, n + 1, axis=1)
      y_blocks = ([tf.concat([zi, y], axis=1) for zi in z_blocks]
                  if y is not None else [None] * n)
    else:
      z0, z_blocks, y_blocks = z, [z] * n, [y] * n
    h = tf.reshape(self.fc_noise(z0), (-1,) + self.seed_shape)
    for block, zi, yi in zip(self.blocks, z_blocks, y_blocks):
      h = block(h, z=zi, y=yi, training=training)
      if block.name in self.attention:
        h = self.attention[block.name](h)
    h = tf.nn.relu(self.final_norm(h, training=training))
    return (tf.nn.tanh(self.final_conv(h)) + 1.0) / 2.0


@gin.configurable("resnet_biggan.Discriminator",
                  allowlist=["ch", "blocks_with_attention", "project_y"])
class Discriminator(base.BaseDiscriminator):
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
    super().__init__(image_shape, num_classes, project_y=project_y, **kwargs)
    out_ch = [m * ch for m in _multipliers(_D_MULTIPLIERS, self.image_shape)]
    in_ch = [self.image_shape[2]] + out_ch[:-1]
    n = len(out_ch)
    self.blocks = [
        resnet_blocks.big_gan_block(
            a, b, "down" if i < n - 1 else "none", self.norm,
            self.spectral_norm, name=f"B{i + 1}", add_shortcut=a != b)
        for i, (a, b) in enumerate(zip(in_ch, out_ch))]
    self.attention = _attention_layers([b.name for b in self.blocks], out_ch,
                                       blocks_with_attention,
                                       self.spectral_norm)
    ops.checkpoint_as_attributes(self, self.blocks)
    ops.checkpoint_as_attributes(self, self.attention.values())
    self.build_head(out_ch[-1],
                    embedding_initializer=keras.initializers.GlorotNormal())

  def _feature_map(self, x, training):
    for block in self.blocks:
      x = block(x, training=training)
      if block.name in self.attention:
        x = self.attention[block.name](x)
    return tf.nn.relu(x)

  def _pool(self, feature_map, training):
    del training
    return tf.reduce_sum(feature_map, axis=[1, 2])
