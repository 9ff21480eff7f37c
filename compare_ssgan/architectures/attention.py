"""SAGAN self-attention ("non-local") block: compare_gan's non_local_block."""

import keras
import tensorflow as tf

from compare_ssgan.architectures import ops


def _max_pool(x):
  return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")


def _flatten_positions(x):
  return tf.reshape(x, [-1, x.shape[1] * x.shape[2], x.shape[3]])


class NonLocalBlock(keras.layers.Layer):
  """out = x + sigma * conv1x1(softmax(theta phi^T) g), sigma initialised to 0.

  theta = conv1x1(x, C/8); phi = maxpool2x2(conv1x1(x, C/8));
  g = maxpool2x2(conv1x1(x, C/2)). No biases; spectral norm on all four convs
  when `use_sn`. The softmax runs in float32.
  """

  def __init__(self, num_channels, use_sn=False, **kwargs):
    super().__init__(**kwargs)
    if num_channels < 8:
      raise ValueError(
          f"Self-attention needs >= 8 channels (C/8 >= 1), got {num_channels}.")
    conv = lambda filters, name: ops.Conv2D(
        filters, kernel_size=1, use_bias=False, use_sn=use_sn, name=name)
    self.theta = conv(num_channels // 8, "conv2d_theta")
    self.phi = conv(num_channels // 8, "conv2d_phi")
    self.g = conv(num_channels // 2, "conv2d_g")
    self.attn_g = conv(num_channels, "conv2d_attn_g")

  def build(self, input_shape):
    del input_shape  # The convs build on the first call.
    self.sigma = self.add_weight(name="sigma", shape=(), initializer="zeros",
                                 autocast=False)

  def call(self, x):
    _, h, w, _ = x.shape
    theta = _flatten_positions(self.theta(x))
    phi = _flatten_positions(_max_pool(self.phi(x)))
    g = _flatten_positions(_max_pool(self.g(x)))
    logits = tf.matmul(theta, phi, transpose_b=True)
    attn = tf.cast(tf.nn.softmax(tf.cast(logits, tf.float32)), g.dtype)
    attn_g = tf.reshape(tf.matmul(attn, g), [-1, h, w, g.shape[-1]])
    o = self.attn_g(attn_g)
    return x + tf.cast(self.sigma, o.dtype) * o
