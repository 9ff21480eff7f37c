"""Tests for the primitive layers, resampling and initializers."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.architectures import initializers
from compare_ssgan.architectures import ops


def test_unpool_is_exact_zero_insertion():
  x = np.arange(1, 2 * 3 * 2 * 2 + 1, dtype=np.float32).reshape(2, 3, 2, 2)
  want = np.zeros((2, 6, 4, 2), np.float32)
  want[:, ::2, ::2, :] = x  # Top-left of every 2x2 cell, zeros elsewhere.
  np.testing.assert_array_equal(ops.unpool(tf.constant(x)).numpy(), want)


def test_upsample_default_is_zero_insertion_and_others_are_selectable():
  x = np.random.default_rng(0).normal(size=(1, 2, 3, 2)).astype(np.float32)
  np.testing.assert_array_equal(ops.make_upsample()(x).numpy(),
                                ops.unpool(tf.constant(x)).numpy())
  gin.bind_parameter("upsample.method", "nearest")
  want = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
  np.testing.assert_array_equal(ops.make_upsample()(x).numpy(), want)
  gin.bind_parameter("upsample.method", "bicubic")
  with pytest.raises(ValueError, match="bicubic"):
    ops.make_upsample()


def test_bilinear_upsample_matches_pytorch_half_pixel_centres():
  # torch.nn.functional.interpolate([[1, 2], [3, 4]], scale_factor=2,
  # mode="bilinear", align_corners=False): edges clamp, inner rows 1/4, 3/4.
  gin.bind_parameter("upsample.method", "bilinear")
  x = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1)
  want = np.array([[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5],
                   [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]], np.float32)
  np.testing.assert_allclose(ops.make_upsample()(x).numpy()[0, :, :, 0], want)


def test_downsample_is_2x2_average():
  x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  want = np.array([[2.5, 4.5], [10.5, 12.5]], np.float32).reshape(1, 2, 2, 1)
  np.testing.assert_allclose(ops.downsample(tf.constant(x)).numpy(), want)


def _dense_kernel(units=128, in_dim=256):
  layer = ops.Dense(units)
  layer(tf.zeros([1, in_dim]))
  return layer.kernel.numpy(), layer.bias.numpy()


def test_default_init_is_normal_002_with_zero_bias():
  w, b = _dense_kernel()
  assert abs(w.std() - 0.02) < 0.001
  assert np.abs(w).max() > 0.06  # Not truncated.
  np.testing.assert_array_equal(b, 0.0)


def test_truncated_init():
  gin.bind_parameter("weights.initializer", "truncated")
  w, _ = _dense_kernel()
  assert np.abs(w).max() <= 0.04 + 1e-6
  assert 0.015 < w.std() < 0.02


def test_orthogonal_init():
  gin.bind_parameter("weights.initializer", "orthogonal")
  w, _ = _dense_kernel(units=64, in_dim=128)
  np.testing.assert_allclose(w.T @ w, np.eye(64), atol=1e-5)


def test_glorot_init():
  gin.bind_parameter("weights.initializer", "glorot")
  w, _ = _dense_kernel(units=100, in_dim=200)
  limit = np.sqrt(6.0 / 300)
  assert np.abs(w).max() <= limit
  assert abs(w.std() - limit / np.sqrt(3)) < 0.005


def test_unknown_initializer_raises():
  with pytest.raises(ValueError, match="xavier"):
    initializers.weight_initializer("xavier")


def test_dense_and_conv_match_tf_reference():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
  conv = ops.Conv2D(5, kernel_size=3, strides=2, bias_start=0.5)
  out = conv(x).numpy()
  assert conv.kernel.shape == (3, 3, 3, 5)
  want = tf.nn.conv2d(x, conv.kernel, 2, "SAME").numpy() + 0.5
  np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)

  dense = ops.Dense(4, use_bias=False)
  v = rng.normal(size=(3, 7)).astype(np.float32)
  np.testing.assert_allclose(dense(v).numpy(), v @ dense.kernel.numpy(),
                             rtol=1e-5, atol=1e-6)
  assert not hasattr(dense, "bias")


def test_conv_transpose_shapes():
  deconv = ops.Conv2DTranspose(7, kernel_size=4, strides=2)
  out = deconv(tf.zeros([3, 5, 6, 2]))
  assert out.shape == (3, 10, 12, 7)
  assert deconv.kernel.shape == (4, 4, 7, 2)  # [kh, kw, out, in].
