"""Writers of small files in the formats the local sources read."""
import gzip
import struct

import numpy as np
import pytest
import tensorflow as tf


def _write_idx(path, array, type_code=0x08):
  """Writes `array` as IDX: 00 00 <type> <ndim>, big-endian dims, data."""
  dtype = {0x08: ">u1", 0x0C: ">i4"}[type_code]
  raw = (bytes([0, 0, type_code, array.ndim]) +
         struct.pack(f">{array.ndim}I", *array.shape) +
         np.asarray(array, dtype).tobytes())
  if str(path).endswith(".gz"):
    raw = gzip.compress(raw)
  with open(path, "wb") as f:
    f.write(raw)
  return str(path)


def _write_png(path, image):
  path.parent.mkdir(parents=True, exist_ok=True)
  tf.io.write_file(str(path), tf.io.encode_png(image))


@pytest.fixture
def write_idx():
  return _write_idx


@pytest.fixture
def write_png():
  return _write_png


@pytest.fixture
def indexed_npz(tmp_path):
  """Writes an .npz of n 8x8 gray images whose pixels all equal their index."""
  def make(n, name="data.npz", labels=True):
    images = np.repeat(np.arange(n, dtype=np.uint8), 64).reshape(n, 8, 8)
    arrays = {"images": images}
    if labels:
      arrays["labels"] = np.arange(n) % 5
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)
  return make
