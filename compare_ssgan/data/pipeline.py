"""The Dataset class: what a data source declares, and its tf.data pipelines.

A source yields raw examples `(raw_image, label)` in a fixed order (raw = an
encoded image string, a file path or a uint8 array; `decode` turns it into
uint8 [H, W, C]). The train pipeline, per input pipeline (host):

  shard -> per-epoch stateless block shuffle -> skip (resume) -> enumerate
  -> decode + transform + fit -> batch(drop_remainder) -> prefetch

Differences from compare_gan (shuffle(10000) after repeat, seeded op RNG):
each epoch is shuffled in blocks of `shuffle_buffer_size` examples with a
stateless permutation keyed on (seed, epoch, block), and random crops use a
stateless seed (seed, example index). The stream then depends only on `seed`
(not on TF's global seed), every epoch visits each example once, and resuming
at batch k skips whole epochs for free and the rest before any decoding.
"""
import dataclasses
from typing import Callable

from absl import logging
import tensorflow as tf

from compare_ssgan.data import transforms

_MAX_EPOCHS = 2**62


def _deterministic(ds):
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options)


def _shuffled_epochs(examples, num_examples, block_size, seed, first_epoch):
  """Infinite stream of epochs from `first_epoch` on, each block-shuffled."""
  block_size = min(block_size, num_examples)

  def one_epoch(epoch):
    def permute(block_index, block):
      raw, labels = block
      key = tf.random.experimental.stateless_fold_in(
          tf.stack([tf.constant(seed, tf.int64), epoch]), block_index)
      order = tf.random.experimental.stateless_shuffle(
          tf.range(tf.shape(labels)[0]), seed=key)
      return tf.gather(raw, order), tf.gather(labels, order)
    return examples.batch(block_size).enumerate().map(permute).unbatch()

  return tf.data.Dataset.range(first_epoch, _MAX_EPOCHS).flat_map(one_epoch)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A dataset: its declared shape/labels and its train and eval pipelines.

  Attributes:
    name: registry name (`dataset.name`).
    image_shape: (H, W, C) of the images the pipelines yield.
    num_classes: number of classes; 0 if unlabelled (labels are then zeros).
    eval_split: which examples form the eval split (documentation string).
    eval_num_examples: default number of eval reals (the paper's FID count).
    train_examples / eval_examples: () -> tf.data.Dataset of (raw, int32
      label), fixed order, known cardinality.
    decode: raw -> uint8 [H, W, C].
    train_transform / eval_transform: (float image, resolution, seed) ->
      image; the dataset's own crops (compare_gan's), before `fit`.
    resize_method, seed, shuffle_buffer_size: see `datasets.get_dataset`.
  """
  name: str
  image_shape: tuple
  num_classes: int
  eval_split: str
  eval_num_examples: int
  train_examples: Callable[[], tf.data.Dataset]
  eval_examples: Callable[[], tf.data.Dataset]
  decode: Callable[[tf.Tensor], tf.Tensor]
  train_transform: Callable = transforms.identity_transform
  eval_transform: Callable = transforms.identity_transform
  resize_method: str = "pad"
  seed: int = 547
  shuffle_buffer_size: int = 10000

  def _prepare(self, raw, transform, seed):
    resolution, _, channels = self.image_shape
    image = transforms.to_float(self.decode(raw))
    image = transform(image, resolution, seed)
    return transforms.fit(image, resolution, self.resize_method, channels)

  def train_input_fn(self, input_context=None, per_replica_batch_size=64,
                     seed=None, start_batch=0):
    """Infinite, shuffled train batches (images [b, H, W, C], labels [b]).

    Args:
      input_context: a `tf.distribute.InputContext` or None; with several
        input pipelines each one reads its own shard with seed + pipeline id.
      per_replica_batch_size: batch size of each yielded batch.
      seed: shuffle/crop seed; None uses `self.seed`.
      start_batch: number of batches (of this size) already consumed; batch i
        of the result equals batch start_batch + i of a fresh pipeline.

    Returns:
      A deterministic tf.data.Dataset of (float32 images in [0, 1], int32
      labels), batched with drop_remainder.
    """
    seed = self.seed if seed is None else seed
    examples = self.train_examples()
    if input_context is not None and input_context.num_input_pipelines > 1:
      examples = examples.shard(input_context.num_input_pipelines,
                                input_context.input_pipeline_id)
      seed += input_context.input_pipeline_id
    num_examples = tf.get_static_value(examples.cardinality())
    if num_examples is None or num_examples <= 0:
      raise ValueError(
          f"Dataset {self.name!r}: the train split (this input pipeline's "
          f"shard) must be non-empty and of known size; got cardinality "
          f"{num_examples}.")
    start = start_batch * per_replica_batch_size
    ds = _shuffled_epochs(examples, int(num_examples), self.shuffle_buffer_size,
                          seed, start // num_examples)
    ds = ds.skip(start % num_examples).enumerate(start)
    ds = ds.map(
        lambda index, example: (  # pylint: disable=g-long-lambda
            self._prepare(example[0], self.train_transform,
                          tf.stack([tf.constant(seed, tf.int64), index])),
            example[1]),
        num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(per_replica_batch_size, drop_remainder=True)
    return _deterministic(ds.prefetch(tf.data.AUTOTUNE))

  def eval_dataset(self, num_examples=None, batch_size=64):
    """The first `num_examples` eval examples, unshuffled, in batches.

    num_examples=None uses `self.eval_num_examples`. The last batch may be
    smaller. These are compare_gan's FID reals.
    """
    num_examples = (self.eval_num_examples if num_examples is None
                    else num_examples)
    examples = self.eval_examples()
    available = tf.get_static_value(examples.cardinality())
    if available is not None and 0 <= available < num_examples:
      logging.warning("Dataset %s: eval split %s has only %d examples, fewer "
                      "than the %d requested.", self.name, self.eval_split,
                      available, num_examples)
    ds = examples.take(num_examples).map(
        lambda raw, label: (self._prepare(raw, self.eval_transform, None),
                            label),
        num_parallel_calls=tf.data.AUTOTUNE)
    return _deterministic(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))
