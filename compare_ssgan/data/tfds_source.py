"""TFDS datasets with compare_gan's splits and preprocessing.

name            TFDS name       res C classes train / eval split          eval N
cifar10         cifar10          32 3      10 train / test                10k
celeb_a         celeb_a          64 3       0 train / test                10k
celeb_a_hq_128  celeb_a_hq/128  128 3       0 train[:27000]/train[27000:]  3k
lsun-bedroom    lsun/bedroom    128 3       0 train[:99%] / train[99%:]   10k
imagenet_64     imagenet2012     64 3    1000 train / validation          10k
imagenet_128    imagenet2012    128 3    1000 train / validation          10k
mnist           mnist            28 1      10 train / test                10k
fashion-mnist   fashion_mnist    28 1      10 train / test                10k

eval N is the paper's FID count (`dataset.eval_num_examples` overrides);
compare_gan v3 used 30k for LSUN and 50k for ImageNet.

Preprocessing (compare_gan v3): CelebA centre crop/pad 160 then resize; LSUN
centre crop/pad to 128 without resizing; ImageNet "distorted" train crop and
"middle" eval crop, then resize (`train_imagenet_transform.crop_method`,
`eval_imagenet_transform.crop_method`). CelebA-HQ (missing from v3) follows v2,
which took 27k/3k of the 30k images (TFRecord shards 0-89 / 90-99); TFDS has a
single 30k "train" split, so its first 27000 examples train and the last 3000
evaluate (same sizes, not the same images as v2's shards).
"""
import dataclasses
import functools
from typing import Callable

import tensorflow as tf
import tensorflow_datasets as tfds

from compare_ssgan.data import pipeline
from compare_ssgan.data import transforms


@dataclasses.dataclass(frozen=True)
class TfdsSpec:
  name: str
  tfds_name: str
  train_split: str
  eval_split: str
  resolution: int
  channels: int
  num_classes: int
  eval_num_examples: int  # The paper's FID sample count (10k; 3k CelebA-HQ).
  train_transform: Callable = transforms.identity_transform
  eval_transform: Callable = transforms.identity_transform


def _imagenet(resolution):
  return TfdsSpec(f"imagenet_{resolution}", "imagenet2012", "train",
                  "validation", resolution, 3, 1000, 10000,
                  transforms.train_imagenet_transform,
                  transforms.eval_imagenet_transform)


SPECS = (
    TfdsSpec("cifar10", "cifar10", "train", "test", 32, 3, 10, 10000),
    TfdsSpec("celeb_a", "celeb_a", "train", "test", 64, 3, 0, 10000,
             transforms.celeb_a_transform, transforms.celeb_a_transform),
    TfdsSpec("celeb_a_hq_128", "celeb_a_hq/128", "train[:27000]",
             "train[27000:]", 128, 3, 0, 3000),
    TfdsSpec("lsun-bedroom", "lsun/bedroom", "train[:99%]", "train[99%:]",
             128, 3, 0, 10000, transforms.crop_or_pad_transform,
             transforms.crop_or_pad_transform),
    _imagenet(64),
    _imagenet(128),
    TfdsSpec("mnist", "mnist", "train", "test", 28, 1, 10, 10000),
    TfdsSpec("fashion-mnist", "fashion_mnist", "train", "test", 28, 1, 10,
             10000),
)


def _missing_message(spec, data_dir):
  """How to get the data: `tfds build`, plus TFDS's manual instructions."""
  builder_name = spec.tfds_name.split("/")[0]
  manual = tfds.builder_cls(builder_name).MANUAL_DOWNLOAD_INSTRUCTIONS
  where = data_dir or "~/tensorflow_datasets"
  message = (f"Dataset {spec.name!r} reads the TFDS dataset "
             f"{spec.tfds_name!r}, which is not prepared in "
             f"data_dir={data_dir!r}")
  if data_dir is None:
    message += " (TFDS's default: $TFDS_DATA_DIR or ~/tensorflow_datasets)"
  if manual:
    return message + (
        ". It must be downloaded manually: put the files described below in "
        f"{where}/downloads/manual, run `tfds build {spec.tfds_name} "
        f"--data_dir={where}` and set dataset.data_dir to that data_dir. "
        f"TFDS says:\n{manual}")
  return message + (f". Prepare it once (needs internet) with `tfds build "
                    f"{spec.tfds_name} --data_dir={where}` and set "
                    "dataset.data_dir to that data_dir.")


def _load(spec, split, data_dir):
  """(encoded image, int32 label) in TFDS's fixed file order."""
  try:
    ds = tfds.load(spec.tfds_name, split=split, data_dir=data_dir,
                   shuffle_files=False, download=False,
                   decoders={"image": tfds.decode.SkipDecoding()})
  except AssertionError as e:  # How TFDS reports data that is not prepared.
    raise FileNotFoundError(_missing_message(spec, data_dir)) from e
  if spec.num_classes:
    return ds.map(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32)))
  return ds.map(lambda ex: (ex["image"], tf.constant(0, tf.int32)))


def _decode(raw, channels):
  return tf.io.decode_image(raw, channels=channels, expand_animations=False)


def make(spec, data_dir):
  """The `pipeline.Dataset` for `spec`, reading from TFDS `data_dir`."""
  return pipeline.Dataset(
      name=spec.name,
      image_shape=(spec.resolution, spec.resolution, spec.channels),
      num_classes=spec.num_classes,
      eval_split=f"{spec.tfds_name}:{spec.eval_split}",
      train_split=f"{spec.tfds_name}:{spec.train_split}",
      eval_num_examples=spec.eval_num_examples,
      train_examples=functools.partial(_load, spec, spec.train_split,
                                       data_dir),
      eval_examples=functools.partial(_load, spec, spec.eval_split, data_dir),
      decode=functools.partial(_decode, channels=spec.channels),
      train_transform=spec.train_transform,
      eval_transform=spec.eval_transform)
