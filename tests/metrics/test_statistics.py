"""Streaming statistics equal their all-at-once counterparts."""

import threading

import numpy as np
import pytest

from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics


class LinearExtractor:
  """Fake extractor: features and logits are fixed functions of the pixels."""
  batch_size = 4

  def __init__(self, with_logits=True):
    self.has_logits = with_logits
    self.calls = []

  def __call__(self, images, **kwargs):
    self.calls.append((len(images), kwargs))
    flat = images.reshape(len(images), -1)[:, :6].astype(np.float64)
    out = {"pool_3": np.concatenate([flat, flat ** 2], 1)}
    if self.has_logits:
      out["logits"] = 4 * flat[:, :5] - 2
    return out


def _batches(images, sizes):
  start = 0
  for size in sizes:
    yield images[start:start + size]
    start += size


def test_moment_accumulator_matches_numpy():
  x = np.random.RandomState(0).rand(103, 7) * 5 + 1000  # Offset: stability.
  acc = statistics.MomentAccumulator()
  for chunk in np.split(x, [1, 30, 31, 80]):
    acc.update(chunk)
  assert acc.n == 103
  np.testing.assert_allclose(acc.mean, x.mean(0), rtol=1e-13)
  np.testing.assert_allclose(acc.covariance(), np.cov(x, rowvar=False),
                             rtol=1e-9)


def test_rebatch_truncates_and_recuts():
  x = np.arange(23, dtype=np.float32)[:, None]
  chunks = list(statistics.rebatch(_batches(x, [5, 3, 9, 6]), 4, 18))
  assert [len(c) for c in chunks] == [4, 4, 4, 4, 2]
  np.testing.assert_array_equal(np.concatenate(chunks), x[:18])


def test_rebatch_errors():
  x = np.ones((10, 1), np.float32)
  with pytest.raises(ValueError, match="ended after 10 of 12"):
    list(statistics.rebatch([x], 4, 12))
  x[7] = np.nan
  with pytest.raises(statistics.NonFiniteImagesError):
    list(statistics.rebatch([x[:5], x[5:]], 4, 10))
  # NaN beyond the samples used is not looked at.
  assert len(list(statistics.rebatch([x[:5], x[5:]], 4, 6))) == 2


@pytest.mark.parametrize("splits", [1, 4])
def test_compute_statistics_matches_batch_formulas(splits, tmp_path):
  images = np.random.RandomState(1).rand(50, 3, 3, 1).astype(np.float32)
  extractor = LinearExtractor()
  stats = statistics.compute_statistics(
      _batches(images, [7, 7, 7, 7, 7, 7, 8]), extractor, 45,
      features_path=str(tmp_path / "features.npy"), inception_score_splits=splits,
      quantize=True)
  calls = list(extractor.calls)
  expected = extractor(images[:45])
  np.testing.assert_allclose(stats.features[:], expected["pool_3"], rtol=1e-6)
  np.testing.assert_array_equal(np.load(tmp_path / "features.npy"), stats.features[:])
  mu, sigma = scores.moments(expected["pool_3"])
  np.testing.assert_allclose(stats.mu, mu, rtol=1e-6)
  np.testing.assert_allclose(stats.sigma, sigma, rtol=1e-5, atol=1e-12)
  is_mean, is_std = scores.inception_score(expected["logits"], splits)
  assert stats.inception_score == pytest.approx(is_mean, rel=1e-6)
  assert stats.inception_score_std == pytest.approx(is_std, abs=1e-9)
  assert stats.num_samples == 45
  assert [n for n, _ in calls] == [4] * 11 + [1]
  assert calls[0][1] == {"quantize": True}


def test_compute_statistics_without_logits_or_features():
  images = np.random.RandomState(2).rand(9, 3, 3, 1).astype(np.float32)
  stats = statistics.compute_statistics([images], LinearExtractor(False), 9)
  assert stats.inception_score is None and stats.features is None


def test_a_failed_stream_leaves_no_features_file(tmp_path):
  images = np.random.RandomState(3).rand(12, 3, 3, 1).astype(np.float32)
  images[9] = np.nan  # In the third extractor batch: the file exists by then.
  with pytest.raises(statistics.NonFiniteImagesError):
    statistics.compute_statistics([images[:8], images[8:]], LinearExtractor(), 12,
                                  features_path=str(tmp_path / "features.npy"))
  assert not list(tmp_path.iterdir())
  with pytest.raises(ValueError, match="ended after 8 of 12"):
    statistics.compute_statistics([images[:8]], LinearExtractor(), 12,
                                  features_path=str(tmp_path / "features.npy"))
  assert not list(tmp_path.iterdir())


def test_in_background_keeps_order_and_works_ahead():
  started = [threading.Event() for _ in range(4)]

  def produce():
    for i in range(4):
      started[i].set()
      yield i

  items = statistics.in_background(produce(), depth=1)
  assert next(items) == 0
  # The next item is being made before it is asked for: that is the overlap.
  assert started[1].wait(timeout=10)
  assert list(items) == [1, 2, 3]


def test_in_background_raises_the_producers_error_in_place():
  def produce():
    yield 0
    raise RuntimeError("generator failed at batch 1")

  items = statistics.in_background(produce())
  assert next(items) == 0
  with pytest.raises(RuntimeError, match="batch 1"):
    next(items)


def test_in_background_stops_its_thread_when_closed_early():
  def endless():
    while True:
      yield np.zeros(3)

  before = threading.active_count()
  items = statistics.in_background(endless())
  next(items)
  items.close()
  assert threading.active_count() == before


class _Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_progress_says_done_rate_and_eta_only_for_long_extractions():
  clock, lines = _Clock(), []
  progress = statistics.Progress("Real statistics", 1000, every_secs=10, clock=clock,
                                 log=lambda fmt, *args: lines.append(fmt % args))
  clock.now = 5.0
  progress.update(100)
  assert not lines  # Under 10 s: nothing.
  clock.now = 20.0
  progress.update(300)
  assert lines == ["Real statistics: 400 / 1000 images, 20.0 images/s, ETA 0:00:30"]
  clock.now = 25.0
  progress.update(100)
  assert len(lines) == 1  # At most one line per 10 s ...
  clock.now = 26.0
  progress.update(500)
  assert lines[-1] == "Real statistics: 1000 / 1000 images, 38.5 images/s, ETA 0:00:00"


def test_a_short_extraction_logs_no_progress():
  clock, lines = _Clock(), []
  progress = statistics.Progress("x", 10, clock=clock,
                                 log=lambda fmt, *args: lines.append(fmt % args))
  clock.now = 1.0
  progress.update(10)
  assert not lines
