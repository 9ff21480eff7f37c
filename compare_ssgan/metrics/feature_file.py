"""pool_3 features on disk: written as they stream in, read back a block at a time.

KID needs every feature of both sets, which in memory would grow with N (80 MB per set
at 10k samples, float32 x 2048). On disk they cost a block's worth of memory: KID reads
one block of each set at a time. The format is a plain .npy (format 1.0, little-endian
float32, C order, [num_samples, dim]), so `np.load` reads it too; paths may be any
tf.io.gfile location (a real-statistics cache on GCS).
"""

import hashlib

import numpy as np
import tensorflow as tf

_DTYPE = np.dtype("<f4")


class Writer:
  """Appends feature batches to a new .npy of `num_samples` rows.

  The header needs the row width, so the file is created at the first batch. `close`
  checks that exactly `num_samples` rows were written.
  """

  def __init__(self, path, num_samples):
    self.path = path
    self.num_samples = num_samples
    self._rows = 0
    self._file = None

  def append(self, features):
    features = np.ascontiguousarray(features, _DTYPE)
    if self._file is None:
      self._file = tf.io.gfile.GFile(self.path, "wb")
      header = {"descr": _DTYPE.str, "fortran_order": False,
                "shape": (self.num_samples, features.shape[1])}
      np.lib.format.write_array_header_1_0(self._file, header)
    if self._rows + len(features) > self.num_samples:
      raise ValueError(f"{self.path}: more than the {self.num_samples} rows announced.")
    self._file.write(features.tobytes())
    self._rows += len(features)

  def close(self):
    if self._rows != self.num_samples:
      self.discard()
      raise ValueError(f"{self.path}: {self._rows} rows written, {self.num_samples} "
                       "announced.")
    self._file.close()
    self._file = None

  def discard(self):
    """Closes and removes a file that will not be completed."""
    if self._file is not None:
      self._file.close()
      self._file = None
    if tf.io.gfile.exists(self.path):
      tf.io.gfile.remove(self.path)


class FeatureFile:
  """Read-only [num_samples, dim] float32 features; `features[a:b]` reads rows a..b-1.

  Has the `shape`, `len` and row slicing KID uses, so KID takes it or an array alike.
  """

  def __init__(self, path):
    self.path = path
    with tf.io.gfile.GFile(path, "rb") as f:
      try:
        version = np.lib.format.read_magic(f)
        if version != (1, 0):
          raise ValueError(f".npy format {version}, expected (1, 0)")
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
      except ValueError as e:
        raise ValueError(f"{path} is not a features file (.npy): {e}.") from e
      self._offset = f.tell()
    if dtype != _DTYPE or fortran_order or len(shape) != 2:
      raise ValueError(f"{path}: {dtype} {shape} (fortran_order={fortran_order}), "
                       "expected C-order float32 [num_samples, dim].")
    self.shape = shape

  def __len__(self):
    return self.shape[0]

  def __getitem__(self, rows):
    if not isinstance(rows, slice) or rows.step not in (None, 1):
      raise TypeError(f"FeatureFile reads contiguous row slices, not {rows!r}.")
    start, stop, _ = rows.indices(len(self))
    count = max(stop - start, 0) * self.shape[1]
    with tf.io.gfile.GFile(self.path, "rb") as f:
      f.seek(self._offset + start * self.shape[1] * _DTYPE.itemsize)
      data = f.read(count * _DTYPE.itemsize)
    if len(data) != count * _DTYPE.itemsize:
      raise ValueError(f"{self.path} is truncated: rows {start}..{stop} not all there.")
    return np.frombuffer(data, _DTYPE).reshape(-1, self.shape[1])


def sha256(path, chunk_bytes=1 << 24):
  """Hex SHA-256 of a file, read in chunks (memory does not grow with its size)."""
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    for chunk in iter(lambda: f.read(chunk_bytes), b""):
      digest.update(chunk)
  return digest.hexdigest()
