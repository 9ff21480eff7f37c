"""The Dataset class: what a data source declares, and its tf.data pipelines.

A source holds raw examples `(raw_image, label)` (raw = an encoded image
string, a file path or a uint8 array; `decode` turns it into uint8 [H, W, C]),
either in memory (`InMemory`, the local sources: read by index) or as a
tf.data stream in a fixed order (TFDS: no random access). The train pipeline,
per input pipeline (host):

  (position, example) of the one global stream, from the resume position on
  -> this pipeline's share of each global batch
  -> decode + transform + fit -> batch(drop_remainder) -> prefetch

Positions are global: with several input pipelines (multi-worker), pipeline i
takes the i-th contiguous share of every global batch, the examples its
replicas would get from one pipeline, so a global batch and its per-example
randomness do not depend on how many workers or replicas read it. (Every
pipeline walks the whole stream; only its own share is decoded.)

Order, unlike compare_gan's shuffle(10000) after repeat with a seeded op RNG:
- In memory: epoch e is a fresh permutation of the examples, keyed on
  (seed, e). `index_shuffle` computes the example at each position from the
  position alone, so no permutation is materialised and resuming at batch k
  decodes nothing before it.
- TFDS: the split is stored in a fixed pseudo-random order (TFDS's writer
  sorts examples by a hash of their key, so a class-contiguous order cannot
  occur), and each epoch is shuffled within consecutive windows of
  `_STREAM_WINDOW` examples keyed on (seed, epoch, window); resuming skips
  whole epochs for free and the rest before any decoding.
Random crops use a stateless seed (seed, position). The stream then depends
only on `seed` (not on TF's global seed) and every epoch visits each example
once.

Eval reals: the first N of one fixed permutation of the eval split, keyed on
`EVAL_PERMUTATION_SEED` (not the training seed, so every run of a dataset
scores against the same reals); for TFDS the first N in its stored order.
"""
import dataclasses
from typing import Callable, Union

from absl import logging
import numpy as np
import tensorflow as tf

from compare_ssgan.data import transforms

_MAX_POSITIONS = 2**62
_STREAM_WINDOW = 10000
EVAL_PERMUTATION_SEED = 20200301  # Fixed: all runs share the same reals.


@dataclasses.dataclass(frozen=True)
class InMemory:
  """Examples held in memory and read by index: (raw[i], labels[i])."""
  raw: np.ndarray  # uint8 images [N, H, W, C] or file paths [N].
  labels: np.ndarray  # int32 [N].

  def __len__(self):
    return len(self.labels)


def _deterministic(ds):
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options)


