"""Metric tasks: the registry, what each needs and reports, its gin knobs and its values."""
import gin
import numpy as np
import pytest

from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks


def _inputs(real, fake):
  return tasks.EvalInputs(real=real, fake=fake)


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
  gin.parse_config("inception_score.splits = 2\nkid.block_size = 16")
  fid, inception, kid = tasks.make_tasks(("fid", "inception_score", "kid"))
  values = {}
  for task in (fid, inception, kid):
    computed = task.compute(_inputs(_stats(real), _stats(fake, logits)))
    assert tuple(computed) == task.value_names()
    values.update(computed)
  assert values["fid"] == scores.frechet_distance_from_activations(real, fake)
  assert (values["inception_score"], values["inception_score_std"]) == (
      scores.inception_score(logits, splits=2))
  assert (values["kid"], values["kid_stderr"]) == (
      scores.kernel_inception_distance(real, fake, 16))
  assert [t.averaged_names() for t in (fid, inception, kid)] == [
      ("fid",), ("inception_score",), ("kid",)]
  assert [t.needs for t in (fid, inception, kid)] == [
      {tasks.INCEPTION_MOMENTS}, {tasks.INCEPTION_LOGITS}, {tasks.INCEPTION_FEATURES}]
  assert all(t.scores_fakes for t in (fid, inception, kid))


def test_the_registry_holds_every_task_and_refuses_a_nameless_or_odd_one():
  assert tasks.names() == ("fid", "inception_score", "kid", "prdc", "probe")
  assert tasks.names(scoring_fakes=True) == ("fid", "inception_score", "kid", "prdc")
  assert tasks.names(scoring_fakes=False) == ("probe",)

  class Nameless(tasks.MetricTask):
    pass

  class Odd(tasks.MetricTask):
    name = "odd"
    needs = frozenset({"vgg16_features"})

  class Duplicate(tasks.MetricTask):
    name = "fid"

  for cls, message in ((Nameless, "unique name"), (Odd, "unknown inputs"),
                       (Duplicate, "unique name")):
    with pytest.raises(ValueError, match=message):
      tasks.register(cls)
  assert tasks.names() == ("fid", "inception_score", "kid", "prdc", "probe")


def test_knobs_are_validated_when_the_task_is_made():
  for binding, knob in (("kid.block_size = 1", "kid.block_size"),
                        ("inception_score.splits = 0", "inception_score.splits"),
                        ("prdc.precision_recall_k = 0", "prdc.precision_recall_k"),
                        ("prdc.density_coverage_k = 0", "prdc.density_coverage_k"),
                        ("prdc.block_size = 0", "prdc.block_size")):
    gin.clear_config()
    gin.parse_config(binding)
    with pytest.raises(ValueError, match=knob):
      tasks.make_tasks([knob.split(".")[0]])


def test_unknown_names_and_tasks_without_logits():
  with pytest.raises(ValueError, match=r"Unknown metrics \['precision'\]"):
    tasks.make_tasks(("fid", "precision"))
  wanted = ("inception_score", "kid")
  assert [t.name for t in tasks.make_tasks(wanted, has_logits=True)] == [
      "inception_score", "kid"]
  assert [t.name for t in tasks.make_tasks(wanted, has_logits=False)] == ["kid"]
  assert tasks.make_tasks(("inception_score",))[0].value_names() == (
      "inception_score",)


def test_kid_explains_its_nan_standard_error_once(caplog):
  rng = np.random.RandomState(0)
  real, fake = _stats(rng.randn(40, 4)), _stats(rng.randn(30, 4))
  kid = tasks.KernelInceptionDistance(block_size=40)
  for _ in range(2):
    assert np.isnan(kid.compute(_inputs(real, fake))["kid_stderr"])
  (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
  assert warning.startswith("KID's standard error needs at least 2 blocks of "
                            "kid.block_size=40 samples; 40 real and 30 fake samples make "
                            "one, so kid_stderr is reported as NaN")
  kid = tasks.KernelInceptionDistance(block_size=39)
  caplog.clear()
  assert not np.isnan(kid.compute(_inputs(real, fake))["kid_stderr"])
  assert not caplog.records


def test_kid_refuses_set_sizes_it_cannot_block_before_any_extraction():
  kid = tasks.KernelInceptionDistance(block_size=2)
  with pytest.raises(ValueError, match=r"100 real and 3 fake .*kid.block_size=2"):
    kid.check_sizes(100, 3)
  kid.check_sizes(100, 100)
  tasks.KernelInceptionDistance(block_size=100).check_sizes(100, 3)
