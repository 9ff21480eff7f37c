"""Real statistics: computed once per (dataset, reals, N, size), then cached."""

import json

import numpy as np
import pytest

from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import real_stats
from compare_ssgan.metrics import scores


class CountingExtractor:
  batch_size = 8
  feature_id = "f" * 64
  has_logits = False

  def __init__(self):
    self.images_seen = 0

  def __call__(self, images, **kwargs):
    del kwargs
    self.images_seen += len(images)
    flat = images.reshape(len(images), -1)[:, :5]
    return {"pool_3": np.concatenate([flat, np.sin(flat)], 1)}


class ToyDataset:
  name = "toy"
  eval_split = "test"

  def __init__(self, data_dir=None, n=40, shape=(6, 6, 1)):
    self.data_dir = data_dir
    self.images = np.random.RandomState(0).rand(n, *shape).astype(np.float32)
    self.batches_read = 0

  def eval_dataset(self, num_examples, batch_size):
    for i in range(0, min(num_examples, len(self.images)), batch_size):
      self.batches_read += 1
      yield self.images[i:i + batch_size], np.zeros(batch_size, np.int32)


def test_computed_once_then_read_from_next_to_the_data(tmp_path):
  dataset = ToyDataset(data_dir=str(tmp_path / "data"))
  extractor = CountingExtractor()
  first = real_stats.real_statistics(dataset, extractor, 30, batch_size=7)
  mu, sigma = scores.moments(extractor(dataset.images[:30])["pool_3"])
  np.testing.assert_allclose(first.mu, mu, rtol=1e-6)
  np.testing.assert_allclose(first.sigma, sigma, rtol=1e-5, atol=1e-12)
  files = sorted(p.name for p in (tmp_path / "data" /
                                  "compare_ssgan_stats").iterdir())
  assert files == ["toy_test_first_30_6x6x1_ffffffffffffffff.json",
                   "toy_test_first_30_6x6x1_ffffffffffffffff.npz"]
  meta = json.loads((tmp_path / "data" / "compare_ssgan_stats" /
                     files[0]).read_text())
  assert meta["dataset"] == "toy" and meta["num_samples"] == 30
  assert meta["order"] == "first"
  extractor.images_seen = 0
  dataset.batches_read = 0
  again = real_stats.real_statistics(dataset, extractor, 30, batch_size=7)
  assert extractor.images_seen == 0 and dataset.batches_read == 1
  np.testing.assert_array_equal(again.sigma, first.sigma)
  real_stats.real_statistics(dataset, extractor, 20, batch_size=7)
  assert extractor.images_seen == 20  # A different N is a different entry.


def test_different_eval_reals_are_a_different_entry(tmp_path):
  dataset = ToyDataset()
  extractor = CountingExtractor()
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=str(tmp_path))
  dataset.eval_order = "perm7"  # Same name, split and N; other reals.
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=str(tmp_path))
  assert extractor.images_seen == 32


def test_each_resize_is_its_own_entry_and_recorded(tmp_path):
  dataset = ToyDataset()
  legacy, clean = CountingExtractor(), CountingExtractor()
  clean.resize = "clean"
  clean.feature_id = extractor_lib.feature_id(legacy.feature_id, "clean")
  for extractor in (legacy, clean, clean):
    real_stats.real_statistics(dataset, extractor, 16, stats_dir=str(tmp_path))
  assert legacy.images_seen == 16 and clean.images_seen == 16  # Then clean's from its cache.
  resizes = sorted(json.loads(p.read_text())["resize"] for p in tmp_path.glob("*.json"))
  assert resizes == ["clean", "compare_gan"]


