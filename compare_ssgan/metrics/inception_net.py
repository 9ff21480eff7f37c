"""Keras 3 re-implementation of the 2015-12-05 Inception graph (TF `pool_3`).

Weights come BN-folded (see `inception_weights`): every conv unit is
Conv2D(+bias) -> ReLU. Layer names are the TorchScript module paths of
fid-helper's `default_1.pt` ('.'-separated; '/'-separated in weight keys).

Quirks kept from the TF graph: stride-2 convs/pools and conv_1/conv_4 are
VALID, every other conv is SAME; the 3x3/s1 average pools exclude padding from
the divisor (TF AvgPool SAME); mixed_10's pool branch is a *max* pool; the head
is an 8x8/s8 average pool. Every layer is pinned to float32 so a global
mixed-precision policy cannot leak in.
"""

import keras
from keras import layers
import numpy as np

from compare_ssgan.metrics.preprocess import INCEPTION_SIZE

POOL_DIM = 2048
NUM_LOGITS = 1008
LOGITS_LAYER = "logits"
_F32 = "float32"


def _conv(x, path, filters, kernel, strides=1, padding="same"):
  return layers.Conv2D(
      filters, kernel, strides=strides, padding=padding, activation="relu",
      dtype=_F32, name=path)(x)


def _max_pool(x, strides=2, padding="valid"):
  return layers.MaxPooling2D(3, strides, padding=padding, dtype=_F32)(x)


def _avg_pool(x):
  return layers.AveragePooling2D(3, 1, padding="same", dtype=_F32)(x)


def _concat(branches):
  return layers.Concatenate(axis=-1, dtype=_F32)(branches)


def _block_a(x, p, pool_filters):
  return _concat([
      _conv(x, f"{p}.conv", 64, 1),
      _conv(_conv(x, f"{p}.tower.conv", 48, 1), f"{p}.tower.conv_1", 64, 5),
      _conv(_conv(_conv(x, f"{p}.tower_1.conv", 64, 1),
                  f"{p}.tower_1.conv_1", 96, 3), f"{p}.tower_1.conv_2", 96, 3),
      _conv(_avg_pool(x), f"{p}.tower_2.conv", pool_filters, 1),
  ])


def _block_b(x, p):
  t = _conv(x, f"{p}.tower.conv", 64, 1)
  t = _conv(t, f"{p}.tower.conv_1", 96, 3)
  t = _conv(t, f"{p}.tower.conv_2", 96, 3, strides=2, padding="valid")
  return _concat([
      _conv(x, f"{p}.conv", 384, 3, strides=2, padding="valid"), t,
      _max_pool(x)])


def _block_c(x, p, c):
  t = _conv(x, f"{p}.tower.conv", c, 1)
  t = _conv(t, f"{p}.tower.conv_1", c, (1, 7))
  t = _conv(t, f"{p}.tower.conv_2", 192, (7, 1))
  u = _conv(x, f"{p}.tower_1.conv", c, 1)
  u = _conv(u, f"{p}.tower_1.conv_1", c, (7, 1))
  u = _conv(u, f"{p}.tower_1.conv_2", c, (1, 7))
  u = _conv(u, f"{p}.tower_1.conv_3", c, (7, 1))
  u = _conv(u, f"{p}.tower_1.conv_4", 192, (1, 7))
  return _concat([_conv(x, f"{p}.conv", 192, 1), t, u,
                  _conv(_avg_pool(x), f"{p}.tower_2.conv", 192, 1)])


def _block_d(x, p):
  t = _conv(x, f"{p}.tower.conv", 192, 1)
  t = _conv(t, f"{p}.tower.conv_1", 320, 3, strides=2, padding="valid")
  u = _conv(x, f"{p}.tower_1.conv", 192, 1)
  u = _conv(u, f"{p}.tower_1.conv_1", 192, (1, 7))
  u = _conv(u, f"{p}.tower_1.conv_2", 192, (7, 1))
  u = _conv(u, f"{p}.tower_1.conv_3", 192, 3, strides=2, padding="valid")
  return _concat([t, u, _max_pool(x)])


def _block_e(x, p, max_pool_branch):
  a = _conv(x, f"{p}.tower_conv", 384, 1)
  b = _conv(_conv(x, f"{p}.tower_1_conv", 448, 1), f"{p}.tower_1_conv_1", 384,
            3)
  pooled = _max_pool(x, 1, "same") if max_pool_branch else _avg_pool(x)
  return _concat([
      _conv(x, f"{p}.conv", 320, 1),
      _conv(a, f"{p}.tower_mixed_conv", 384, (1, 3)),
      _conv(a, f"{p}.tower_mixed_conv_1", 384, (3, 1)),
      _conv(b, f"{p}.tower_1_mixed_conv", 384, (1, 3)),
      _conv(b, f"{p}.tower_1_mixed_conv_1", 384, (3, 1)),
      _conv(pooled, f"{p}.tower_2_conv", 192, 1),
  ])


