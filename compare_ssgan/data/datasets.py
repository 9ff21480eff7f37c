"""Dataset registry and the entry points the trainer and evaluator use.

  ds = datasets.get_dataset()          # gin: dataset.name, dataset.data_dir...
  ds.train_input_fn(input_context, batch_size, seed=seed, start_batch=k)
  ds.eval_dataset(num_examples, batch_size)
  datasets.distributed_train_dataset(strategy, ds, global_batch_size, seed)

Names: TFDS datasets of compare_gan (tfds_source.py) and local ones
(local_sources.py): the offline default `fashion_mnist_embedded`,
`fashion_mnist_local`, `cifar10_archive` (the official CIFAR-10 python
archive, cifar10_archive.py), and the generic `idx`, `npz` and `image_folder`.
"""
import dataclasses
import functools

import gin

from compare_ssgan import validate
from compare_ssgan.data import local_sources
from compare_ssgan.data import tfds_source
from compare_ssgan.data import transforms

_FACTORIES = {
    **{spec.name: functools.partial(tfds_source.make, spec)
       for spec in tfds_source.SPECS},
    **local_sources.FACTORIES,
}
# Spellings without compare_gan's hyphens.
_ALIASES = {"lsun_bedroom": "lsun-bedroom", "fashion_mnist": "fashion-mnist"}


def known_names():
  return sorted(_FACTORIES) + sorted(_ALIASES)


@gin.configurable("dataset")
def get_dataset(name="fashion_mnist_embedded", data_dir=None, resolution=None,
                resize_method="pad", num_channels=None, eval_num_examples=None,
                skip_undecodable_images=False):
  """Returns the `pipeline.Dataset` called `name`.

  Args:
    name: a registered name (see `known_names()`).
    data_dir: TFDS data_dir (None: TFDS default) or the local file/folder.
    resolution: side of the square images; None keeps the dataset's own.
    resize_method: how images reach the resolution: "pad" (centre pad or
      crop), "resize" or "center_crop" (see `transforms.fit`).
    num_channels: 1 or 3 to convert; None keeps the dataset's own.
    eval_num_examples: eval reals; None uses the paper's count for the set.
    skip_undecodable_images: image_folder only. Every file is decoded once
      when the dataset is built; False: an undecodable file raises, naming
      it; True: such files are skipped, with one warning naming them.
  """
  if _ALIASES.get(name, name) not in _FACTORIES:
    raise ValueError(f"Unknown dataset {name!r}; known datasets: "
                     f"{', '.join(known_names())}.")
  validate.choice("dataset.resize_method", resize_method,
                  transforms.RESIZE_METHODS)
  if num_channels is not None:  # An integer: True would pass as 1 below.
    validate.integer("dataset.num_channels", num_channels)
  validate.choice("dataset.num_channels", num_channels, (None, 1, 3))
  for knob, value in (("resolution", resolution),
                      ("eval_num_examples", eval_num_examples)):
    if value is not None:
      validate.integer(f"dataset.{knob}", value, minimum=1)
  validate.boolean("dataset.skip_undecodable_images", skip_undecodable_images)
  name = _ALIASES.get(name, name)
  options = {}
  if name == "image_folder":
    options = dict(skip_undecodable_images=skip_undecodable_images,
                   num_channels=num_channels)
  elif skip_undecodable_images:
    raise ValueError(f"dataset.skip_undecodable_images = True applies to "
                     f"image_folder only; got dataset.name = {name!r}.")
  ds = _FACTORIES[name](data_dir, **options)
  side, _, channels = ds.image_shape
  return dataclasses.replace(
      ds,
      image_shape=(resolution or side, resolution or side,
                   num_channels or channels),
      resize_method=resize_method,
      eval_num_examples=eval_num_examples or ds.eval_num_examples)


def distributed_train_dataset(strategy, ds, global_batch_size, seed,
                              start_batch=0):
  """`ds`'s train batches distributed over `strategy`'s replicas.

  Each input pipeline yields per-replica batches that the strategy hands to
  its replicas in turn, so with one pipeline a step's replicas get
  consecutive batches of one stream: the same examples as a single replica
  with the global batch. With several pipelines (one per worker), each yields
  its replicas' share of that global batch (see pipeline.py), worker i's
  replicas being global replicas i*k..i*k+k-1 as MultiWorkerMirroredStrategy
  numbers them. `start_batch` counts global steps already taken.
  """
  replicas = strategy.num_replicas_in_sync
  if global_batch_size % replicas:
    raise ValueError(f"Global batch size {global_batch_size} must be "
                     f"divisible by the number of replicas ({replicas}).")

  def dataset_fn(input_context):
    per_pipeline = (input_context.num_replicas_in_sync //
                    input_context.num_input_pipelines)
    return ds.train_input_fn(
        input_context,
        input_context.get_per_replica_batch_size(global_batch_size),
        seed=seed, start_batch=start_batch * per_pipeline)

  return strategy.distribute_datasets_from_function(dataset_fn)
