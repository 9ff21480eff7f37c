"""The D representation probe: its classifier, its reals and its options."""

import types

import gin
import keras
import numpy as np
import pytest

from compare_ssgan.architectures import registry
from compare_ssgan.data import datasets
from compare_ssgan.metrics import probe
from compare_ssgan.metrics import tasks


def _fit(train_x, train_y, test_x, test_y):
  return probe.linear_probe_accuracy(train_x, train_y, test_x, test_y, C=1.0,
                                     max_iter=1000)


def test_linearly_separable_features_are_classified_perfectly():
  rng = np.random.RandomState(0)
  centres = rng.normal(size=(10, 16)) * 3.0

  def draw(n):
    labels = rng.randint(10, size=n)
    # Tiny features: without standardisation the L2 penalty (C = 1) wins and
    # the classifier is near chance.
    features = (centres[labels] + 0.1 * rng.normal(size=(n, 16))) * 1e-4
    return features.astype(np.float32), labels

  assert _fit(*draw(300), *draw(200)) == 1.0


def test_random_labels_give_chance_accuracy():
  rng = np.random.RandomState(1)
  features = rng.normal(size=(4000, 8)).astype(np.float32)
  labels = rng.randint(10, size=4000)
  accuracy = _fit(features[:2000], labels[:2000], features[2000:], labels[2000:])
  assert accuracy == pytest.approx(0.1, abs=0.03)


def test_reals_are_labelled_fixed_and_from_both_splits():
  ds = datasets.get_dataset("fashion_mnist_embedded")
  options = probe.RepresentationProbe(num_train=12, num_test=7, batch_size=5)
  reals = probe.load_reals(ds, options)
  assert reals.train_images.shape == (12, 32, 32, 1)
  assert reals.test_images.shape == (7, 32, 32, 1)
  assert reals.train_labels.shape == (12,) and reals.test_labels.shape == (7,)
  np.testing.assert_array_equal(reals.test_images,
                                np.concatenate([x for x, _ in ds.eval_dataset(7, 7)]))
  again = probe.load_reals(ds, options)
  np.testing.assert_array_equal(again.train_images, reals.train_images)
  assert not np.isin(reals.train_images.reshape(12, -1).sum(1),
                     reals.test_images.reshape(7, -1).sum(1)).any()
  with pytest.raises(ValueError, match="probe.num_test = 5000.* only 2000"):
    probe.load_reals(ds, probe.RepresentationProbe(num_train=12, num_test=5000))


def test_an_unlabelled_dataset_is_refused_by_name():
  with pytest.raises(ValueError, match="'celeba_hq' has no labels"):
    probe.check_labelled(types.SimpleNamespace(name="celeba_hq", num_classes=0))


def test_the_probe_is_a_task_of_d_with_its_own_gin_knobs():
  (task,) = tasks.make_tasks(["probe"])
  assert isinstance(task, probe.RepresentationProbe) and not task.scores_fakes
  assert task.needs == {tasks.DISCRIMINATOR}


def test_options_are_gin_configurable_and_validated():
  gin.parse_config("probe.num_train = 100\nprobe.C = 0.5")
  options = probe.RepresentationProbe()
  assert (options.num_train, options.num_test, options.C) == (100, 2000, 0.5)
  for knob, bad in (("num_train", 1), ("num_test", 0), ("C", 0.0), ("max_iter", 0),
                    ("batch_size", 2.5)):
    with pytest.raises((ValueError, TypeError), match=f"probe.{knob}"):
      probe.RepresentationProbe(**{knob: bad})


def _task_values(**knobs):
  ds = datasets.get_dataset("fashion_mnist_embedded")
  keras.utils.set_random_seed(0)  # The same D for every call.
  d = registry.make_discriminator("dcgan", ds.image_shape)
  d.build_variables()
  task = probe.RepresentationProbe(num_train=60, num_test=40, batch_size=20, **knobs)
  inputs = tasks.EvalInputs(discriminator=d, dataset=ds)
  return task, inputs, task.compute(inputs)


def test_the_probe_reports_its_own_sample_counts_and_pools_on_a_grid():
  _, _, plain = _task_values()
  assert (plain["probe_num_train"], plain["probe_num_test"]) == (60, 40)
  blocks = sorted(k for k in plain if k.startswith("probe_top1_block"))
  assert blocks and not any("pixels" in k or "random" in k for k in plain)
  _, _, grid = _task_values(grid=2)
  assert sorted(k for k in grid if k.startswith("probe_top1_block")) == blocks
  # Pooling on a grid changes the early blocks' features, not D's own h (the last block).
  assert grid[blocks[-1]] == plain[blocks[-1]]
  assert any(grid[b] != plain[b] for b in blocks[:-1])


def test_baselines_are_pixels_and_random_features_as_wide_as_each_block(monkeypatch):
  task, inputs, values = _task_values(baselines=True)
  reals = task._reals  # pylint: disable=protected-access
  flat = lambda x: x.reshape(len(x), -1)
  assert values["probe_top1_pixels"] == _fit(flat(reals.train_images), reals.train_labels,
                                            flat(reals.test_images), reals.test_labels)
  widths = probe.widths_of(inputs.discriminator, reals, task)
  assert [f"probe_top1_random_{b}" for b in widths] == [
      k for k in values if k.startswith("probe_top1_random_")]
  features = probe.random_features(reals.train_images, widths["block1"], 0)
  assert features.shape == (60, widths["block1"]) and (features >= 0).all()
  np.testing.assert_array_equal(features,
                                probe.random_features(reals.train_images, widths["block1"], 0))
  # Computed once per job: a second checkpoint reuses them.
  monkeypatch.setattr(probe, "baseline_accuracies", lambda *a: pytest.fail("recomputed"))
  again = task.compute(inputs)
  assert again["probe_top1_pixels"] == values["probe_top1_pixels"]
  for knob, bad in (("grid", 0), ("baselines", 1)):
    with pytest.raises((ValueError, TypeError), match=f"probe.{knob}"):
      probe.RepresentationProbe(**{knob: bad})