def _trunk(x):
  x = _conv(x, "conv", 32, 3, strides=2, padding="valid")
  x = _conv(x, "conv_1", 32, 3, padding="valid")
  x = _conv(x, "conv_2", 64, 3)
  x = _max_pool(x)
  x = _conv(x, "conv_3", 80, 1)
  x = _conv(x, "conv_4", 192, 3, padding="valid")
  x = _max_pool(x)
  for name, pool_filters in (("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)):
    x = _block_a(x, name, pool_filters)
  x = _block_b(x, "mixed_3")
  for name, c in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160),
                  ("mixed_7", 192)):
    x = _block_c(x, name, c)
  x = _block_d(x, "mixed_8")
  x = _block_e(x, "mixed_9", max_pool_branch=False)
  x = _block_e(x, "mixed_10", max_pool_branch=True)
  x = layers.AveragePooling2D(8, 8, dtype=_F32, name="pool_3")(x)
  return layers.Flatten(dtype=_F32)(x)


def weight_key(layer_name, kind):
  """Weight-dict key of a layer's 'kernel' or 'bias' ('.' -> '/')."""
  return f"{layer_name.replace('.', '/')}/{kind}"


def fold_batch_norm(kernel_hwio, beta, mean, var, epsilon, gamma=None):
  """Folds inference BN into a conv (float64): returns (kernel, bias) float32.

  y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta; gamma=None means the
  graph's BN has no scale (BatchNormWithGlobalNormalization without
  scale_after_normalization).
  """
  scale = 1.0 / np.sqrt(np.asarray(var, np.float64) + epsilon)
  if gamma is not None:
    scale = scale * np.asarray(gamma, np.float64)
  kernel = np.asarray(kernel_hwio, np.float64) * scale
  bias = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * scale
  return kernel.astype(np.float32), bias.astype(np.float32)


def build_inception(weights=None, with_logits=None):
  """Builds the network, with BN-folded weights if given.

  Args:
    weights: mapping `<torch path with '/'>/{kernel,bias}` -> float32 arrays
      (kernels HWIO) for all 94 convs; optionally `logits/kernel` [2048, 1008]
      and `logits/bias` [1008]. None leaves Keras' random initialisation.
    with_logits: add the `logits` output; default: whether `weights` has
      logit weights.

  Returns:
    A Keras model from float32 [N, 299, 299, 3] (already preprocessed) to a
    dict with `pool_3` [N, 2048] and, with logits, `logits` [N, 1008].

  Raises:
    ValueError: on a missing, unexpected or wrongly shaped weight.
  """
  if with_logits is None:
    with_logits = weights is not None and (
        weight_key(LOGITS_LAYER, "kernel") in weights)
  inputs = keras.Input((INCEPTION_SIZE, INCEPTION_SIZE, 3), dtype=_F32)
  pool = _trunk(inputs)
  outputs = {"pool_3": pool}
  if with_logits:
    outputs["logits"] = layers.Dense(NUM_LOGITS, dtype=_F32,
                                     name=LOGITS_LAYER)(pool)
  model = keras.Model(inputs, outputs, name="inception_2015_12_05")
  if weights is not None:
    _assign(model, weights)
  return model


def _assign(model, weights):
  """Sets every conv/dense layer from `weights`, checking names and shapes."""
  used = set()
  for layer in model.layers:
    if not isinstance(layer, (layers.Conv2D, layers.Dense)):
      continue
    keys = [weight_key(layer.name, "kernel"), weight_key(layer.name, "bias")]
    missing = [k for k in keys if k not in weights]
    if missing:
      raise ValueError(f"Inception weights lack {missing}.")
    for variable, key in zip((layer.kernel, layer.bias), keys):
      if tuple(variable.shape) != tuple(weights[key].shape):
        raise ValueError(
            f"Inception weight {key} has shape {tuple(weights[key].shape)}, "
            f"expected {tuple(variable.shape)}.")
      variable.assign(weights[key].astype("float32"))
    used.update(keys)
  extra = sorted(set(weights) - used)
  if extra:
    raise ValueError(f"Unexpected Inception weights: {extra[:5]}...")

