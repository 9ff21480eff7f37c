"""Linear / conv / transposed-conv layers with optional SN, and resampling.

The layers follow compare_gan's arch_ops: kernels are [in, out] and
[kh, kw, in, out] ([kh, kw, out, in] for the transposed conv), SAME padding,
gin-selected kernel init, biases start at `bias_start` (0). Variables stay
float32 and are cast to the layer's compute dtype in `call`, so a
mixed-precision policy computes in bf16/fp16 while spectral norm stays float32.
"""

import math

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import initializers
from compare_ssgan.architectures import spectral_norm


class BuildsOnFirstCall:
  """Mixin for composite layers whose sublayers build on the first call.

  Without a build() of its own, Keras would trace call() symbolically once
  just to create the sublayers' variables, doubling the first call's cost.
  """

  def build(self, input_shape):
    del input_shape


def checkpoint_as_attributes(owner, layers):
  """Makes each layer an attribute of `owner`, named after the layer.

  Keras 3 wraps list / dict attributes in its own containers, which
  tf.train.Checkpoint does not follow; layers kept only in a list would be
  silently left out of checkpoints. Named attributes are checkpointed.
  """
  for layer in layers:
    setattr(owner, layer.name, layer)


class _KernelLayer(keras.layers.Layer):
  """Owns a kernel (optionally spectrally normalized) and an optional bias."""

  def __init__(self, use_bias=True, use_sn=False, bias_start=0.0,
               kernel_initializer=None, **kwargs):
    super().__init__(**kwargs)
    self.use_bias = use_bias
    self.use_sn = use_sn
    self.bias_start = bias_start
    # Resolved now so the gin binding in force at construction is the one used.
    self._kernel_initializer = (kernel_initializer or
                                initializers.weight_initializer())
    self.sn = spectral_norm.make_spectral_norm() if use_sn else None

  def _add_variables(self, kernel_shape, bias_size):
    self.kernel = self.add_weight(
        name="kernel", shape=kernel_shape,
        initializer=self._kernel_initializer, autocast=False)
    if self.use_bias:
      self.bias = self.add_weight(
          name="bias", shape=(bias_size,),
          initializer=keras.initializers.Constant(self.bias_start),
          autocast=False)

  def normalized_kernel(self):
    """Kernel (W / sigma when use_sn) in the compute dtype."""
    w = self.sn(self.kernel) if self.use_sn else self.kernel
    return tf.cast(w, self.compute_dtype)

  def _maybe_add_bias(self, outputs):
    if not self.use_bias:
      return outputs
    return tf.nn.bias_add(outputs, tf.cast(self.bias, self.compute_dtype))


class Dense(_KernelLayer):
  """compare_gan's `linear`: x @ W (+ b)."""

  def __init__(self, units, **kwargs):
    super().__init__(**kwargs)
    self.units = units

  def build(self, input_shape):
    self._add_variables((int(input_shape[-1]), self.units), self.units)

  def call(self, x):
    x = tf.cast(x, self.compute_dtype)
    return self._maybe_add_bias(tf.matmul(x, self.normalized_kernel()))


class FeatureMapDense(Dense):
  """A generator's first layer: x @ W (+ b) reshaped to an [N, H, W, C] map."""

  def __init__(self, map_shape, **kwargs):
    super().__init__(math.prod(map_shape), **kwargs)
    self.map_shape = tuple(map_shape)

  def call(self, x):
    return tf.reshape(super().call(x), (-1,) + self.map_shape)


class Conv2D(_KernelLayer):
  """compare_gan's `conv2d`: square kernel, stride, SAME padding."""

  def __init__(self, filters, kernel_size=3, strides=1, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides

  def build(self, input_shape):
    k = self.kernel_size
    self._add_variables((k, k, int(input_shape[-1]), self.filters),
                        self.filters)

  def call(self, x):
    x = tf.cast(x, self.compute_dtype)
    y = tf.nn.conv2d(x, self.normalized_kernel(), self.strides, "SAME")
    return self._maybe_add_bias(y)


class Conv2DTranspose(_KernelLayer):
  """compare_gan's `deconv2d`: output is `strides` times larger, SAME padding.

  The kernel is [kh, kw, out, in], so spectral norm sees it as the matrix
  [kh*kw*out, in], exactly as compare_gan does.
  """

  def __init__(self, filters, kernel_size=4, strides=2, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides

  def build(self, input_shape):
    k = self.kernel_size
    self._add_variables((k, k, self.filters, int(input_shape[-1])),
                        self.filters)

  def call(self, x):
    x = tf.cast(x, self.compute_dtype)
    s = self.strides
    out_shape = [tf.shape(x)[0], x.shape[1] * s, x.shape[2] * s, self.filters]
    y = tf.nn.conv2d_transpose(x, self.normalized_kernel(), out_shape, s,
                               "SAME")
    return self._maybe_add_bias(y)


def unpool(x):
  """Zero-insertion ("bed-of-nails") 2x unpooling, compare_gan's default.

  Each input pixel lands in the top-left corner of its 2x2 output cell; the
  other three are zeros.

  Args:
    x: [N, H, W, C] tensor with static H, W, C.

  Returns:
    [N, 2H, 2W, C] tensor.
  """
  _, h, w, c = x.shape
  x = tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=3), [-1, h, 2 * w, c])
  return tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=2),
                    [-1, 2 * h, 2 * w, c])


class Upsample(keras.layers.Layer):
  """2x upsampling: "zero_insertion" (compare_gan), "nearest" or "bilinear".

  "bilinear" uses half-pixel centres, as PyTorch's
  `interpolate(mode="bilinear", align_corners=False)` (torch-mimicry's G).
  """

  def __init__(self, method, **kwargs):
    super().__init__(**kwargs)
    validate.choice("upsample.method", method,
                    ("zero_insertion", "nearest", "bilinear"))
    self.method = method

  def call(self, x):
    if self.method == "zero_insertion":
      return unpool(x)
    if self.method == "bilinear":
      _, h, w, _ = x.shape
      return tf.cast(tf.image.resize(x, [2 * h, 2 * w], "bilinear"), x.dtype)
    return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


@gin.configurable("upsample", allowlist=["method"])
def make_upsample(method="zero_insertion", name="upsample"):
  """The generators' 2x upsampling layer; gin `upsample.method`."""
  return Upsample(method, name=name)


def downsample(x):
  """2x2 average pool, stride 2, SAME padding (ResNet discriminators)."""
  return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")
