"""Weight initializers selectable by gin, as in compare_gan's `weights`."""

import gin
import keras

# compare_gan's linear/conv2d/deconv2d pass stddev=0.02 explicitly, so the
# standard deviation is fixed here rather than exposed as a knob.
_STDDEV = 0.02


@gin.configurable("weights", allowlist=["initializer"])
def weight_initializer(initializer="normal"):
  """Returns a fresh Keras initializer for conv / linear kernels.

  Args:
    initializer: "normal" (N(0, 0.02), compare_gan's default), "truncated"
      (N(0, 0.02) truncated at 2 stddev), "orthogonal" (gain 1) or "glorot"
      (Keras' default Glorot uniform).

  Returns:
    A `keras.initializers.Initializer`.
  """
  if initializer == "normal":
    return keras.initializers.RandomNormal(stddev=_STDDEV)
  if initializer == "truncated":
    return keras.initializers.TruncatedNormal(stddev=_STDDEV)
  if initializer == "orthogonal":
    return keras.initializers.Orthogonal(gain=1.0)
  if initializer == "glorot":
    return keras.initializers.GlorotUniform()
  raise ValueError(
      f"Unknown weights.initializer {initializer!r}; expected one of "
      "'normal', 'truncated', 'orthogonal', 'glorot'.")
