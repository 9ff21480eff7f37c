"""The D representation probe: its classifier, its reals and its options."""

import types

import gin
import numpy as np
import pytest

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
