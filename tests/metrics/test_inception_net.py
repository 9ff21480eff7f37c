"""Inception structure, weight assignment checks and the float32 pin."""

import keras
import numpy as np
import pytest

from compare_ssgan.metrics import inception_net


@pytest.fixture(scope="module")
def random_weights():
  model = inception_net.build_inception(with_logits=True)
  weights = {}
  for layer in model.layers:
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
      weights[inception_net.weight_key(layer.name, "kernel")] = (
          layer.kernel.numpy() * 0.5)
      weights[inception_net.weight_key(layer.name, "bias")] = (
          np.full(layer.bias.shape, 0.01, np.float32))
  return weights


def test_structure_and_outputs(random_weights):
  model = inception_net.build_inception(random_weights)
  convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
  assert len(convs) == 94
  params = sum(int(np.prod(w.shape)) for w in random_weights.values())
  # TorchScript: 21,802,784 scalars incl. BN mean/var (2 x 17,216 channels)
  # that folding removes; plus 2048 x 1008 + 1008 logits.
  assert params == 21_802_784 - 2 * 17_216 + 2048 * 1008 + 1008
  out = model(np.zeros((1, 299, 299, 3), np.float32))
  assert out["pool_3"].shape == (1, 2048) and out["logits"].shape == (1, 1008)
  np.testing.assert_allclose(
      out["logits"], out["pool_3"].numpy() @ random_weights["logits/kernel"]
      + random_weights["logits/bias"], rtol=1e-4, atol=1e-4)
  kernels = {l.name: tuple(l.kernel.shape) for l in convs}
  assert kernels["mixed_4.tower.conv_1"] == (1, 7, 128, 128)
  assert kernels["mixed_4.tower_1.conv_1"] == (7, 1, 128, 128)
  assert kernels["mixed_10.tower_mixed_conv"] == (1, 3, 384, 384)


def test_weight_mismatches_raise(random_weights):
  missing = dict(random_weights)
  del missing["mixed_5/tower/conv_2/bias"]
  with pytest.raises(ValueError, match="lack .*mixed_5/tower/conv_2/bias"):
    inception_net.build_inception(missing)
  extra = dict(random_weights, **{"mixed_11/conv/kernel": np.zeros(3)})
  with pytest.raises(ValueError, match="Unexpected .*mixed_11"):
    inception_net.build_inception(extra)
  wrong = dict(random_weights)
  wrong["conv/kernel"] = np.zeros((3, 3, 1, 32), np.float32)
  with pytest.raises(ValueError, match=r"conv/kernel has shape \(3, 3, 1, 32"):
    inception_net.build_inception(wrong)


def test_float32_even_under_mixed_precision(random_weights):
  keras.mixed_precision.set_global_policy("mixed_bfloat16")
  try:
    model = inception_net.build_inception(random_weights)
  finally:
    keras.mixed_precision.set_global_policy("float32")
  assert {l.compute_dtype for l in model.layers
          if not isinstance(l, keras.layers.InputLayer)} == {"float32"}
  x = np.random.RandomState(0).uniform(-1, 1, (1, 299, 299, 3))
  reference = inception_net.build_inception(random_weights)
  np.testing.assert_array_equal(model(x)["pool_3"], reference(x)["pool_3"])


def test_fold_batch_norm_matches_unfolded_formula():
  rng = np.random.RandomState(1)
  kernel = rng.randn(1, 1, 3, 2)
  beta, mean, var, gamma = rng.randn(2), rng.randn(2), rng.rand(2) + .1, [2, 3]
  x = rng.randn(5, 3)
  for g in (None, gamma):
    k, b = inception_net.fold_batch_norm(kernel, beta, mean, var, 1e-3, g)
    conv = x @ kernel[0, 0]
    expected = (conv - mean) / np.sqrt(var + 1e-3) * (1 if g is None
                                                      else np.array(g)) + beta
    np.testing.assert_allclose(x @ k[0, 0] + b, expected, rtol=1e-5)