def test_features_kept_when_needed_and_tampering_detected(tmp_path):
  dataset = ToyDataset()
  extractor = CountingExtractor()
  stats_dir = str(tmp_path / "stats")
  plain = real_stats.real_statistics(dataset, extractor, 16,
                                     stats_dir=stats_dir)
  assert plain.features is None
  with_features = real_stats.real_statistics(
      dataset, extractor, 16, stats_dir=stats_dir, keep_features=True)
  assert with_features.features.shape == (16, 10)
  expected = CountingExtractor()(dataset.images[:16])["pool_3"].astype(np.float32)
  np.testing.assert_array_equal(with_features.features[:], expected)
  assert extractor.images_seen == 32  # Recomputed once, for the features.
  again = real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir,
                                     keep_features=True)
  assert extractor.images_seen == 32
  np.testing.assert_array_equal(again.features[:], with_features.features[:])
  features = next((tmp_path / "stats").glob("*.features.npy"))
  data = bytearray(features.read_bytes())
  data[-1] ^= 1
  features.write_bytes(bytes(data))
  extractor.images_seen = 0
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir)
  assert extractor.images_seen == 0  # The moments alone are still good.
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir,
                             keep_features=True)
  assert extractor.images_seen == 16
  npz = next((tmp_path / "stats").glob("*.npz"))
  npz.write_bytes(npz.read_bytes()[:-10])
  extractor.images_seen = 0
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir)
  assert extractor.images_seen == 16


def test_default_location_is_user_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("COMPARE_SSGAN_CACHE", str(tmp_path / "cache"))
  real_stats.real_statistics(ToyDataset(), CountingExtractor(), 10)
  assert len(list((tmp_path / "cache" / "real_stats").glob("*.npz"))) == 1


def test_unnamed_dataset_is_not_cached(tmp_path, monkeypatch):
  monkeypatch.setenv("COMPARE_SSGAN_CACHE", str(tmp_path / "cache"))
  dataset = ToyDataset()
  dataset.name = None
  real_stats.real_statistics(dataset, CountingExtractor(), 10)
  assert not (tmp_path / "cache").exists()


def test_damaged_metadata_is_recomputed_and_replaced(tmp_path, caplog):
  dataset = ToyDataset()
  extractor = CountingExtractor()
  stats_dir = str(tmp_path / "stats")
  first = real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir)
  meta = next((tmp_path / "stats").glob("*.json"))
  for garbage in (b"\x00garbage{", b"[1, 2]"):
    meta.write_bytes(garbage)
    extractor.images_seen = 0
    again = real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir)
    assert extractor.images_seen == 16  # Recomputed, not a JSONDecodeError.
    np.testing.assert_array_equal(again.sigma, first.sigma)
    assert "is damaged" in caplog.text
    assert json.loads(meta.read_text())["num_samples"] == 16  # Healed for the next run.
  extractor.images_seen = 0
  real_stats.real_statistics(dataset, extractor, 16, stats_dir=stats_dir)
  assert extractor.images_seen == 0


class ToyDatasetWithTrain(ToyDataset):
  train_split = "train"

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.train_images = 1.0 - self.images

  def train_reals(self, num_examples, batch_size):
    for i in range(0, min(num_examples, len(self.train_images)), batch_size):
      yield self.train_images[i:i + batch_size], np.zeros(batch_size, np.int32)


def test_the_train_split_is_its_own_entry_of_its_own_images(tmp_path):
  dataset = ToyDatasetWithTrain()
  extractor = CountingExtractor()
  stats_dir = tmp_path / "stats"
  evaluation = real_stats.real_statistics(dataset, extractor, 16, stats_dir=str(stats_dir))
  train = real_stats.real_statistics(dataset, extractor, 16, stats_dir=str(stats_dir),
                                     split="train")
  mu, _ = scores.moments(extractor(dataset.train_images[:16])["pool_3"])
  np.testing.assert_allclose(train.mu, mu, rtol=1e-6)
  assert not np.allclose(train.mu, evaluation.mu)
  assert sorted(p.name for p in stats_dir.glob("*.json")) == [
      "toy_test_first_16_6x6x1_ffffffffffffffff.json",
      "toy_train_first_16_6x6x1_ffffffffffffffff.json"]


def test_too_few_reals_in_the_split_is_an_error_not_a_smaller_n(tmp_path):
  dataset = ToyDatasetWithTrain(n=10)
  with pytest.raises(ValueError, match="ended after 10 of 16"):
    real_stats.real_statistics(dataset, CountingExtractor(), 16, stats_dir=str(tmp_path),
                               split="train")


def test_an_unknown_split_is_refused(tmp_path):
  with pytest.raises(ValueError, match="split must be one of"):
    real_stats.real_statistics(ToyDataset(), CountingExtractor(), 16,
                               stats_dir=str(tmp_path), split="validation")
