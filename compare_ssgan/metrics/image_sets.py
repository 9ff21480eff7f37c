r"""Image sets from files, for the two-set command (compare.py): checked up front, read in
batches of float32 RGB in [0, 1].

A set is
- a folder of PNG/JPEG files (read in sorted order, all the same size; every
  file is decoded once up front, and an undecodable one is named). A 16-bit
  PNG is brought to 8 bits as TF's decoder does: each value's high byte
  (x >> 8), as training reads it (`data.image_files`);
- an .npz file: the array named by `file.npz#NAME` (for that file alone) or
  `--key`, else its `images` array (so the project's npz dataset format, with
  `labels`, works), else its only array;
- an .npy file.
Arrays are NHWC with 1 or 3 channels, or NHW (grayscale), uint8 in [0, 255]
or float in [0, 1] (`--float_range=255` declares floats in [0, 255]); a float
set outside its range, or holding NaN or Inf, is refused. A 3-D array whose
last dimension is 1, 3 or 4 is refused as ambiguous: shape (32, 32, 3) could
be one 32x32 RGB image or 32 grayscale images of 32x3. Write one image as
`images[None]` (1, H, W, C) and grayscale images as `images[..., None]`
(N, H, W, 1): a 4-D NHWC array is never misread. A grayscale set is
replicated to 3 channels, as the Inception preprocessing does for the
evaluator's grayscale data, and that is said once on stderr; so is a folder
mixing grayscale and colour files (grayscale ones replicated) or holding
transparency (dropped).
"""
import os
import sys

import numpy as np

from compare_ssgan.data import image_files

_EXTENSIONS = (".png", ".jpg", ".jpeg")
_SCAN_ROWS = 1024  # Images per chunk when checking a float array's values.
FLOAT_RANGES = (1, 255)


def _to_unit_rgb(batch, scale):
  """float32 [b, H, W, 3] in [0, 1] from a [b, H, W, 1 or 3] batch / scale."""
  batch = np.asarray(batch, np.float32)
  if scale != 1:
    batch = batch / scale
  return np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch


def _say_grayscale(name):
  print(f"{name} is grayscale: replicated to 3 channels, as the evaluator's "
        "Inception preprocessing does with grayscale data.", file=sys.stderr)


def _folder_set(path, name, batch_size):
  """(count, batches) of a folder, every file checked up front."""
  files = image_files.inspect_all(sorted(
      os.path.join(path, n) for n in os.listdir(path)
      if n.lower().endswith(_EXTENSIONS)))
  if not files:
    raise ValueError(f"{name} contains no {'/'.join(_EXTENSIONS)} files.")
  problem = image_files.describe_undecodable(files)
  if problem:
    raise ValueError(f"{name}: {problem}.")
  first_of_size = {}
  for f in files:
    first_of_size.setdefault((f.height, f.width), f.path)
  if len(first_of_size) > 1:
    two = list(first_of_size.items())[:2]
    raise ValueError(f"Images in {name} differ in size ("
                     f"{', '.join(f'{p} is {h}x{w}' for (h, w), p in two)}); "
                     "expected one size.")
  channels = 1 if all(f.gray for f in files) else 3
  if channels == 1:
    _say_grayscale(name)
  said = image_files.conversions(files, channels=channels)
  if said:
    print(f"{name} holds {'; '.join(said)}.", file=sys.stderr)

  def batches():
    for start in range(0, len(files), batch_size):
      yield _to_unit_rgb(np.stack([image_files.read_uint8(f.path, channels)
                                   for f in files[start:start + batch_size]]), 255)
  return len(files), batches()


def _npz_header(npz, key):
  """(shape, dtype) of an .npz array, read from its header without its data."""
  with npz.zip.open(f"{key}.npy") as f:
    version = np.lib.format.read_magic(f)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(f)
  return shape, dtype


