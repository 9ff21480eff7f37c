"""The CIFAR-10 python archive reader on small archives of the official format."""
import builtins
import io
import os
import pickle
import pickletools
import struct
import tarfile

import numpy as np
import pytest

from compare_ssgan.data import cifar10_archive
from compare_ssgan.data import datasets

_TRAIN_SIZE = 4  # Images per train batch; the official batches hold 10000.
_TEST_SIZE = 6
_RECONSTRUCT = np.ndarray((0,), np.uint8).__reduce__()[0]


class _Python2Pickler(pickle._Pickler):  # pylint: disable=protected-access
  """Protocol 2 as Python 2 wrote the official batches.

  Strings as BINSTRING (loaded back as bytes under encoding="bytes"), not
  Python 3's `_codecs.encode` calls, and numpy's reconstruction function
  under numpy 1's module name.
  """
  dispatch = dict(pickle._Pickler.dispatch)  # pylint: disable=protected-access

  def _save_string(self, obj):
    data = obj.encode("latin1") if isinstance(obj, str) else obj
    if len(data) < 256:
      self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
    else:
      self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
    self.memoize(obj)

  dispatch[bytes] = _save_string
  dispatch[str] = _save_string

  def save_global(self, obj, name=None):
    if obj is _RECONSTRUCT:
      self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
      self.memoize(obj)
    else:
      super().save_global(obj, name)


def _python2_pickle(obj):
  f = io.BytesIO()
  _Python2Pickler(f, protocol=2).dump(obj)
  return f.getvalue()


def _batch(name, data, labels):
  return {b"batch_label": f"{name} of the test archive".encode(),
          b"data": data, b"labels": labels,
          b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))]}


def _official_batches(seed=0):
  """{member name: pickle}, and the expected (images, labels) of each split."""
  rng = np.random.RandomState(seed)
  raws, parts = {}, {}
  for name, size in [(n, _TRAIN_SIZE) for n in cifar10_archive.TRAIN_BATCHES
                     ] + [(cifar10_archive.TEST_BATCH, _TEST_SIZE)]:
    data = rng.randint(0, 256, (size, 3072)).astype(np.uint8)
    labels = [int(l) for l in rng.randint(0, 10, size)]
    raws[name] = _python2_pickle(_batch(name, data, labels))
    parts[name] = (data.reshape(size, 3, 32, 32).transpose(0, 2, 3, 1), labels)
  raws["batches.meta"] = _python2_pickle({
      b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                       b"dog", b"frog", b"horse", b"ship", b"truck"],
      b"num_cases_per_batch": _TRAIN_SIZE, b"num_vis": 3072})
  train = [parts[n] for n in cifar10_archive.TRAIN_BATCHES]
  expected = ((np.concatenate([p[0] for p in train]),
               np.concatenate([p[1] for p in train])),
              parts[cifar10_archive.TEST_BATCH])
  return raws, expected


def _write_archive(path, raws):
  """Writes `raws` as cifar-10-batches-py/<name> members of a .tar.gz."""
  path.parent.mkdir(parents=True, exist_ok=True)
  with tarfile.open(path, "w:gz") as tar:
    for name, raw in raws.items():
      info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
      info.size = len(raw)
      tar.addfile(info, io.BytesIO(raw))
  return str(path)


def _write_folder(folder, raws):
  folder.mkdir(parents=True)
  for name, raw in raws.items():
    (folder / name).write_bytes(raw)
  return str(folder)


def _assert_splits(got, expected):
  for (images, labels), (want_images, want_labels) in zip(got, expected):
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)


