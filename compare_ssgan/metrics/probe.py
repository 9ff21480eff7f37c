"""The representation probe of D (Chen et al. 2019, section 4.4, Tables 3/4, Fig. 2).

How linearly decodable the class is from D's features after each block: a multinomial
logistic regression fitted on `num_train` labelled train-split reals and scored (top-1
accuracy) on `num_test` labelled eval-split reals, one per block. The reals are the same
for every checkpoint (`Dataset.train_reals` and `eval_dataset`: fixed choices), loaded
once per evaluator job. Each block's features are standardised with the mean and std of
its train features only. Not an Inception metric: it needs D and labelled reals, not G.

Values `probe_top1_block1` ... `probe_top1_blockK`, K being D's pre-logit features h
(`BaseDiscriminator.block_features`).
"""

import dataclasses

from absl import logging
import gin
import numpy as np
from sklearn import linear_model
from sklearn import preprocessing
import tensorflow as tf
import threadpoolctl

from compare_ssgan import validate
from compare_ssgan.metrics import tasks

VALUE_PREFIX = "probe_top1_"
_RANDOM_STATE = 0  # lbfgs is deterministic; fixed for any solver that is not.


@tasks.register
@gin.configurable("probe")
class RepresentationProbe(tasks.MetricTask):
  """The probe as a metric task (`evaluation.metrics = [..., "probe"]`; knobs `probe.*`).

  Args:
    num_train: labelled train-split reals the classifier is fitted on (the paper's
      counts are not retrieved; CIFAR10's whole train split is 50000).
    num_test: labelled eval-split reals it is scored on (CIFAR10's test split: 10000).
    C: inverse L2 regularisation strength of the logistic regression.
    max_iter: lbfgs iterations per fit.
    batch_size: images per D call.
  """
  name = "probe"
  needs = frozenset({tasks.DISCRIMINATOR})

  def __init__(self, num_train=5000, num_test=2000, C=1.0, max_iter=1000,  # pylint: disable=invalid-name
               batch_size=256):
    validate.integer("probe.num_train", num_train, minimum=2)
    validate.integer("probe.num_test", num_test, minimum=1)
    validate.number("probe.C", C, minimum=0, min_inclusive=False)
    validate.integer("probe.max_iter", max_iter, minimum=1)
    validate.integer("probe.batch_size", batch_size, minimum=1)
    self.num_train, self.num_test = num_train, num_test
    self.C, self.max_iter, self.batch_size = C, max_iter, batch_size  # pylint: disable=invalid-name
    self._reals = None

  def value_names(self):
    return ()  # One per block of D: known once D is seen.

  def averaged_names(self):
    return ()

  def check(self, dataset):
    """Refuses an unlabelled dataset before any checkpoint is evaluated."""
    check_labelled(dataset)

  def compute(self, inputs):
    if self._reals is None:  # The same reals for every checkpoint: loaded once.
      self._reals = load_reals(inputs.dataset, self)
    return probe_accuracies(inputs.discriminator, self._reals, self)


@dataclasses.dataclass(frozen=True)
class ProbeReals:
  """The labelled reals of the probe: float32 images [N, H, W, C], int labels [N]."""
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray


def _collect(batches, num_examples, dataset_name, knob):
  images, labels = zip(*((np.asarray(x), np.asarray(y)) for x, y in batches))
  images, labels = np.concatenate(images), np.concatenate(labels)
  if len(labels) < num_examples:
    raise ValueError(f"{knob} = {num_examples}, but that split of dataset "
                     f"{dataset_name!r} has only {len(labels)} examples.")
  return images, labels.astype(np.int64)


def check_labelled(dataset):
  if not dataset.num_classes:
    raise ValueError(f"evaluation.metrics has 'probe', but dataset {dataset.name!r} has "
                     "no labels (num_classes=0): the probe classifies labelled reals.")


def load_reals(dataset, options):
  """The probe's train and test reals of a `pipeline.Dataset`.

  Raises:
    ValueError: the dataset is unlabelled or has too few examples.
  """
  check_labelled(dataset)
  train = _collect(dataset.train_reals(options.num_train, options.batch_size),
                   options.num_train, dataset.name, "probe.num_train")
  test = _collect(dataset.eval_dataset(options.num_test, options.batch_size),
                  options.num_test, dataset.name, "probe.num_test")
  return ProbeReals(*train, *test)


def _block_features(compute, images, batch_size):
  """{block name: float32 [N, C]} of `compute` (D.block_features) on images, in batches."""
  batches = [compute(tf.constant(images[i:i + batch_size]))
             for i in range(0, len(images), batch_size)]
  return {name: np.concatenate([b[name].numpy() for b in batches])
          for name in batches[0]}


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, C,
                          max_iter):
  """Top-1 test accuracy of a multinomial logistic regression on standardised features.

  The standardisation (mean, std) is fitted on the train features only. With more than
  two classes scikit-learn's lbfgs fits the multinomial (softmax) loss.
  """
  scaler = preprocessing.StandardScaler().fit(train_features)
  classifier = linear_model.LogisticRegression(
      C=C, solver="lbfgs", max_iter=max_iter, random_state=_RANDOM_STATE)
  # One OpenMP / BLAS thread: their threads spin-wait, and on a busy CPU (a trainer
  # next to the evaluator) two of them made a 5000 x 32 fit 50x slower than one.
  with threadpoolctl.threadpool_limits(limits=1):
    classifier.fit(scaler.transform(train_features), train_labels)
  if classifier.n_iter_.max() >= max_iter:
    logging.warning("The probe's logistic regression stopped at probe.max_iter=%d "
                    "iterations before converging; its accuracy may be low.", max_iter)
  return float(classifier.score(scaler.transform(test_features), test_labels))


def probe_accuracies(discriminator, reals, options):
  """{"probe_top1_block<k>": accuracy} for every block of D."""
  compute = tf.function(discriminator.block_features, reduce_retracing=True)
  train = _block_features(compute, reals.train_images, options.batch_size)
  test = _block_features(compute, reals.test_images, options.batch_size)
  values = {}
  for name in train:
    values[VALUE_PREFIX + name] = linear_probe_accuracy(
        train[name], reals.train_labels, test[name], reals.test_labels, options.C,
        options.max_iter)
    logging.info("Probe %s (%d features): top-1 %.4f.", name, train[name].shape[1],
                 values[VALUE_PREFIX + name])
  return values
