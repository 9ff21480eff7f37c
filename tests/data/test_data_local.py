"""Local sources: .npz, IDX, image folders, Debian's Fashion-MNIST."""
import gzip
import os

import numpy as np
from PIL import Image
import pytest

from compare_ssgan.data import datasets
from compare_ssgan.data import image_files


def _first(ds, batch_size=64):
  images, labels = next(iter(ds.eval_dataset(batch_size=batch_size)))
  return images.numpy(), labels.numpy()


def _sorted_by(key, *arrays):
  """`arrays` reordered by ascending `key` (eval reals come permuted)."""
  order = np.argsort(key, kind="stable")
  return [a[order] for a in arrays]


def test_npz_nhw_with_labels(indexed_npz):
  ds = datasets.get_dataset("npz", data_dir=indexed_npz(6))
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (8, 8, 1), 5, 6)
  images, labels = _first(ds)
  assert images.dtype == np.float32 and images.shape == (6, 8, 8, 1)
  images, labels = _sorted_by(images[:, 0, 0, 0], images, labels)
  np.testing.assert_allclose(images[:, 0, 0, 0], np.arange(6) / 255.0)
  np.testing.assert_array_equal(labels, [0, 1, 2, 3, 4, 0])
  assert labels.dtype == np.int32


def test_npz_rgb_without_labels_and_train_test_dir(tmp_path):
  rng = np.random.RandomState(0)
  train = rng.randint(0, 256, (4, 6, 10, 3), np.uint8)
  test = rng.randint(0, 256, (3, 6, 10, 3), np.uint8)
  np.savez(tmp_path / "train.npz", images=train)
  np.savez(tmp_path / "test.npz", images=test)
  ds = datasets.get_dataset("npz", data_dir=str(tmp_path))
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (10, 10, 3), 0, 3)
  images, labels = _first(ds)
  got = sorted(x.tobytes() for x in images[:, 2:8])
  assert got == sorted((x / 255.0).astype(np.float32).tobytes() for x in test)
  assert images[:, :2].max() == 0.0  # Padded rows.
  np.testing.assert_array_equal(labels, 0)
  train_images, train_labels = next(iter(ds.train_input_fn(None, 4, seed=1)))
  got = sorted(x.tobytes() for x in train_images.numpy()[:, 2:8])
  assert got == sorted((x / 255.0).astype(np.float32).tobytes() for x in train)
  np.testing.assert_array_equal(train_labels, 0)


def test_pad_versus_resize(indexed_npz):
  path = indexed_npz(3)
  padded, _ = _first(datasets.get_dataset("npz", data_dir=path, resolution=12))
  resized, _ = _first(datasets.get_dataset("npz", data_dir=path, resolution=12,
                                           resize_method="resize"))
  padded, resized = _sorted_by(resized[:, 5, 5, 0], padded, resized)
  np.testing.assert_allclose(padded[2, 2:10, 2:10], 2 / 255.0)
  assert padded[2, :2].max() == 0.0 and padded[2, :, 10:].max() == 0.0
  np.testing.assert_allclose(resized[2], 2 / 255.0, atol=1e-6)  # No border.
  rgb, _ = _first(datasets.get_dataset("npz", data_dir=path, num_channels=3))
  assert rgb.shape == (3, 8, 8, 3)


def test_npz_without_images_names_file(tmp_path):
  path = tmp_path / "bad.npz"
  np.savez(path, pictures=np.zeros((2, 4, 4), np.uint8))
  with pytest.raises(ValueError, match="no 'images'") as e:
    datasets.get_dataset("npz", data_dir=str(path))
  assert str(path) in str(e.value) and "pictures" in str(e.value)


@pytest.mark.parametrize("name", ["npz", "idx", "image_folder"])
def test_missing_path_names_path(tmp_path, name):
  missing = str(tmp_path / "nowhere")
  with pytest.raises(FileNotFoundError, match="expected") as e:
    datasets.get_dataset(name, data_dir=missing)
  assert missing in str(e.value)
  with pytest.raises(ValueError, match="needs dataset.data_dir"):
    datasets.get_dataset(name)


def test_npz_3d_array_of_one_rgb_image_is_refused_saying_how_to_write_it(tmp_path):
  path = tmp_path / "one.npz"
  np.savez(path, images=np.zeros((32, 32, 3), np.uint8))
  with pytest.raises(ValueError, match=r"\(32, 32, 3\) is ambiguous") as e:
    datasets.get_dataset("npz", data_dir=str(path))
  assert str(path) in str(e.value) and "images[None]" in str(e.value)


