"""Preprocessing: TF1 legacy bilinear resize and the (x - 128) / 128 range."""

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.metrics import preprocess


def _legacy_bilinear(image, size):
  """The TF1 op's definition in float64: src = dst * in / out, edge-clamped."""
  in_h, in_w = image.shape[:2]
  out = np.zeros((size, size, image.shape[2]))
  for i in range(size):
    y = i * in_h / size
    y0 = int(np.floor(y))
    y1, fy = min(y0 + 1, in_h - 1), y - y0
    for j in range(size):
      x = j * in_w / size
      x0 = int(np.floor(x))
      x1, fx = min(x0 + 1, in_w - 1), x - x0
      top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
      bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
      out[i, j] = top * (1 - fy) + bottom * fy
  return out


def test_resize_is_tf1_legacy_kernel():
  rng = np.random.RandomState(0)
  image = rng.randint(0, 256, (3, 4, 2)).astype(np.float64)
  got = preprocess.resize_bilinear_tf1(image[None].astype(np.float32), 7)[0]
  np.testing.assert_allclose(got.numpy(), _legacy_bilinear(image, 7),
                             atol=1e-4)
  # The half-pixel TF2 resize is a different kernel: the check can fail.
  tf2 = tf.image.resize(image[None], [7, 7], method="bilinear")[0].numpy()
  assert np.abs(tf2 - _legacy_bilinear(image, 7)).max() > 1.0


def test_resize_to_same_size_is_identity():
  x = np.random.RandomState(1).rand(2, 299, 299, 3).astype(np.float32)
  np.testing.assert_array_equal(preprocess.resize_bilinear_tf1(x).numpy(), x)


def test_range_is_x_minus_128_over_128():
  images = np.zeros((1, 299, 299, 3), np.float32)
  images[0, 0, 0] = [0.0, 1.0, 0.5]
  out = preprocess.preprocess_for_inception(images).numpy()
  np.testing.assert_allclose(out[0, 0, 0], [-1.0, 127 / 128, -0.5 / 128],
                             rtol=0, atol=1e-6)


def test_grayscale_is_replicated():
  gray = np.random.RandomState(2).rand(2, 8, 8, 1).astype(np.float32)
  out = preprocess.preprocess_for_inception(gray).numpy()
  rgb = preprocess.preprocess_for_inception(np.repeat(gray, 3, -1)).numpy()
  assert out.shape == (2, 299, 299, 3)
  np.testing.assert_array_equal(out, rgb)


def test_fakes_not_quantized_or_clipped_by_default():
  images = np.full((1, 299, 299, 3), 1.5 / 255.0, np.float32)
  images[0, 0, 0, 0] = 1.2
  out = preprocess.preprocess_for_inception(images).numpy() * 128 + 128
  np.testing.assert_allclose(out[0, 1, 1], 1.5, atol=1e-4)
  np.testing.assert_allclose(out[0, 0, 0, 0], 306.0, atol=1e-3)
  quant = preprocess.preprocess_for_inception(images, quantize=True).numpy()
  quant = quant * 128 + 128
  np.testing.assert_allclose(quant[0, 1, 1], 2.0, atol=1e-4)  # Half to even.
  np.testing.assert_allclose(quant[0, 0, 0, 0], 255.0, atol=1e-4)
  clipped = preprocess.preprocess_for_inception(images, clip=True).numpy()
  np.testing.assert_allclose(clipped[0, 0, 0, 0] * 128 + 128, 255.0, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 8, 8, 2), (8, 8, 3)])
def test_bad_shapes_raise(shape):
  with pytest.raises(ValueError, match="channels|rank"):
    preprocess.preprocess_for_inception(np.zeros(shape, np.float32))
