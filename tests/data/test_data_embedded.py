"""The packaged Fashion-MNIST test split loads offline, split as documented."""
import gzip
import os

import numpy as np

from compare_ssgan.data import datasets
from compare_ssgan.data import local_sources


def _raw_t10k():
  """Independent read of the embedded files (IDX headers are 16 / 8 bytes)."""
  with gzip.open(os.path.join(local_sources.EMBEDDED_DIR,
                              "t10k-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
  with gzip.open(os.path.join(local_sources.EMBEDDED_DIR,
                              "t10k-labels-idx1-ubyte.gz")) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
  return images, labels


def test_embedded_is_the_default_and_declares_its_split():
  ds = datasets.get_dataset()
  assert ds.name == "fashion_mnist_embedded"
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (32, 32, 1), 10, 2000)
  assert len(ds.train_examples) == 8000
  assert len(ds.eval_examples) == 2000
  for name in ("LICENSE", "README.md"):
    assert os.path.exists(os.path.join(local_sources.EMBEDDED_DIR, name))


def _examples(images, labels):
  """Order-free view: sorted (label, uint8 image bytes) pairs."""
  return sorted((int(l), x.tobytes()) for x, l in zip(images, labels))


def test_eval_is_last_2000_padded():
  images, labels = _raw_t10k()
  ds = datasets.get_dataset("fashion_mnist_embedded")
  batches = list(ds.eval_dataset(batch_size=1000))
  got = np.concatenate([b[0].numpy() for b in batches])
  got_labels = np.concatenate([b[1].numpy() for b in batches])
  assert got.shape == (2000, 32, 32, 1) and got.dtype == np.float32
  got_uint8 = np.rint(got[:, 2:30, 2:30, 0] * 255).astype(np.uint8)
  np.testing.assert_allclose(got_uint8 / 255.0, got[:, 2:30, 2:30, 0],
                             atol=1e-7)
  assert got[:, :2].max() == 0.0 and got[:, :, 30:].max() == 0.0
  assert (_examples(got_uint8, got_labels) ==
          _examples(images[8000:], labels[8000:]))


def test_train_is_first_8000_and_covers_each_once_per_epoch():
  images, labels = _raw_t10k()
  ds = datasets.get_dataset("fashion_mnist_embedded")
  got_labels = np.concatenate(
      [b[1].numpy() for b in ds.train_input_fn(None, 1000, seed=5).take(8)])
  np.testing.assert_array_equal(np.bincount(got_labels, minlength=10),
                                np.bincount(labels[:8000], minlength=10))
  batch, _ = next(iter(ds.train_input_fn(None, 16, seed=5)))
  assert batch.shape == (16, 32, 32, 1)
  assert 0.0 <= batch.numpy().min() and batch.numpy().max() <= 1.0


def test_resize_rescales_instead_of_padding():
  images, _ = _raw_t10k()
  ds = datasets.get_dataset("fashion_mnist_embedded", resize_method="resize")
  got, _ = next(iter(ds.eval_dataset(batch_size=2000)))
  assert got.shape == (2000, 32, 32, 1)
  # Rescaling keeps the mean intensity (padding would scale it by 784/1024).
  np.testing.assert_allclose(got.numpy().mean(), images[8000:].mean() / 255,
                             rtol=0.01)
