"""Features on disk: what is written reads back, block by block, in bounded memory."""

import tracemalloc

import numpy as np
import pytest

from compare_ssgan.metrics import feature_file
from compare_ssgan.metrics import scores


def _write(path, features, batch=7):
  writer = feature_file.Writer(str(path), len(features))
  for start in range(0, len(features), batch):
    writer.append(features[start:start + batch])
  writer.close()
  return feature_file.FeatureFile(str(path))


def test_round_trip_and_row_slices(tmp_path):
  x = np.random.RandomState(0).randn(30, 5)
  features = _write(tmp_path / "f.npy", x)
  assert features.shape == (30, 5) and len(features) == 30
  np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), x.astype(np.float32))
  np.testing.assert_array_equal(features[3:11], x[3:11].astype(np.float32))
  np.testing.assert_array_equal(features[25:99], x[25:].astype(np.float32))
  assert features[10:10].shape == (0, 5)
  with pytest.raises(TypeError, match="contiguous row slices"):
    features[::2]  # pylint: disable=pointless-statement


def test_a_wrong_row_count_is_refused_and_removed(tmp_path):
  writer = feature_file.Writer(str(tmp_path / "f.npy"), 10)
  writer.append(np.zeros((4, 3)))
  with pytest.raises(ValueError, match="4 rows written, 10 announced"):
    writer.close()
  assert not (tmp_path / "f.npy").exists()
  writer = feature_file.Writer(str(tmp_path / "g.npy"), 3)
  with pytest.raises(ValueError, match="more than the 3 rows announced"):
    writer.append(np.zeros((4, 3)))


def test_a_truncated_or_foreign_file_is_refused(tmp_path):
  _write(tmp_path / "f.npy", np.ones((20, 4)))
  data = (tmp_path / "f.npy").read_bytes()
  (tmp_path / "f.npy").write_bytes(data[:-8])
  features = feature_file.FeatureFile(str(tmp_path / "f.npy"))
  np.testing.assert_array_equal(features[:19], np.ones((19, 4)))
  with pytest.raises(ValueError, match="truncated: rows 0..20"):
    features[:]  # pylint: disable=pointless-statement
  np.save(tmp_path / "d.npy", np.ones((20, 4)))  # float64
  with pytest.raises(ValueError, match="expected C-order float32"):
    feature_file.FeatureFile(str(tmp_path / "d.npy"))
  (tmp_path / "x.npy").write_bytes(b"garbage")
  with pytest.raises(ValueError, match=r"x\.npy is not a features file"):
    feature_file.FeatureFile(str(tmp_path / "x.npy"))


def test_sha256_matches_hashlib(tmp_path):
  import hashlib  # pylint: disable=import-outside-toplevel
  _write(tmp_path / "f.npy", np.arange(60.0).reshape(20, 3))
  data = (tmp_path / "f.npy").read_bytes()
  assert (feature_file.sha256(str(tmp_path / "f.npy"), chunk_bytes=50)
          == hashlib.sha256(data).hexdigest())


def test_kid_from_files_equals_kid_from_arrays_in_a_block_of_memory(tmp_path):
  rng = np.random.RandomState(1)
  real = rng.randn(4096, 512).astype(np.float32)
  fake = (rng.randn(4096, 512) + 0.1).astype(np.float32)
  real_file = _write(tmp_path / "r.npy", real, batch=256)
  fake_file = _write(tmp_path / "g.npy", fake, batch=256)
  expected = scores.kernel_inception_distance(real, fake, 256)
  tracemalloc.start()
  got = scores.kernel_inception_distance(real_file, fake_file, 256)
  peak = tracemalloc.get_traced_memory()[1]
  tracemalloc.stop()
  assert got == expected
  # Both sets in float64 would be 32 MiB; a block of each and its kernels about 5 MiB.
  assert peak < 8 * 2**20, peak
