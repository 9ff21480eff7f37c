"""IDX reader: round trips and clear errors for malformed files."""
import numpy as np
import pytest

from compare_ssgan.data import idx


@pytest.mark.parametrize("name", ["imgs-idx3-ubyte", "imgs-idx3-ubyte.gz"])
def test_round_trip_images_plain_and_gzip(tmp_path, name, write_idx):
  images = np.random.RandomState(0).randint(0, 256, (5, 4, 3), np.uint8)
  path = write_idx(tmp_path / name, images)
  read = idx.read_idx_images(path)
  assert read.shape == (5, 4, 3, 1)
  np.testing.assert_array_equal(read[..., 0], images)


def test_big_endian_int32_labels(tmp_path, write_idx):
  labels = np.array([0, 7, 300, 65536])
  path = write_idx(tmp_path / "l-idx1-ubyte", labels, type_code=0x0C)
  np.testing.assert_array_equal(idx.read_idx_labels(path, 4), labels)
  with pytest.raises(ValueError, match="expected \\[5\\]"):
    idx.read_idx_labels(path, 5)


def test_bad_magic_names_file(tmp_path):
  path = tmp_path / "bad-idx3-ubyte"
  path.write_bytes(b"\x01\x02\x08\x03" + bytes(20))
  with pytest.raises(ValueError, match="bad magic") as e:
    idx.read_idx(str(path))
  assert str(path) in str(e.value)


@pytest.mark.parametrize("cut", [2, 10])  # Inside the data; inside the header.
def test_truncated_file_names_file(tmp_path, cut, write_idx):
  path = write_idx(tmp_path / "t-idx3-ubyte", np.ones((3, 2, 2), np.uint8))
  with open(path, "rb") as f:
    raw = f.read()
  with open(path, "wb") as f:
    f.write(raw[:-cut] if cut < 12 else raw[:cut])
  with pytest.raises(ValueError, match="truncated") as e:
    idx.read_idx(path)
  assert path in str(e.value)


def test_truncated_gzip_names_file(tmp_path, write_idx):
  path = write_idx(tmp_path / "t-idx3-ubyte.gz", np.ones((30, 9, 9), np.uint8))
  with open(path, "rb") as f:
    raw = f.read()
  with open(path, "wb") as f:
    f.write(raw[:len(raw) // 2])
  with pytest.raises(ValueError, match="gzip") as e:
    idx.read_idx(path)
  assert path in str(e.value)


def test_images_must_be_uint8_3d_or_4d(tmp_path, write_idx):
  path = write_idx(tmp_path / "x-idx1-ubyte", np.arange(4))
  with pytest.raises(ValueError, match="expected uint8 \\[N, H, W"):
    idx.read_idx_images(path)