def test_npz_dir_without_train_part(tmp_path):
  with pytest.raises(FileNotFoundError, match="train.npz") as e:
    datasets.get_dataset("npz", data_dir=str(tmp_path))
  assert str(tmp_path) in str(e.value)


def test_idx_directory_layout(tmp_path, write_idx):
  rng = np.random.RandomState(1)
  train = rng.randint(0, 256, (7, 5, 5), np.uint8)
  test = rng.randint(0, 256, (2, 5, 5), np.uint8)
  write_idx(tmp_path / "train-images-idx3-ubyte.gz", train)
  write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(7) % 3)
  write_idx(tmp_path / "t10k-images-idx3-ubyte", test)
  write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([2, 1]))
  ds = datasets.get_dataset("idx", data_dir=str(tmp_path), resolution=7)
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (7, 7, 1), 3, 2)
  images, labels = _sorted_by(-_first(ds)[1], *_first(ds))
  np.testing.assert_allclose(images[:, 1:6, 1:6, 0], test / 255.0, atol=1e-7)
  np.testing.assert_array_equal(labels, [2, 1])
  _, train_labels = next(iter(ds.train_input_fn(None, 7, seed=3)))
  assert sorted(train_labels.numpy()) == sorted(np.arange(7) % 3)


def test_idx_single_unlabelled_file(tmp_path, write_idx):
  path = write_idx(tmp_path / "x-images-idx3-ubyte", np.ones((3, 4, 4)))
  ds = datasets.get_dataset("idx", data_dir=path)
  assert ds.num_classes == 0 and ds.eval_num_examples == 3


def test_image_folder_with_classes_and_split(tmp_path, write_png):
  for split, count in (("train", 3), ("test", 2)):
    for c, cls in enumerate(["cat", "dog"]):
      for i in range(count):
        write_png(tmp_path / split / cls / f"{i}.png",
                  np.full((6, 4, 3), 10 * c + i, np.uint8))
  ds = datasets.get_dataset("image_folder", data_dir=str(tmp_path))
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (6, 6, 3), 2, 4)
  images, labels = _first(ds)
  images, labels = _sorted_by(images.max((1, 2, 3)), images, labels)
  np.testing.assert_array_equal(labels, [0, 0, 1, 1])
  np.testing.assert_allclose(images[:, :, 1:5, :].reshape(4, -1).max(1),
                             np.array([0, 1, 10, 11]) / 255.0)
  _, train_labels = next(iter(ds.train_input_fn(None, 6, seed=0)))
  assert sorted(train_labels.numpy()) == [0, 0, 0, 1, 1, 1]


def test_image_folder_flat_gray_to_rgb(tmp_path, write_png):
  for i in range(3):
    write_png(tmp_path / f"{i}.png", np.full((5, 5, 1), 100, np.uint8))
  ds = datasets.get_dataset("image_folder", data_dir=str(tmp_path),
                            num_channels=3, resolution=8,
                            resize_method="center_crop")
  assert ds.num_classes == 0 and ds.image_shape == (8, 8, 3)
  images, labels = _first(ds)
  np.testing.assert_allclose(images, 100 / 255.0, atol=1e-6)
  np.testing.assert_array_equal(labels, 0)


def test_image_folder_bad_layouts(tmp_path, write_png):
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="empty"):
    datasets.get_dataset("image_folder", data_dir=str(tmp_path / "empty"))
  write_png(tmp_path / "mixed" / "a.png", np.zeros((2, 2, 1), np.uint8))
  write_png(tmp_path / "mixed" / "cls" / "b.png", np.zeros((2, 2, 1), np.uint8))
  with pytest.raises(ValueError, match="mixes") as e:
    datasets.get_dataset("image_folder", data_dir=str(tmp_path / "mixed"))
  assert "mixed" in str(e.value)



def _warnings(caplog):
  return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def _folder_with_bad_files(folder, write_png):
  """3 good PNGs, then random bytes and a PNG cut short, both named .png."""
  for i in range(3):
    write_png(folder / f"{i}.png", np.full((4, 4, 3), 50 * i, np.uint8))
  (folder / "x_random.png").write_bytes(
      np.random.RandomState(0).bytes(100))
  png = (folder / "0.png").read_bytes()
  (folder / "y_truncated.png").write_bytes(png[:-6])  # Mid-IEND: load() passes.


def test_image_folder_undecodable_files_are_named_before_training(
    tmp_path, write_png):
  _folder_with_bad_files(tmp_path, write_png)
  with pytest.raises(ValueError, match="2 of 5 files cannot be decoded") as e:
    datasets.get_dataset("image_folder", data_dir=str(tmp_path))
  for named in ("x_random.png", "y_truncated.png",
                "dataset.skip_undecodable_images"):
    assert named in str(e.value)


