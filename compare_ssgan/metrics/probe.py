"""The representation probe of D (Chen et al. 2019, section 4.4, Tables 3/4, Fig. 2).

How linearly decodable the class is from D's features after each block: a multinomial
logistic regression fitted on `num_train` labelled train-split reals and scored (top-1
accuracy) on `num_test` labelled eval-split reals, one per block. The reals are the same
for every checkpoint (`Dataset.train_reals` and `eval_dataset`: fixed choices), loaded
once per evaluator job. Each block's features are standardised with the mean and std of
its train features only. Not an Inception metric: it needs D and labelled reals, not G.

Values `probe_top1_block1` ... `probe_top1_blockK`, K being D's pre-logit features h
(`BaseDiscriminator.block_features`), each block's map averaged over H and W (`probe.grid` =
1, the paper's choice) or over each cell of a grid x grid partition (C * grid^2 features:
global pooling gives a late, wide block more features than an early, narrow one, which
confounds a ranking of blocks with their width). `probe_num_train` / `probe_num_test`
record the probe's own sample counts beside them.

With `probe.baselines`, the same classifier on the same reals also gives what D's features
must beat: `probe_top1_pixels` (the raw pixels) and `probe_top1_random_block<k>` (random
frozen ReLU features of the pixels, as wide as D's block k: width alone). They do not depend
on the checkpoint: computed once per job, reported at every one. The untrained D is the
run's own probe at step 0.
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
    grid: pool each block's map to grid x grid cells (1: global average pooling).
    baselines: also report the pixel and random-feature baselines (see the module).
  """
  name = "probe"
  needs = frozenset({tasks.DISCRIMINATOR})

  def __init__(self, num_train=5000, num_test=2000, C=1.0, max_iter=1000,  # pylint: disable=invalid-name
               batch_size=256, grid=1, baselines=False):
    validate.integer("probe.num_train", num_train, minimum=2)
    validate.integer("probe.num_test", num_test, minimum=1)
    validate.number("probe.C", C, minimum=0, min_inclusive=False)
    validate.integer("probe.max_iter", max_iter, minimum=1)
    validate.integer("probe.batch_size", batch_size, minimum=1)
    validate.integer("probe.grid", grid, minimum=1)
    validate.boolean("probe.baselines", baselines)
    self.num_train, self.num_test = num_train, num_test
    self.C, self.max_iter, self.batch_size = C, max_iter, batch_size  # pylint: disable=invalid-name
    self.grid, self.baselines = grid, baselines
    self._reals = None
    self._baselines = None  # {value name: accuracy}, once per job.

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
    values = probe_accuracies(inputs.discriminator, self._reals, self)
    if self.baselines:
      if self._baselines is None:
        self._baselines = baseline_accuracies(
            self._reals, self, widths_of(inputs.discriminator, self._reals, self))
      values.update(self._baselines)
    values.update(probe_num_train=len(self._reals.train_labels),
                  probe_num_test=len(self._reals.test_labels))
    return values


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


def _features_fn(discriminator, grid):
  return tf.function(lambda x: discriminator.block_features(x, grid=grid),
                     reduce_retracing=True)


def widths_of(discriminator, reals, options):
  """{block name: number of features} of D's blocks under the probe's pooling."""
  features = _features_fn(discriminator, options.grid)(tf.constant(reals.test_images[:1]))
  return {name: int(f.shape[1]) for name, f in features.items()}


def random_features(images, width, seed):
  """ReLU(x W + b) of the flattened pixels, W ~ N(0, 1 / dim), b ~ N(0, 1): a fixed random
  map as wide as a block of D, with nothing learned."""
  flat = images.reshape(len(images), -1).astype(np.float64)
  rng = np.random.default_rng(seed)
  weights = rng.normal(0.0, 1.0 / np.sqrt(flat.shape[1]), (flat.shape[1], width))
  return np.maximum(flat @ weights + rng.normal(size=width), 0.0).astype(np.float32)


def baseline_accuracies(reals, options, widths):
  """The probe on the raw pixels and on random features as wide as each block of D."""
  def accuracy(train, test):
    return linear_probe_accuracy(train, reals.train_labels, test, reals.test_labels,
                                 options.C, options.max_iter)
  flat = lambda images: images.reshape(len(images), -1)
  values = {VALUE_PREFIX + "pixels": accuracy(flat(reals.train_images),
                                              flat(reals.test_images))}
  for seed, (name, width) in enumerate(widths.items()):
    # One random map per block, the same for its train and test images.
    values[f"{VALUE_PREFIX}random_{name}"] = accuracy(
        random_features(reals.train_images, width, seed),
        random_features(reals.test_images, width, seed))
    logging.info("Probe baseline: random features as wide as %s (%d): top-1 %.4f.", name,
                 width, values[f"{VALUE_PREFIX}random_{name}"])
  return values


def probe_accuracies(discriminator, reals, options):
  """{"probe_top1_block<k>": accuracy} for every block of D."""
  compute = _features_fn(discriminator, options.grid)
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
