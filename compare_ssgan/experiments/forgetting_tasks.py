"""The forgetting experiment's binary tasks (`forgetting.py`): which classes are target 1
and 0, balanced training batches, balanced held-out sets, and the dataset's splits as arrays.

--tasks=one_vs_all (the paper's): task k is "class k vs the rest". --tasks=similar_pairs
(Fashion-MNIST only): SIMILAR_PAIRS, five pairs of classes that look alike at 28x28, harder
than one-vs-all and contradicting each other (0-based: Coat is target 0 in task 1 and
target 1 in task 4; Shirt is target 0 in tasks 0, 3 and 4). A batch alternates a target-1
and a target-0 image, each uniform (with replacement) over its side's training images; a
held-out set is every test image of the target-1 classes and as many of the target-0 ones,
so chance is 0.5.
"""
import dataclasses
import math

from absl import app
import numpy as np
import tensorflow as tf

from compare_ssgan.data import pipeline
from compare_ssgan.gans import randomness

TASK_FAMILIES = ("one_vs_all", "similar_pairs")
FASHION_MNIST_DATASETS = ("fashion_mnist_local", "fashion_mnist_embedded", "fashion_mnist",
                          "fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
# (target 1, target 0): T-shirt/top vs Shirt, Pullover vs Coat, Sneaker vs Ankle boot,
# Pullover vs Shirt, Coat vs Shirt.
SIMILAR_PAIRS = ((0, 6), (2, 4), (7, 9), (2, 6), (4, 6))
_CHUNK = 500  # Images per pipeline batch when loading.


@dataclasses.dataclass(frozen=True)
class Task:
  """A binary task: images of `positives` have target 1, those of `negatives` 0."""
  name: str
  positives: tuple
  negatives: tuple


def make_tasks(family, dataset, num_classes):
  """The tasks of `--tasks=family` on `dataset` (num_classes classes)."""
  if family == "one_vs_all":
    if num_classes < 2:
      raise app.UsageError(f"--dataset={dataset} has {num_classes} classes; the one-vs-all "
                           "tasks need a labelled dataset (>= 2 classes).")
    return [Task(f"{k} vs rest", (k,), tuple(c for c in range(num_classes) if c != k))
            for k in range(num_classes)]
  if family == "similar_pairs":
    if dataset not in FASHION_MNIST_DATASETS:
      raise app.UsageError(f"--tasks=similar_pairs pairs Fashion-MNIST classes; --dataset="
                           f"{dataset} is not one of {', '.join(FASHION_MNIST_DATASETS)}.")
    return [Task(f"{FASHION_MNIST_CLASSES[a]} vs {FASHION_MNIST_CLASSES[b]}", (a,), (b,))
            for a, b in SIMILAR_PAIRS]
  raise app.UsageError(f"--tasks={family}: expected one of {', '.join(TASK_FAMILIES)}.")


def _num_examples(examples):
  if isinstance(examples, pipeline.InMemory):
    return len(examples)
  return int(tf.get_static_value(examples().cardinality()))


def load_split(ds, split, seed):
  """All of `ds`'s "train" or "test" split, as the pipelines yield it: float32 images
  [N, H, W, C] and int32 labels [N]. The train part is one epoch of the train stream
  (every example once, `seed`'s order and crops); the test part is the eval split."""
  if split == "train":
    n = _num_examples(ds.train_examples)
    batches = ds.train_input_fn(None, _CHUNK, seed=seed).take(math.ceil(n / _CHUNK))
  else:
    n = _num_examples(ds.eval_examples)
    batches = ds.eval_dataset(n, _CHUNK)
  images, labels = zip(*batches.as_numpy_iterator())
  return np.concatenate(images)[:n], np.concatenate(labels)[:n].astype(np.int32)


class TaskBatches:
  """Balanced training batches of binary tasks, drawn from images sorted by class."""

  def __init__(self, images, labels, tasks):
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    lists = {"positives": [], "negatives": []}
    for index, task in enumerate(tasks):
      for side, classes in (("positives", task.positives), ("negatives", task.negatives)):
        positions = np.flatnonzero(np.isin(sorted_labels, classes)).astype(np.int32)
        if not len(positions):
          raise ValueError(f"Task {index} ({task.name}) has no training images of its "
                           f"target-{int(side == 'positives')} classes {list(classes)}; "
                           "every task needs both.")
        lists[side].append(positions)
    self.images = tf.constant(images[order])
    self.labels = tf.constant(sorted_labels)
    self.positions = {side: tf.constant(np.concatenate(p)) for side, p in lists.items()}
    self.counts = {side: tf.constant([len(x) for x in p], tf.int32) for side, p in lists.items()}
    self.starts = {side: tf.constant(np.cumsum([len(x) for x in p]) - [len(x) for x in p],
                                     tf.int32) for side, p in lists.items()}

  def batch(self, task, batch_size, seed):
    """Task `task`'s batch: images, float targets, class labels. Rows alternate a target-1
    image and a target-0 image, each uniform over its side's images."""
    half = batch_size // 2
    drawn = {}
    for side in ("positives", "negatives"):
      offsets = tf.random.stateless_uniform(
          [half], randomness.fold_in(seed, side), 0, self.counts[side][task], tf.int32)
      drawn[side] = tf.gather(self.positions[side], self.starts[side][task] + offsets)
    indices = tf.reshape(tf.stack([drawn["positives"], drawn["negatives"]], axis=1), [-1])
    return (tf.gather(self.images, indices), tf.tile([1.0, 0.0], [half]),
            tf.gather(self.labels, indices))


def balanced_eval_indices(labels, task):
  """Every held-out image of the task's target-1 classes and as many of its target-0
  classes (the first ones)."""
  positives = np.flatnonzero(np.isin(labels, task.positives))
  negatives = np.flatnonzero(np.isin(labels, task.negatives))
  n = min(len(positives), len(negatives))
  return np.concatenate([positives[:n], negatives[:n]])
