"""CIFAR-10 from the official python archive, without TFDS.

`dataset.data_dir` is `cifar-10-python.tar.gz`, its extracted folder
`cifar-10-batches-py/`, or a folder holding either (the extracted folder is
preferred). The archive's members are read straight from the tar, nothing is
extracted to disk. Each of `data_batch_1`..`data_batch_5` (train, 50,000
images) and `test_batch` (eval, 10,000) is a protocol-2 pickle written by
Python 2 of a dict: b"data" uint8 [n, 3072], a row being the 1024 red, then
green, then blue values of a 32x32 row-major image; b"labels" n ints in
0..9; b"batch_label" and b"filenames". `batches.meta` (the class names) is
not needed.

A pickle can run code when it is loaded, so the batches are read by an
unpickler that admits only the globals numpy's array reconstruction needs
and refuses any other before anything runs; the loaded batch is then checked
against the format.

The splits are TFDS cifar10's (train / test, 10 classes, 32x32x3, 10k eval
reals), but the examples are in archive order (data_batch_1..5 in turn),
which is not TFDS's stored order. The train stream is shuffled anyway, and
the eval reals are the first N of the evaluator's fixed permutation of the
test batch (`pipeline.Dataset.eval_order`), so they are the same on every
run; they are not the same images as TFDS cifar10's first N.
"""
import io
import os
import pickle
import posixpath
import tarfile
import zlib

import numpy as np
import tensorflow as tf

from compare_ssgan.data import pipeline

NAME = "cifar10_archive"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
EVAL_NUM_EXAMPLES = 10000  # As TFDS cifar10 (tfds_source.SPECS).
_NUM_CLASSES = 10
_SIDE = 32
_KEYS = (b"batch_label", b"data", b"filenames", b"labels")
_EXPECTED = (f"{ARCHIVE_NAME}, its extracted {FOLDER_NAME}/ folder (with "
             f"{', '.join(TRAIN_BATCHES)} and {TEST_BATCH}) or a folder "
             "holding either")

# numpy's array reconstruction function, whatever module numpy keeps it in.
_RECONSTRUCT = np.ndarray((0,), np.uint8).__reduce__()[0]
# (module, name) -> object: all the globals a CIFAR-10 batch pickle names.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # The originals.
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 2 copies.
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
  """Loads Python 2 pickles, admitting only the globals of `_ALLOWED_GLOBALS`.

  Every global a pickle uses is looked up here before it is called, so a
  refused one stops the load before anything of the pickle runs.
  """

  def __init__(self, file):
    super().__init__(file, encoding="bytes")

  def find_class(self, module, name):
    found = _ALLOWED_GLOBALS.get((module, name))
    if found is None:
      allowed = ", ".join(f"{m}.{n}" for m, n in _ALLOWED_GLOBALS)
      raise pickle.UnpicklingError(
          f"refused the global {module}.{name} before running anything: a "
          f"CIFAR-10 batch needs only {allowed}")
    return found


def _unpickle(raw, source):
  """The object pickled in `raw`; `source` names it in errors."""
  try:
    return _BatchUnpickler(io.BytesIO(raw)).load()
  except Exception as e:  # pylint: disable=broad-except
    # A damaged pickle fails in many ways (EOFError, KeyError, TypeError...).
    raise ValueError(f"{source} is not a readable CIFAR-10 batch pickle: "
                     f"{e}") from e


def _describe(value):
  """A short description of a loaded value for errors: type and size."""
  if isinstance(value, np.ndarray):
    return f"a {value.dtype} array of shape {value.shape}"
  if isinstance(value, (list, tuple, dict)):
    return f"a {type(value).__name__} of length {len(value)}"
  return f"a {type(value).__name__}"


def _check_batch(batch, source):
  """(images uint8 [n, 32, 32, 3], labels int32 [n]) of a loaded batch."""
  if not isinstance(batch, dict) or not set(_KEYS) <= set(batch):
    got = (f"a dict with keys {list(batch)}" if isinstance(batch, dict)
           else _describe(batch))
    raise ValueError(f"{source} holds {got}; expected a dict with keys "
                     f"{list(_KEYS)}.")
  data, labels = batch[b"data"], batch[b"labels"]
  if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or
      data.ndim != 2 or data.shape[1] != 3 * _SIDE * _SIDE):
    raise ValueError(f"{source}: b'data' is {_describe(data)}; expected a "
                     f"uint8 array of shape [n, {3 * _SIDE * _SIDE}].")
  if (not isinstance(labels, list) or len(labels) != len(data) or
      not all(isinstance(l, int) and 0 <= l < _NUM_CLASSES for l in labels)):
    raise ValueError(f"{source}: b'labels' is {_describe(labels)}; expected "
                     f"a list of {len(data)} ints in 0..{_NUM_CLASSES - 1}.")
  images = data.reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1)
  return images, np.asarray(labels, np.int32)