def test_image_folder_skips_undecodable_files_by_flag(tmp_path, write_png,
                                                      caplog):
  _folder_with_bad_files(tmp_path, write_png)
  ds = datasets.get_dataset("image_folder", data_dir=str(tmp_path),
                            skip_undecodable_images=True)
  assert len(ds.train_examples) == 3 and ds.eval_num_examples == 3
  kept = {os.path.basename(p) for p in ds.train_examples.raw.astype(str)}
  assert kept == {"0.png", "1.png", "2.png"}
  (warning,) = _warnings(caplog)
  assert "2 of 5" in warning and "x_random.png" in warning
  images, _ = next(iter(ds.train_input_fn(None, 6, seed=0)))  # Two epochs.
  assert sorted(np.unique(images.numpy() * 255).round()) == [0, 50, 100]
  with pytest.raises(TypeError, match="skip_undecodable_images.*'yes'"):
    datasets.get_dataset("image_folder", data_dir=str(tmp_path),
                         skip_undecodable_images="yes")
  with pytest.raises(ValueError, match="image_folder only.*'npz'"):
    datasets.get_dataset("npz", data_dir=str(tmp_path),
                         skip_undecodable_images=True)


def test_image_folder_first_gray_others_rgb_is_rgb_said_once(
    tmp_path, write_png, caplog):
  write_png(tmp_path / "0.png", np.full((4, 4, 1), 70, np.uint8))
  rgb = np.random.RandomState(1).randint(0, 256, (2, 4, 4, 3), np.uint8)
  write_png(tmp_path / "1.png", rgb[0])
  write_png(tmp_path / "2.png", np.concatenate(  # Transparent, and wider.
      [np.pad(rgb[1], ((0, 0), (0, 2), (0, 0))),
       np.full((4, 6, 1), 9, np.uint8)], -1))
  ds = datasets.get_dataset("image_folder", data_dir=str(tmp_path))
  assert ds.image_shape == (6, 6, 3)
  (warning,) = _warnings(caplog)
  for said in ("1 grayscale and 2 colour", "replicated to 3 channels",
               "1 images have transparency", "2 different sizes"):
    assert said in warning
  images = np.rint(_first(ds)[0] * 255).astype(np.uint8)
  found = {x.tobytes() for x in images[:, 1:5, 1:5]}  # Inside the padding.
  assert np.full((4, 4, 3), 70, np.uint8).tobytes() in found
  assert rgb[0].tobytes() in found
  assert rgb[1].tobytes() in {x.tobytes() for x in images[:, 1:5, :4]}


def test_image_folder_16_bit_pngs_read_by_their_high_byte(tmp_path):
  """As TF's decoder (libpng) reads them, for training and for the two-set command alike."""
  images = np.random.RandomState(2).randint(0, 65536, (3, 4, 5)).astype(np.uint16)
  images[0, 0, :4] = [255, 256, 32895, 65535]
  for i, image in enumerate(images):
    png = Image.fromarray(image)
    assert png.mode == "I;16"  # A real 16-bit grayscale PNG.
    png.save(tmp_path / f"{i}.png")
  ds = datasets.get_dataset("image_folder", data_dir=str(tmp_path))
  assert ds.image_shape == (5, 5, 1)
  for i, image in enumerate(images):
    path = str(tmp_path / f"{i}.png")
    np.testing.assert_array_equal(ds.decode(path).numpy()[..., 0], image >> 8)
    np.testing.assert_array_equal(image_files.read_uint8(path, channels=1)[..., 0],
                                  image >> 8)
    np.testing.assert_array_equal(image_files.read_uint8(path, channels=3),
                                  np.repeat((image >> 8)[..., None], 3, -1))


_DEBIAN = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.exists(_DEBIAN), reason="needs Debian's "
                    "dataset-fashion-mnist package")
def test_fashion_mnist_local_from_debian():
  ds = datasets.get_dataset("fashion_mnist_local")
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (32, 32, 1), 10, 10000)
  assert len(ds.train_examples) == 60000
  with gzip.open(os.path.join(_DEBIAN, "t10k-images-idx3-ubyte.gz")) as f:
    t10k = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
  images, _ = next(iter(ds.eval_dataset(num_examples=1, batch_size=1)))
  real = np.rint(images[0, 2:30, 2:30, 0].numpy() * 255).astype(np.uint8)
  assert (t10k == real).all(axis=(1, 2)).any()  # A t10k image.
  with pytest.raises(FileNotFoundError, match="/nonexistent/fm"):
    datasets.get_dataset("fashion_mnist_local", data_dir="/nonexistent/fm")
