"""Metric tasks: names, what each needs and reports, and its values."""
import numpy as np
import pytest

from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks


def _stats(features, logits=None):
  mu, sigma = scores.moments(features)
  is_mean, is_std = (None, None) if logits is None else scores.inception_score(
      logits, splits=2)
  return statistics.FeatureStatistics(len(features), mu, sigma, features,
                                      is_mean, is_std)


def test_values_of_each_task():
  rng = np.random.RandomState(0)
  real, fake = rng.randn(40, 4), rng.randn(30, 4) + 0.5
  logits = rng.randn(30, 6)
  fid, inception, kid = tasks.make_tasks(tasks.NAMES, inception_score_splits=2,
                                         kid_block_size=16)
  values = {}
  for task in (fid, inception, kid):
    computed = task.compute(_stats(real), _stats(fake, logits))
    assert tuple(computed) == task.value_names()
    values.update(computed)
  assert values["fid"] == scores.frechet_distance_from_activations(real, fake)
  assert (values["inception_score"], values["inception_score_std"]) == (
      scores.inception_score(logits, splits=2))
  assert (values["kid"], values["kid_stderr"]) == (
      scores.kernel_inception_distance(real, fake, 16))
  assert [t.averaged_names() for t in (fid, inception, kid)] == [
      ("fid",), ("inception_score",), ("kid",)]
  assert tasks.keeps_features([kid]) and not tasks.keeps_features([fid])


def test_unknown_names_and_tasks_without_logits():
  with pytest.raises(ValueError, match=r"Unknown metrics \['precision'\]"):
    tasks.make_tasks(("fid", "precision"))
  wanted = tasks.make_tasks(("inception_score", "kid"))
  assert [t.name for t in tasks.available(wanted, has_logits=True)] == [
      "inception_score", "kid"]
  assert [t.name for t in tasks.available(wanted, has_logits=False)] == ["kid"]
  assert tasks.make_tasks(("inception_score",))[0].value_names() == (
      "inception_score",)


def test_kid_explains_its_nan_standard_error_once(caplog):
  rng = np.random.RandomState(0)
  real, fake = _stats(rng.randn(40, 4)), _stats(rng.randn(30, 4))
  (kid,) = tasks.make_tasks(("kid",), kid_block_size=40)
  for _ in range(2):
    assert np.isnan(kid.compute(real, fake)["kid_stderr"])
  (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
  assert warning.startswith("KID's standard error needs at least 2 blocks of "
                            "kid_block_size=40 samples; 40 real and 30 fake samples make "
                            "one, so kid_stderr is reported as NaN")
  (kid,) = tasks.make_tasks(("kid",), kid_block_size=39)
  caplog.clear()
  assert not np.isnan(kid.compute(real, fake)["kid_stderr"])
  assert not caplog.records