def _array_source(file_path, key, name):
  """(shape, dtype, load) of an .npy/.npz set's image array (see the module docstring).

  `load()` returns the array: an .npy one memory-mapped, an .npz one read whole, so an
  .npz set is in memory only while it is checked or read.
  """
  if file_path.endswith(".npy"):
    array = np.load(file_path, mmap_mode="r")  # Read batch by batch.
    return array.shape, array.dtype, lambda: array
  with np.load(file_path) as data:
    names = data.files
    if key is None:
      if "images" in names:
        key = "images"
      elif len(names) == 1:
        key = names[0]
      else:
        raise ValueError(f"{name} has no 'images' array and not exactly one "
                         f"array ({names}); name one with --key=NAME or "
                         f"{file_path}#NAME.")
    if key not in names:
      raise ValueError(f"{name} has no array {key!r}; it holds {names}.")
    shape, dtype = _npz_header(data, key)

  def load():
    with np.load(file_path) as data:
      return data[key]
  return shape, dtype, load


def _float_bounds(array, name):
  """(min, max) of a float array, refusing NaN and Inf; scanned in chunks."""
  low, high = np.inf, -np.inf
  for start in range(0, len(array), _SCAN_ROWS):
    chunk = np.asarray(array[start:start + _SCAN_ROWS])
    for bad, found in (("NaN", np.isnan), ("Inf", np.isinf)):
      if found(chunk).any():
        raise ValueError(f"{name} contains {bad} values; expected finite "
                         "images.")
    low, high = min(low, chunk.min()), max(high, chunk.max())
  return low, high


def _split_key(path):
  """(file, array name or None) of `file.npz#NAME` or a plain path."""
  file_path, sep, key = path.rpartition("#")
  if sep and file_path.endswith(".npz"):
    return file_path, key
  return path, None


def locate(path, name):
  """(file, array name or None) of an array set, or (path, None) of a folder; a path
  that is neither, or a missing file, raises naming `name`."""
  if os.path.isdir(path):
    return path, None
  file_path, key = _split_key(path)
  if not file_path.endswith((".npz", ".npy")):
    raise FileNotFoundError(f"{name} is neither a folder nor an .npz or .npy file.")
  if not os.path.isfile(file_path):
    raise FileNotFoundError(f"{name}: no such file ({os.path.abspath(file_path)}).")
  return file_path, key


def _array_set(name, file_path, key, float_range, batch_size):
  """(count, batches) of an .npy/.npz set, its shape and values checked up front."""
  shape, dtype, load = _array_source(file_path, key, name)
  shape = image_files.nhwc_shape(shape, name)
  if not shape[0]:
    raise ValueError(f"{name}: the array holds no images (shape {shape}).")
  if dtype == np.uint8:
    scale = 255
  elif np.issubdtype(dtype, np.floating):
    low, high = _float_bounds(load(), name)
    if low < 0 or high > float_range:
      raise ValueError(
          f"{name}: float images span [{low:g}, {high:g}], outside [0, "
          f"{float_range}]. Floats must be in [0, 1], or in [0, 255] with "
          "--float_range=255 (images in [-1, 1] map to [0, 1] by "
          "(x + 1) / 2).")
    scale = float_range
  else:
    raise ValueError(f"{name}: images must be uint8 or float, got {dtype}.")
  if shape[-1] == 1:
    _say_grayscale(name)

  def batches():
    array = load().reshape(shape)
    for start in range(0, len(array), batch_size):
      yield _to_unit_rgb(array[start:start + batch_size], scale)
  return shape[0], batches()


def image_set(path, batch_size=64, key=None, float_range=1, name=None):
  """(count, iterator of float32 [b, H, W, 3] batches in [0, 1]) for a set.

  The set is checked now; its images are read as the iterator is.

  Args:
    path: a folder, an .npy file, or an .npz file (optionally `file.npz#NAME`).
    batch_size: images per batch.
    key: the .npz array to read when `path` does not name one; None: the
      `images` array, else the only array.
    float_range: 1 or 255, the range [0, float_range] of float arrays.
    name: how messages name the set (default: `path`).
  """
  name = name or path
  check_float_range(float_range)
  file_path, file_key = locate(path, name)
  if os.path.isdir(file_path):
    return _folder_set(file_path, name, batch_size)
  return _array_set(name, file_path, file_key or key, float_range, batch_size)


def check_float_range(float_range):
  if float_range not in FLOAT_RANGES:
    raise ValueError(f"--float_range must be one of {FLOAT_RANGES}; got "
                     f"{float_range!r}.")
