"""Image transforms: fitting to a resolution and compare_gan's crops."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.data import transforms


def _ramp(h, w, c=1):
  """Image whose pixel (y, x) holds y * w + x (all channels), as float32."""
  values = np.arange(h * w, dtype=np.float32).reshape(h, w, 1)
  return tf.constant(np.repeat(values, c, axis=-1))


def test_pad_keeps_pixels_and_zero_border():
  image = tf.ones([28, 28, 1])
  out = transforms.fit(image, 32, "pad", 1).numpy()
  assert out.shape == (32, 32, 1)
  np.testing.assert_array_equal(out[2:30, 2:30], 1.0)
  assert out.sum() == 28 * 28  # The 2-pixel border is zero.


def test_pad_centre_crops_larger_images():
  out = transforms.fit(_ramp(6, 6), 4, "pad", 1).numpy()
  np.testing.assert_array_equal(out, _ramp(6, 6).numpy()[1:5, 1:5])


def test_resize_keeps_constant_images_and_reaches_shape():
  out = transforms.fit(tf.fill([28, 20, 3], 0.25), 32, "resize", 3).numpy()
  assert out.shape == (32, 32, 3)
  np.testing.assert_allclose(out, 0.25, atol=1e-6)


def test_center_crop_takes_centred_square():
  out = transforms.fit(_ramp(4, 8), 4, "center_crop", 1).numpy()
  np.testing.assert_allclose(out, _ramp(4, 8).numpy()[:, 2:6], atol=1e-5)


def test_channel_conversion():
  gray = transforms.fit(tf.fill([4, 4, 1], 0.5), 4, "pad", 3)
  assert gray.shape == (4, 4, 3)
  np.testing.assert_allclose(gray.numpy(), 0.5)
  rgb = tf.constant(np.tile([1.0, 0.0, 0.0], (4, 4, 1)), tf.float32)
  # ITU-R 601 luma weight of red.
  np.testing.assert_allclose(transforms.fit(rgb, 4, "pad", 1).numpy(), 0.2989,
                             atol=1e-3)


def test_unknown_resize_method():
  with pytest.raises(ValueError, match="'stretch'"):
    transforms.fit(tf.ones([4, 4, 1]), 4, "stretch", 1)


def test_compare_gan_resize_is_tf1_kernel_without_half_pixel_centres():
  # TF1 resize_images(align_corners=False) samples source pixel 2*i when
  # halving; half-pixel bilinear would average neighbours instead.
  image = _ramp(4, 4)
  out = transforms.compare_gan_resize(image, 2).numpy()
  np.testing.assert_array_equal(out, image.numpy()[::2, ::2])


def test_imagenet_eval_middle_crop():
  out = transforms.eval_imagenet_transform(_ramp(10, 6), 6).numpy()
  np.testing.assert_array_equal(out, _ramp(10, 6).numpy()[2:8])


def test_imagenet_distorted_crop_is_square_large_and_seeded():
  image = _ramp(40, 60, 3)
  crops = [transforms._imagenet_crop(image, "distorted", tf.constant([7, i]))
           for i in range(20)]
  for crop in crops:
    h, w, c = crop.shape
    assert h == w and c == 3
    # Area range [0.5, 1] of the image; the box is clipped to it.
    assert 0.5 * 40 * 60 - 2 * h <= h * w <= 40 * 40
  again = transforms._imagenet_crop(image, "distorted", tf.constant([7, 0]))
  np.testing.assert_array_equal(again.numpy(), crops[0].numpy())
  assert len({c.shape[0] for c in crops}) > 1  # Seeds matter.
  out = transforms.train_imagenet_transform(image, 16, tf.constant([7, 0]))
  assert out.shape == (16, 16, 3)


def test_imagenet_crop_method_is_gin_configurable():
  gin.bind_parameter("train_imagenet_transform.crop_method", "middle")
  out = transforms.train_imagenet_transform(_ramp(10, 6), 6, None).numpy()
  np.testing.assert_array_equal(out, _ramp(10, 6).numpy()[2:8])
  with pytest.raises(ValueError, match="crop_method 'zoom'"):
    transforms.eval_imagenet_transform(_ramp(4, 4), 4, crop_method="zoom")


def test_celeb_a_and_lsun_transforms():
  face = tf.ones([218, 178, 3])
  assert transforms.celeb_a_transform(face, 64).shape == (64, 64, 3)
  bedroom = transforms.crop_or_pad_transform(_ramp(130, 200), 128).numpy()
  np.testing.assert_array_equal(bedroom, _ramp(130, 200).numpy()[1:129,
                                                                   36:164])
