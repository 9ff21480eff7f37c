"""Spectral normalization with compare_gan's semantics (Miyato et al., 2018).

keras.layers.SpectralNormalization is not used: it writes W/sigma back into
the kernel variable and only runs the power iteration in training mode.
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan import validate


class SpectralNorm(keras.layers.Layer):
  """Maps a kernel W to W / sigma(W), with sigma from one power iteration.

  The kernel is viewed as the matrix [prod(all dims but last), last] (for a
  conv that is the transpose of the paper's W). A persistent, non-trainable
  vector u (N(0, 1) init) holds the current singular-vector estimate; every
  forward call (training or not) runs exactly one power iteration, stores the
  new u, and divides by sigma = u^T W v with u, v under stop_gradient. All of
  it runs in float32, whatever the global mixed-precision policy.
  """

  def __init__(self, epsilon=1e-12, singular_value="left", **kwargs):
    kwargs["dtype"] = "float32"
    super().__init__(**kwargs)
    validate.choice("spectral_norm.singular_value", singular_value,
                    ("left", "right", "auto"))
    self.epsilon = epsilon
    self.singular_value = singular_value

  def build(self, kernel_shape):
    if len(kernel_shape) < 2:
      raise ValueError(f"Spectral norm needs a kernel of rank >= 2, got "
                       f"shape {kernel_shape}.")
    rows = int(np.prod(kernel_shape[:-1]))
    cols = int(kernel_shape[-1])
    side = self.singular_value
    if side == "auto":  # Persist the smaller of the two singular vectors.
      side = "left" if rows <= cols else "right"
    self._side = side
    # u is assigned inside the replica context of a distributed step. Every
    # replica computes the same u (it depends on the mirrored weights only),
    # so "only_first_replica" (also used for Keras' optimizer step counter)
    # is exact: replica 0's value is broadcast, no all-reduce, and the copies
    # can never drift apart. It is a valid replica-context update under
    # MirroredStrategy and TPUStrategy alike.
    self.u = self.add_weight(
        name="u_var",
        shape=(rows, 1) if side == "left" else (1, cols),
        initializer=keras.initializers.RandomNormal(stddev=1.0),
        trainable=False,
        autocast=False,
        aggregation="only_first_replica")

  def call(self, kernel):
    kernel = tf.cast(kernel, tf.float32)
    w = tf.reshape(kernel, [-1, kernel.shape[-1]])
    l2n = lambda t: tf.math.l2_normalize(t, axis=None, epsilon=self.epsilon)
    u = tf.convert_to_tensor(self.u)
    if self._side == "left":  # u: [rows, 1], v: [cols, 1].
      v = l2n(tf.matmul(w, u, transpose_a=True))
      u = l2n(tf.matmul(w, v))
    else:  # u: [1, cols], v: [1, rows].
      v = l2n(tf.matmul(u, w, transpose_b=True))
      u = l2n(tf.matmul(v, w))
    self.u.assign(u)
    u = tf.stop_gradient(u)
    v = tf.stop_gradient(v)
    if self._side == "left":
      sigma = tf.matmul(tf.matmul(u, w, transpose_a=True), v)
    else:
      sigma = tf.matmul(tf.matmul(v, w), u, transpose_b=True)
    return kernel / tf.reshape(sigma, [])


@gin.configurable("spectral_norm", allowlist=["epsilon", "singular_value"])
def make_spectral_norm(epsilon=1e-12, singular_value="left",
                       name="spectral_norm"):
  """A SpectralNorm layer with the gin-configured settings.

  Args:
    epsilon: Epsilon of the L2 normalizations.
    singular_value: Which singular vector u persists: "left" ([rows, 1],
      compare_gan's default), "right" ([1, cols]) or "auto" (the smaller).
    name: Layer name.
  """
  validate.number("spectral_norm.epsilon", epsilon, minimum=0, min_inclusive=False)
  return SpectralNorm(epsilon=epsilon, singular_value=singular_value,
                      name=name)
