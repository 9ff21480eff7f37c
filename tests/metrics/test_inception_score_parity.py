"""Inception Score parity: the project's IS vs the original IS code, on a committed fixture.

tests/fixtures/inception_score/ holds the script that makes a fixed set of [1003, 1008]
logits and the scores a transcription of the original IS code (Salimans et al. 2016,
arXiv 1606.03498) gave for them, over 1 and 10 splits. The project's IS is checked
against those numbers as the evaluator computes it (streamed over batches) and in one
go, and against an independent scipy computation; deliberately wrong variants fail the
same check, so the check can fail.
"""

import hashlib
import importlib.util
import json
import os

import numpy as np
import pytest
from scipy import special
from scipy import stats

from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics

_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                    "inception_score")
_RTOL = 1e-10  # Both sides in float64; the differences are summation order.


def _load_fixture_module():
  spec = importlib.util.spec_from_file_location(
      "inception_score_fixture", os.path.join(_DIR, "make_fixture.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


_FIXTURE = _load_fixture_module()


@pytest.fixture(scope="module")
def reference():
  with open(os.path.join(_DIR, "reference.json")) as f:
    return json.load(f)


@pytest.fixture(scope="module")
def logits(reference):
  values = _FIXTURE.make_logits()
  assert list(values.shape) == reference["shape"]
  # The very logits the reference was computed from (RandomState's stream is fixed).
  assert hashlib.sha256(values.astype("<f4").tobytes()).hexdigest() == (
      reference["logits_float32_sha256"])
  return values.astype(np.float32)  # What the extractor gives: float32 logits.


def _check(got, want, rtol=_RTOL):
  """(mean, std) equal to the reference's within rtol (std: absolute for a zero std)."""
  assert got[0] == pytest.approx(want[0], rel=rtol, abs=0)
  assert got[1] == pytest.approx(want[1], rel=rtol, abs=1e-12)


def _streamed(logits, splits, batch_size):
  """IS as the evaluator accumulates it: batch by batch, then the splits' sums."""
  accumulator = statistics.InceptionScoreAccumulator(len(logits), splits)
  for start in range(0, len(logits), batch_size):
    accumulator.update(logits[start:start + batch_size])
  return accumulator.result()


class _LogitsExtractor:
  """Stands in for the Inception extractor: returns the fixture's logits in order."""
  batch_size = 64

  def __init__(self, logits):
    self._logits, self._next = logits, 0

  def __call__(self, images):
    rows = self._logits[self._next:self._next + len(images)]
    self._next += len(images)
    pool = np.random.RandomState(self._next).rand(len(images), 4).astype(np.float32)
    return {"pool_3": pool, "logits": rows}


@pytest.mark.parametrize("splits", [1, 10])
def test_the_project_is_equals_the_original_code_on_the_fixture(
    reference, logits, splits):
  want = reference[f"splits_{splits}"]["float64"]
  _check(scores.inception_score(logits, splits), want)
  for batch_size in (64, 100, 7):  # Batches that do and do not meet the split edges.
    _check(_streamed(logits, splits, batch_size), want)
  images = (np.zeros((n, 2, 2, 3), np.float32) for n in [500, 3, 500])
  stats_ = statistics.compute_statistics(images, _LogitsExtractor(logits), len(logits),
                                         inception_score_splits=splits)
  _check((stats_.inception_score, stats_.inception_score_std), want)
  # The original code itself ran in float32: it agrees to float32's rounding.
  _check(scores.inception_score(logits, splits),
         reference[f"splits_{splits}"]["float32"], rtol=1e-5)


def _scipy_reference(logits, splits):
  """Independent: scipy's softmax and KL (stats.entropy), per split, mean and std."""
  p = special.softmax(np.asarray(logits, np.float64), axis=1)
  edges = [k * len(p) // splits for k in range(splits + 1)]
  per_split = []
  for lo, hi in zip(edges[:-1], edges[1:]):
    p_y = p[lo:hi].mean(axis=0)
    per_split.append(np.exp(np.mean([stats.entropy(row, p_y) for row in p[lo:hi]])))
  return float(np.mean(per_split)), float(np.std(per_split))


def test_an_independent_scipy_is_over_10_splits_agrees(reference, logits):
  ref = _scipy_reference(logits, 10)
  _check(ref, reference["splits_10"]["float64"])
  _check(scores.inception_score(logits, 10), ref)
  assert 1.5 < ref[0] < 1000 and ref[1] > 0.1  # A score that the splits tell apart.


def _reversed_kl(logits, splits):
  """KL(p(y) || p(y|x)) instead of KL(p(y|x) || p(y))."""
  p = special.softmax(np.asarray(logits, np.float64), axis=1)
  edges = [k * len(p) // splits for k in range(splits + 1)]
  values = [np.exp(np.mean([stats.entropy(p[lo:hi].mean(0), row) for row in p[lo:hi]]))
            for lo, hi in zip(edges[:-1], edges[1:])]
  return float(np.mean(values)), float(np.std(values))


def _exp_inside_the_mean(logits, splits):
  """mean_x exp(KL) instead of exp(mean_x KL)."""
  p = special.softmax(np.asarray(logits, np.float64), axis=1)
  edges = [k * len(p) // splits for k in range(splits + 1)]
  values = [np.mean([np.exp(stats.entropy(row, p[lo:hi].mean(0))) for row in p[lo:hi]])
            for lo, hi in zip(edges[:-1], edges[1:])]
  return float(np.mean(values)), float(np.std(values))


def _array_split_edges(logits, splits):
  """np.array_split's parts (the longer ones first) instead of k N / s edges."""
  values = [scores.inception_score(part, 1)[0]
            for part in np.array_split(np.asarray(logits), splits)]
  return float(np.mean(values)), float(np.std(values))


def _sample_std(logits, splits):
  """Standard deviation over splits with ddof=1 instead of numpy's default 0."""
  values = [scores.inception_score(logits[k * len(logits) // splits:
                                          (k + 1) * len(logits) // splits], 1)[0]
            for k in range(splits)]
  return float(np.mean(values)), float(np.std(values, ddof=1))


def _with_bias(logits, splits):
  """Logits shifted per class, as a kept logits bias would shift them."""
  bias = np.random.RandomState(0).randn(logits.shape[1]) * 0.3
  return scores.inception_score(np.asarray(logits, np.float64) + bias, splits)


@pytest.mark.parametrize("wrong", [_reversed_kl, _exp_inside_the_mean, _array_split_edges,
                                   _sample_std, _with_bias])
def test_deliberate_errors_fail_the_same_check(reference, logits, wrong):
  with pytest.raises(AssertionError):
    _check(wrong(logits, 10), reference["splits_10"]["float64"])