def _permuted(examples, seed, start, stop=_MAX_POSITIONS):
  """(position, example) for positions [start, stop) of in-memory examples.

  Position p is example index_shuffle(p % n) of epoch p // n, whose
  permutation is keyed on (seed, epoch).
  """
  num_examples = len(examples)
  raw, labels = tf.constant(examples.raw), tf.constant(examples.labels)

  def example(position):
    index = tf.random.experimental.index_shuffle(
        position % num_examples,
        tf.stack([tf.constant(seed, tf.int64), position // num_examples]),
        tf.constant(num_examples - 1, tf.int64))
    return position, (tf.gather(raw, index), tf.gather(labels, index))

  return tf.data.Dataset.range(start, stop).map(example)


def _window_shuffled(examples, num_examples, seed, start):
  """(position, example) from `start` on of a stream, window-shuffled."""
  window = min(_STREAM_WINDOW, num_examples)

  def one_epoch(epoch):
    def permute(window_index, block):
      raw, labels = block
      key = tf.random.experimental.stateless_fold_in(
          tf.stack([tf.constant(seed, tf.int64), epoch]), window_index)
      order = tf.random.experimental.stateless_shuffle(
          tf.range(tf.shape(labels)[0]), seed=key)
      return tf.gather(raw, order), tf.gather(labels, order)
    return examples.batch(window).enumerate().map(permute).unbatch()

  epochs = tf.data.Dataset.range(start // num_examples, _MAX_POSITIONS)
  return (epochs.flat_map(one_epoch).skip(start % num_examples)
          .enumerate(start))


def _fixed_order(examples):
  if isinstance(examples, InMemory):
    return f"perm{EVAL_PERMUTATION_SEED}"
  return "stored"


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A dataset: its declared shape/labels and its train and eval pipelines.

  Attributes:
    name: registry name (`dataset.name`).
    image_shape: (H, W, C) of the images the pipelines yield.
    num_classes: number of classes; 0 if unlabelled (labels are then zeros).
    eval_split: which examples form the eval split (documentation string).
    train_split: the same for the train split.
    eval_num_examples: default number of eval reals (the paper's FID count).
    train_examples / eval_examples: the examples (int32 labels), either
      `InMemory` or a callable returning a tf.data.Dataset of (raw, label) in
      a fixed order with known cardinality.
    decode: raw -> uint8 [H, W, C].
    train_transform / eval_transform: (float image, resolution, seed) ->
      image; the dataset's own crops (compare_gan's), before `fit`.
    resize_method: see `datasets.get_dataset`.
  """
  name: str
  image_shape: tuple
  num_classes: int
  eval_split: str
  eval_num_examples: int
  train_examples: Union[InMemory, Callable[[], tf.data.Dataset]]
  eval_examples: Union[InMemory, Callable[[], tf.data.Dataset]]
  decode: Callable[[tf.Tensor], tf.Tensor]
  train_transform: Callable = transforms.identity_transform
  eval_transform: Callable = transforms.identity_transform
  resize_method: str = "pad"
  train_split: str = "train"

  @property
  def eval_order(self):
    """Which eval examples come first (a real-statistics cache key part)."""
    return _fixed_order(self.eval_examples)

  @property
  def train_order(self):
    """Which train examples `train_reals` puts first (as `eval_order`)."""
    return _fixed_order(self.train_examples)

  def _prepare(self, raw, transform, seed):
    resolution, _, channels = self.image_shape
    image = transforms.to_float(self.decode(raw))
    image = transform(image, resolution, seed)
    return transforms.fit(image, resolution, self.resize_method, channels)

  def train_input_fn(self, input_context=None, per_replica_batch_size=64, *,
                     seed, start_batch=0):
    """Infinite, shuffled train batches (images [b, H, W, C], labels [b]).

    Args:
      input_context: a `tf.distribute.InputContext` or None; with several
        input pipelines each one yields its replicas' parts of every global
        batch (see the module docstring).
      per_replica_batch_size: batch size of each yielded batch.
      seed: shuffle/crop seed (the trainer's `Trainer.seed`).
      start_batch: number of batches (of this size) this pipeline already
        yielded; batch i of the result equals batch start_batch + i of a
        fresh pipeline.

    Returns:
      A deterministic tf.data.Dataset of (float32 images in [0, 1], int32
      labels), batched with drop_remainder.
    """
    in_memory = isinstance(self.train_examples, InMemory)
    examples = self.train_examples if in_memory else self.train_examples()
    num_examples = (len(examples) if in_memory else
                    tf.get_static_value(examples.cardinality()))
    if num_examples is None or num_examples <= 0:
      raise ValueError(
          f"Dataset {self.name!r}: the train split must be non-empty and of "
          f"known size; got cardinality {num_examples}.")
    pipelines, share = 1, per_replica_batch_size
    if input_context is not None and input_context.num_input_pipelines > 1:
      pipelines = input_context.num_input_pipelines
      replicas_per_pipeline = input_context.num_replicas_in_sync // pipelines
      share = per_replica_batch_size * replicas_per_pipeline
      if start_batch % replicas_per_pipeline:
        raise ValueError(
            f"start_batch={start_batch} must be a whole number of global "
            f"batches ({replicas_per_pipeline} batches per pipeline).")
    start = start_batch * per_replica_batch_size * pipelines
    if in_memory:
      ds = _permuted(examples, seed, start)
    else:
      ds = _window_shuffled(examples, int(num_examples), seed, start)
    if pipelines > 1:
      # `start` begins a global batch, so share j of the stream belongs to
      # pipeline j % pipelines.
      ds = ds.batch(share).shard(pipelines,
                                 input_context.input_pipeline_id).unbatch()
    ds = ds.map(
        lambda position, example: (  # pylint: disable=g-long-lambda
            self._prepare(example[0], self.train_transform,
                          tf.stack([tf.constant(seed, tf.int64), position])),
            example[1]),
        num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(per_replica_batch_size, drop_remainder=True)
    return _deterministic(ds.prefetch(tf.data.AUTOTUNE))

  def eval_dataset(self, num_examples=None, batch_size=64):
    """The eval reals: `num_examples` eval examples in batches.

    num_examples=None uses `self.eval_num_examples`. The last batch may be
    smaller. The same examples in the same order on every call (see the
    module docstring); these are the FID reals.
    """
    num_examples = (self.eval_num_examples if num_examples is None
                    else num_examples)
    return self._fixed_reals(self.eval_examples, f"eval split {self.eval_split}",
                             num_examples, batch_size)

  def train_reals(self, num_examples, batch_size=64):
    """`num_examples` labelled train-split reals, chosen and ordered as
    `eval_dataset` chooses the eval reals (same permutation, no random
    crops): the same examples on every call, e.g. for the D probe."""
    return self._fixed_reals(self.train_examples, "train split", num_examples,
                             batch_size)

  def _fixed_reals(self, source, split, num_examples, batch_size):
    """The first `num_examples` of `source` in its fixed order, eval-transformed."""
    in_memory = isinstance(source, InMemory)
    examples = source if in_memory else source()
    available = (len(examples) if in_memory else
                 tf.get_static_value(examples.cardinality()))
    if available is not None and 0 <= available < num_examples:
      logging.warning("Dataset %s: %s has only %d examples, fewer than the %d "
                      "requested.", self.name, split, available, num_examples)
    if in_memory:
      ds = _permuted(examples, EVAL_PERMUTATION_SEED, 0,
                     min(num_examples, available)).map(
                         lambda unused_position, example: example)
    else:
      ds = examples.take(num_examples)
    ds = ds.map(
        lambda raw, label: (self._prepare(raw, self.eval_transform, None),
                            label),
        num_parallel_calls=tf.data.AUTOTUNE)
    return _deterministic(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))
