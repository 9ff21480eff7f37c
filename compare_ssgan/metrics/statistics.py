"""Streaming float64 statistics of Inception outputs over image batches.

Memory is O(1) in the number of samples (a D x D scatter matrix and per-split
IS sums); the pool_3 features KID needs go to a file (feature_file). The image batches
are produced by a background thread, a few batches ahead of the extractor, so that
generating fakes overlaps extracting features (TF releases the GIL in both).
"""

import dataclasses
import queue
import threading
import time
from typing import Optional

from absl import logging
import numpy as np

from compare_ssgan.metrics import feature_file
from compare_ssgan.metrics import scores


class NonFiniteImagesError(ValueError):
  """Raised when an image batch contains NaN or infinity."""


class MomentAccumulator:
  """Running mean and scatter matrix, merged per batch (Chan et al.)."""

  def __init__(self):
    self.n = 0
    self.mean = None
    self._scatter = None

  def update(self, x):
    x = np.asarray(x, np.float64)
    if not len(x):
      return
    mean_b = x.mean(axis=0)
    centered = x - mean_b
    scatter_b = centered.T @ centered
    if self.n == 0:
      self.n, self.mean, self._scatter = len(x), mean_b, scatter_b
      return
    total = self.n + len(x)
    delta = mean_b - self.mean
    self._scatter += scatter_b + np.outer(delta, delta) * (self.n * len(x) /
                                                           total)
    self.mean = self.mean + delta * (len(x) / total)
    self.n = total

  def covariance(self):
    """Unbiased covariance (denominator n - 1)."""
    if self.n < 2:
      raise ValueError(f"Need at least 2 samples, have {self.n}.")
    return self._scatter / (self.n - 1)


class InceptionScoreAccumulator:
  """Per-split sums of sum_y p log p and p, for splits of consecutive samples.

  Split k holds samples [k N / s, (k + 1) N / s) as in the original IS code,
  so `num_samples` must be known up front when splits > 1.
  """

  def __init__(self, num_samples, splits=1):
    if splits > 1 and not num_samples:
      raise ValueError("IS with splits needs num_samples.")
    self._edges = np.array([k * num_samples // splits
                            for k in range(1, splits)], np.int64)
    self._p_log_p = np.zeros(splits)
    self._p = None
    self._count = np.zeros(splits, np.int64)
    self._seen = 0

  def update(self, logits):
    p_log_p, p = scores.softmax_terms(logits)
    if self._p is None:
      self._p = np.zeros((len(self._count), p.shape[1]))
    split = np.searchsorted(self._edges,
                            self._seen + np.arange(len(p)), side="right")
    np.add.at(self._p_log_p, split, p_log_p)
    np.add.at(self._p, split, p)
    np.add.at(self._count, split, 1)
    self._seen += len(p)

  def result(self):
    """(mean, std) of the per-split scores."""
    per_split = [scores.inception_score_from_sums(a, b, c)
                 for a, b, c in zip(self._p_log_p, self._p, self._count)]
    return float(np.mean(per_split)), float(np.std(per_split))


@dataclasses.dataclass
class FeatureStatistics:
  """Moments of pool_3 (float64), optional features and Inception Score.

  `features`, when kept, is a feature_file.FeatureFile (or an in-memory array).
  """
  num_samples: int
  mu: np.ndarray
  sigma: np.ndarray
  features: Optional[object] = None
  inception_score: Optional[float] = None
  inception_score_std: Optional[float] = None