def test_synthetic_batches_name_only_the_globals_of_the_official_format():
  raws, _ = _official_batches()
  opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(
      raws["data_batch_1"])]
  assert {arg for name, arg in opcodes if name == "GLOBAL"} == {
      "numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
  assert not {"BINUNICODE", "SHORT_BINUNICODE"} & {n for n, _ in opcodes}


def test_pixel_layout_is_planes_to_hwc(tmp_path):
  rows, cols = np.mgrid[:32, :32]
  red, green, blue = (rows * 32 + cols) % 256, rows, 100 + cols
  known = np.concatenate([red.ravel(), green.ravel(), blue.ravel()])
  raws, _ = _official_batches()
  data = np.zeros((_TRAIN_SIZE, 3072), np.uint8)
  data[1] = known
  raws["data_batch_1"] = _python2_pickle(
      _batch("data_batch_1", data, [0, 7, 0, 0]))
  (images, labels), _ = cifar10_archive.read_cifar10(
      _write_archive(tmp_path / "cifar-10-python.tar.gz", raws))
  np.testing.assert_array_equal(images[1],
                                np.stack([red, green, blue], axis=-1))
  assert images[1, 2, 5].tolist() == [69, 2, 105]  # Row 2, column 5.
  assert labels[:_TRAIN_SIZE].tolist() == [0, 7, 0, 0]


def test_splits_sizes_labels_and_archive_order(tmp_path):
  raws, expected = _official_batches()
  got = cifar10_archive.read_cifar10(
      _write_archive(tmp_path / "cifar-10-python.tar.gz", raws))
  assert [len(part[0]) for part in got] == [5 * _TRAIN_SIZE, _TEST_SIZE]
  _assert_splits(got, expected)


@pytest.mark.parametrize("where", ["archive", "archive_parent", "folder",
                                   "folder_parent"])
def test_archive_folder_and_parents_read_the_same(tmp_path, where):
  raws, expected = _official_batches(seed=1)
  archive = _write_archive(tmp_path / "a" / "cifar-10-python.tar.gz", raws)
  folder = _write_folder(tmp_path / "f" / "cifar-10-batches-py", raws)
  data_dir = {"archive": archive, "archive_parent": str(tmp_path / "a"),
              "folder": folder, "folder_parent": str(tmp_path / "f")}[where]
  _assert_splits(cifar10_archive.read_cifar10(data_dir), expected)


def test_get_dataset_end_to_end(tmp_path):
  raws, ((train_images, _), (test_images, test_labels)) = _official_batches()
  ds = datasets.get_dataset(name="cifar10_archive", data_dir=_write_archive(
      tmp_path / "cifar-10-python.tar.gz", raws))
  assert (ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
      (32, 32, 3), 10, 10000)
  assert (ds.train_split, ds.eval_split) == ("data_batch_1..5", "test_batch")
  images, labels = next(iter(ds.train_input_fn(None, 8, seed=3)))
  assert images.shape == (8, 32, 32, 3) and labels.shape == (8,)
  train = {(x / 255.0).astype(np.float32).tobytes() for x in train_images}
  assert {x.tobytes() for x in images.numpy()} <= train
  batches = list(ds.eval_dataset(batch_size=64))
  assert len(batches) == 1  # All 6 test images: fewer than the 10k asked.
  images, labels = (t.numpy() for t in batches[0])
  got = sorted(zip((x.tobytes() for x in images), labels.tolist()))
  assert got == sorted(zip(
      ((x / 255.0).astype(np.float32).tobytes() for x in test_images),
      test_labels))


def test_truncated_archive_names_the_file(tmp_path):
  raws, _ = _official_batches()
  path = tmp_path / "cifar-10-python.tar.gz"
  _write_archive(path, raws)
  path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
  with pytest.raises(ValueError, match="not a readable .tar.gz") as e:
    cifar10_archive.read_cifar10(str(path))
  assert str(path) in str(e.value)


def test_missing_member_is_named(tmp_path):
  raws, _ = _official_batches()
  del raws["test_batch"]
  path = _write_archive(tmp_path / "cifar-10-python.tar.gz", raws)
  with pytest.raises(ValueError, match="no member cifar-10-batches-py/"
                     "test_batch") as e:
    cifar10_archive.read_cifar10(path)
  assert path in str(e.value)


def test_missing_batch_file_of_folder_is_named(tmp_path):
  raws, _ = _official_batches()
  del raws["data_batch_4"]
  folder = _write_folder(tmp_path / "cifar-10-batches-py", raws)
  with pytest.raises(FileNotFoundError, match="has no data_batch_4") as e:
    cifar10_archive.read_cifar10(folder)
  assert folder in str(e.value)


@pytest.mark.parametrize("data_dir", ["nowhere", "."])
def test_data_dir_without_the_archive(tmp_path, data_dir):
  (tmp_path / "readme.txt").write_text("not CIFAR-10")
  with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
    cifar10_archive.read_cifar10(str(tmp_path / data_dir))


@pytest.mark.parametrize("batch, problem", [
    (_batch("b", np.zeros((4, 3000), np.uint8), [0] * 4),
     r"b'data' is a uint8 array of shape \(4, 3000\)"),
    (_batch("b", np.zeros((4, 3072), np.float32), [0] * 4),
     r"b'data' is a float32 array"),
    (_batch("b", np.zeros((4, 3072), np.uint8), [0, 1, 2]),
     "b'labels' is a list of length 3; expected a list of 4 ints"),
    (_batch("b", np.zeros((4, 3072), np.uint8), [0, 1, 2, 10]),
     "b'labels' is a list of length 4; expected a list of 4 ints in 0..9"),
    ({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 4},
     "expected a dict with keys"),
    ([1, 2], "holds a list of length 2; expected a dict"),
])
def test_batch_of_the_wrong_format_is_named(tmp_path, batch, problem):
  raws, _ = _official_batches()
  raws["data_batch_2"] = _python2_pickle(batch)
  path = _write_archive(tmp_path / "cifar-10-python.tar.gz", raws)
  with pytest.raises(ValueError, match=problem) as e:
    cifar10_archive.read_cifar10(path)
  assert f"{path!r} member 'cifar-10-batches-py/data_batch_2'" in str(e.value)


class _Exploit:
  """Unpickles to running `code`: what a malicious archive would hold."""

  def __init__(self, code):
    self.code = code

  def __reduce__(self):
    return builtins.exec, (self.code,)


def test_malicious_pickle_is_refused_before_it_runs(tmp_path):
  marker = tmp_path / "pwned"
  payload = _python2_pickle(_batch("data_batch_3", _Exploit(
      f"open({str(marker)!r}, 'w').close()"), [0] * 4))
  raws, _ = _official_batches()
  raws["data_batch_3"] = payload
  path = _write_archive(tmp_path / "cifar-10-python.tar.gz", raws)
  # Protocol 2 names Python 2's module, as a malicious official batch would.
  with pytest.raises(ValueError,
                     match=r"refused the global __builtin__\.exec") as e:
    cifar10_archive.read_cifar10(path)
  assert "member 'cifar-10-batches-py/data_batch_3'" in str(e.value)
  assert not marker.exists()
  pickle.loads(payload)  # Control: an ordinary unpickler runs the payload.
  assert marker.exists()


def test_malicious_pickle_in_a_folder_is_refused(tmp_path):
  marker = tmp_path / "pwned"
  raws, _ = _official_batches()
  raws["test_batch"] = pickle.dumps(
      _Exploit(f"open({str(marker)!r}, 'w').close()"), protocol=4)
  folder = _write_folder(tmp_path / "cifar-10-batches-py", raws)
  with pytest.raises(ValueError, match=r"refused the global builtins\.exec") as e:
    cifar10_archive.read_cifar10(folder)
  assert os.path.join(folder, "test_batch") in str(e.value)
  assert not marker.exists()
