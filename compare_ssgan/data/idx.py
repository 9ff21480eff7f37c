"""Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.

Layout (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code, the
number of dimensions d, d big-endian uint32 sizes, then the row-major data.
"""
import gzip
import struct
import zlib

import numpy as np
import tensorflow as tf

# IDX type code -> big-endian numpy dtype.
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path):
  with tf.io.gfile.GFile(path, "rb") as f:
    raw = f.read()
  if not path.endswith(".gz"):
    return raw
  try:
    return gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as e:
    raise ValueError(
        f"IDX file {path!r} is not a valid gzip file (truncated or corrupt): "
        f"{e}") from e


def read_idx(path):
  """Returns the array in the IDX file `path` (".gz" is decompressed)."""
  data = _read_bytes(path)
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
    raise ValueError(
        f"IDX file {path!r} has a bad magic number {data[:4].hex()!r}: "
        "expected 00 00 <type code in 08,09,0b,0c,0d,0e> <number of dims>.")
  dtype, ndim = _DTYPES[data[2]], data[3]
  header = 4 + 4 * ndim
  if len(data) < header:
    raise ValueError(f"IDX file {path!r} is truncated inside its header "
                     f"({len(data)} bytes, header needs {header}).")
  shape = struct.unpack(f">{ndim}I", data[4:header])
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(data) != expected:
    raise ValueError(
        f"IDX file {path!r} has {len(data)} bytes but its header (shape "
        f"{shape}, {dtype}) needs {expected}: the file is truncated or "
        "corrupt.")
  return np.frombuffer(data, dtype, offset=header).reshape(shape)


def read_idx_images(path):
  """Reads uint8 images [N, H, W] or [N, H, W, C]; returns them as NHWC."""
  images = read_idx(path)
  if images.dtype != np.uint8 or images.ndim not in (3, 4):
    raise ValueError(f"IDX image file {path!r} holds {images.dtype} data of "
                     f"shape {images.shape}; expected uint8 [N, H, W(, C)].")
  return images[..., None] if images.ndim == 3 else images


def read_idx_labels(path, num_images):
  """Reads int labels [N] that must match `num_images`."""
  labels = read_idx(path)
  if labels.ndim != 1 or labels.shape[0] != num_images:
    raise ValueError(f"IDX label file {path!r} has shape {labels.shape}; "
                     f"expected [{num_images}] to match its images.")
  return labels.astype(np.int32)