def in_background(iterable, depth=2):
  """Yields `iterable`'s items in order, produced by a thread up to `depth` ahead.

  An exception in the producer is raised here, at the item it stopped at; closing this
  generator early stops the producer (after the item it is working on).
  """
  items = queue.Queue(maxsize=depth)
  stop = threading.Event()
  end = object()

  def put(entry):
    while not stop.is_set():
      try:
        items.put(entry, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def produce():
    try:
      for item in iterable:
        if not put((item, None)):
          return
      put((end, None))
    except BaseException as e:  # pylint: disable=broad-except  (re-raised below)
      put((end, e))

  thread = threading.Thread(target=produce, name="in_background", daemon=True)
  thread.start()
  try:
    while True:
      item, error = items.get()
      if item is end:
        if error is not None:
          raise error
        return
      yield item
  finally:
    stop.set()
    thread.join()


def rebatch(batches, batch_size, num_samples):
  """Re-cuts a stream of arrays into `batch_size` chunks, `num_samples` total.

  Raises:
    NonFiniteImagesError: a batch contains NaN or infinity.
    ValueError: the stream ends before `num_samples`.
  """
  buffer, buffered, total = [], 0, 0
  for batch in batches:
    batch = np.asarray(batch, np.float32)[:num_samples - total]
    if not np.isfinite(batch).all():
      raise NonFiniteImagesError(
          f"Images {total}..{total + len(batch)} contain NaN or inf.")
    buffer.append(batch)
    buffered += len(batch)
    total += len(batch)
    while buffered >= batch_size:
      joined = np.concatenate(buffer)
      yield joined[:batch_size]
      buffer, buffered = [joined[batch_size:]], buffered - batch_size
    if total >= num_samples:
      break
  if total < num_samples:
    raise ValueError(f"The image stream ended after {total} of {num_samples} "
                     "samples.")
  if buffered:
    yield np.concatenate(buffer)


class Progress:
  """Logs "<label>: done / total images, rate, ETA" at most every `every_secs` seconds
  (the first line after `every_secs`: a short extraction logs nothing)."""

  def __init__(self, label, total, every_secs=10.0, clock=time.monotonic, log=logging.info):
    self.label, self.total, self.every_secs = label, total, every_secs
    self._clock, self._log = clock, log
    self._start = self._last = clock()
    self.done = 0

  def update(self, count):
    self.done += count
    now = self._clock()
    if now - self._last < self.every_secs and self.done < self.total:
      return
    if now - self._start < self.every_secs:
      return
    self._last = now
    rate = self.done / (now - self._start)
    eta = (self.total - self.done) / rate if rate > 0 else float("inf")
    self._log("%s: %d / %d images, %.1f images/s, ETA %s", self.label, self.done,
              self.total, rate, _duration(eta))


def _duration(secs):
  if secs == float("inf"):
    return "unknown"
  minutes, secs = divmod(int(round(secs)), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}:{minutes:02d}:{secs:02d}"


def compute_statistics(batches, extractor, num_samples, features_path=None,
                       inception_score_splits=1, progress_label=None, **extractor_kwargs):
  """Runs `extractor` over image batches and accumulates statistics.

  Args:
    batches: iterable of float32 [b, H, W, C] images in [0, 1].
    extractor: callable images -> {"pool_3": [b, D], optionally "logits"};
      its `batch_size` attribute (if any) sets the chunk size.
    num_samples: number of images to use (the stream is truncated).
    features_path: also write all pool_3 features (float32) there, for KID; the
      result's `features` then reads them (a partial file is removed on error).
    inception_score_splits: splits for IS when the extractor gives logits.
    progress_label: if given, a progress line (images done, rate, ETA) is logged under
      it every 10 s of an extraction that takes longer.
    **extractor_kwargs: passed to the extractor (e.g. quantize, clip).

  Returns:
    FeatureStatistics.
  """
  moments = MomentAccumulator()
  is_acc = None
  writer = features_path and feature_file.Writer(features_path, num_samples)
  chunk = getattr(extractor, "batch_size", None) or 64
  progress = progress_label and Progress(progress_label, num_samples)
  try:
    for images in rebatch(in_background(batches), chunk, num_samples):
      outputs = extractor(images, **extractor_kwargs)
      if progress:
        progress.update(len(images))
      pool = np.asarray(outputs["pool_3"])
      moments.update(pool)
      if writer:
        writer.append(pool)
      if "logits" in outputs:
        if is_acc is None:
          is_acc = InceptionScoreAccumulator(num_samples, inception_score_splits)
        is_acc.update(outputs["logits"])
    if writer:
      writer.close()
  except BaseException:
    if writer:
      writer.discard()
    raise
  is_mean, is_std = is_acc.result() if is_acc else (None, None)
  return FeatureStatistics(
      num_samples=moments.n, mu=moments.mean, sigma=moments.covariance(),
      features=feature_file.FeatureFile(features_path) if writer else None,
      inception_score=is_mean, inception_score_std=is_std)