def _read_batch(raw, source):
  return _check_batch(_unpickle(raw, source), source)


def _read_archive(path, names):
  """{name: (images, labels)} of the batches `names` in the .tar.gz `path`.

  The archive is read as a stream, each member as it comes, so at most one
  raw batch is held in memory.
  """
  members = {posixpath.join(FOLDER_NAME, name): name for name in names}
  batches = {}
  try:
    with tf.io.gfile.GFile(path, "rb") as f, tarfile.open(
        fileobj=f, mode="r|gz") as tar:
      for member in tar:
        name = members.get(posixpath.normpath(member.name))
        if name is not None and member.isfile():
          batches[name] = _read_batch(
              tar.extractfile(member).read(),
              f"Archive {path!r} member {member.name!r}")
  except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
    raise ValueError(f"{path!r} is not a readable .tar.gz archive (truncated "
                     f"or corrupt?): {e}; expected a complete {ARCHIVE_NAME}."
                     ) from e
  missing = [m for m, name in members.items() if name not in batches]
  if missing:
    raise ValueError(f"Archive {path!r} has no member {', '.join(missing)}; "
                     f"expected {ARCHIVE_NAME} with {FOLDER_NAME}/"
                     f"{{{','.join(names)}}}.")
  return batches


def _read_folder(folder, names):
  """{name: (images, labels)} of the batch files `names` in `folder`."""
  batches = {}
  for name in names:
    path = os.path.join(folder, name)
    if not tf.io.gfile.exists(path):
      raise FileNotFoundError(f"CIFAR-10 folder {folder!r} has no {name}; "
                              f"expected {_EXPECTED}.")
    with tf.io.gfile.GFile(path, "rb") as f:
      batches[name] = _read_batch(f.read(), f"CIFAR-10 batch {path!r}")
  return batches


def _locate(data_dir):
  """(path, is_archive) of the archive or batches folder `data_dir` names."""
  if data_dir is None:
    raise ValueError(f"Dataset {NAME!r} needs dataset.data_dir: {_EXPECTED}.")
  if not tf.io.gfile.exists(data_dir):
    raise FileNotFoundError(f"Dataset {NAME!r}: dataset.data_dir={data_dir!r} "
                            f"does not exist; expected {_EXPECTED}.")
  if not tf.io.gfile.isdir(data_dir):
    return data_dir, True
  if tf.io.gfile.exists(os.path.join(data_dir, TRAIN_BATCHES[0])):
    return data_dir, False
  folder = os.path.join(data_dir, FOLDER_NAME)
  if tf.io.gfile.isdir(folder):
    return folder, False
  archive = os.path.join(data_dir, ARCHIVE_NAME)
  if tf.io.gfile.exists(archive):
    return archive, True
  raise FileNotFoundError(f"Dataset {NAME!r}: folder {data_dir!r} holds no "
                          f"{TRAIN_BATCHES[0]}, {FOLDER_NAME}/ or "
                          f"{ARCHIVE_NAME}; expected {_EXPECTED}.")


def _joined(batches, names):
  """(images, labels) of the batches `names`, in that order."""
  images, labels = zip(*(batches[name] for name in names))
  return np.concatenate(images), np.concatenate(labels)


def read_cifar10(data_dir):
  """The train and test parts of the official CIFAR-10 python archive.

  Args:
    data_dir: the .tar.gz, the extracted folder or a folder holding either.

  Returns:
    ((train images, train labels), (test images, test labels)): uint8
    [N, 32, 32, 3] and int32 [N], train in data_batch_1..5 order.

  Raises:
    FileNotFoundError: nothing of the archive at `data_dir`.
    ValueError: a damaged archive, a refused pickle or a batch that does not
      have the format, naming the file or member.
  """
  path, is_archive = _locate(data_dir)
  names = TRAIN_BATCHES + (TEST_BATCH,)
  batches = (_read_archive if is_archive else _read_folder)(path, names)
  return _joined(batches, TRAIN_BATCHES), _joined(batches, (TEST_BATCH,))


def cifar10_archive_dataset(data_dir):
  """The `pipeline.Dataset` of the archive at `data_dir` (module docstring)."""
  (train_images, train_labels), (test_images, test_labels) = read_cifar10(
      data_dir)
  return pipeline.Dataset(
      name=NAME, image_shape=(_SIDE, _SIDE, 3), num_classes=_NUM_CLASSES,
      eval_split=TEST_BATCH, train_split="data_batch_1..5",
      eval_num_examples=EVAL_NUM_EXAMPLES,
      train_examples=pipeline.InMemory(train_images, train_labels),
      eval_examples=pipeline.InMemory(test_images, test_labels),
      decode=tf.identity)
