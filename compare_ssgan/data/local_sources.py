"""Datasets read from local files: IDX, .npz, image folders, the embedded set,
the CIFAR-10 python archive (`cifar10_archive.py`).

`dataset.data_dir` of a generic local dataset ("idx", "npz", "image_folder")
is either one source, used for train and eval alike (FID reals then come from
the training images), or a directory with a train and a test part:

  idx:          train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz],
                labels optional (same name with labels-idx1), or one images file
  npz:          train.npz and test.npz, or one .npz file; key `images` (uint8
                NHWC, or NHW unless W is 1, 3 or 4: see `image_files.nhwc_shape`),
                optional int `labels`
  image_folder: train/ and test/, or one folder; PNG/JPEG/BMP files, either all
                directly in it (unlabelled) or in class subfolders (labels =
                sorted subfolder names)

The native image shape is square with side max(H, W) of the data (of all
files for folders); 1-channel data stays 1-channel unless `dataset.num_channels`
says otherwise. 16-bit PNGs are read by their high byte, as TF's decoder
does (`image_files`). A folder is 1-channel only if all its files are grayscale;
otherwise its grayscale files are replicated to 3 channels (and transparency
is dropped), said once in a warning, as are differing sizes. Every file of a
folder is checked before training (see `image_folder_dataset`).
"""
import io
import os
import pathlib

from absl import logging
import numpy as np
import tensorflow as tf

from compare_ssgan.data import cifar10_archive
from compare_ssgan.data import idx
from compare_ssgan.data import image_files
from compare_ssgan.data import pipeline

EMBEDDED_DIR = str(pathlib.Path(__file__).parent / "embedded")
FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
EMBEDDED_TRAIN_SIZE = 8000  # Of the 10k Fashion-MNIST test images; 2000 eval.
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def _require(path, name, data_dir, expected):
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"Dataset {name!r}: {path!r} does not exist "
                            f"(dataset.data_dir={data_dir!r}); expected "
                            f"{expected}.")
  return path


def _first_existing(directory, candidates):
  for candidate in candidates:
    path = os.path.join(directory, candidate)
    if tf.io.gfile.exists(path):
      return path
  return None


def _two_parts(name, data_dir, train_names, test_names, expected,
               source_is_dir=False):
  """(train path, eval path) of a local data_dir, following the module rule."""
  if data_dir is None:
    raise ValueError(f"Dataset {name!r} needs dataset.data_dir: {expected}.")
  _require(data_dir, name, data_dir, expected)
  is_dir = tf.io.gfile.isdir(data_dir)
  train = _first_existing(data_dir, train_names) if is_dir else None
  if train is None:
    if is_dir and not source_is_dir:
      raise FileNotFoundError(
          f"Dataset {name!r}: directory {data_dir!r} has no "
          f"{' or '.join(train_names)}; expected {expected}.")
    return data_dir, data_dir
  test = _first_existing(data_dir, test_names)
  if test is None:
    logging.warning("Dataset %s: no %s in %s, evaluating on the train part.",
                    name, " or ".join(test_names), data_dir)
  return train, test or train


def _array_dataset(name, train, evaluation, eval_split, num_classes=None,
                   resolution=None, train_split="train"):
  """A Dataset over in-memory (uint8 NHWC images, int32 labels or None)."""
  def examples(images, labels):
    if labels is None:
      labels = np.zeros([len(images)], np.int32)
    return pipeline.InMemory(images, labels)

  images, labels = train
  channels = images.shape[-1]
  if min(len(images), len(evaluation[0])) == 0 or channels not in (1, 3):
    raise ValueError(f"Dataset {name!r}: got {len(images)} train and "
                     f"{len(evaluation[0])} eval images with {channels} "
                     "channels; expected non-empty parts with 1 or 3 "
                     "channels.")
  if num_classes is None:
    num_classes = 0 if labels is None else 1 + max(
        int(l.max()) for l in (labels, evaluation[1]) if l is not None)
  side = resolution or max(images.shape[1:3])
  return pipeline.Dataset(
      name=name, image_shape=(side, side, channels),
      num_classes=num_classes, eval_split=eval_split, train_split=train_split,
      eval_num_examples=len(evaluation[0]),
      train_examples=examples(*train), eval_examples=examples(*evaluation),
      decode=tf.identity)


def _read_idx_part(images_path):
  """Images and (if a sibling labels file exists) labels of an IDX part."""
  images = idx.read_idx_images(images_path)
  labels_path = images_path.replace("images-idx3", "labels-idx1")
  if labels_path == images_path or not tf.io.gfile.exists(labels_path):
    return images, None
  return images, idx.read_idx_labels(labels_path, len(images))


def _idx_names(prefix):
  return (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-images-idx3-ubyte")


def idx_dataset(data_dir, name="idx", resolution=None, num_classes=None):
  """IDX files (MNIST layout, see module docstring)."""
  expected = ("an IDX images file or a directory with "
              "train-images-idx3-ubyte[.gz] (+ t10k-images-idx3-ubyte[.gz], "
              "optional *-labels-idx1-ubyte[.gz])")
  train, test = _two_parts(name, data_dir, _idx_names("train"),
                           _idx_names("t10k"), expected)
  return _array_dataset(name, _read_idx_part(train), _read_idx_part(test),
                        eval_split=os.path.basename(test),
                        num_classes=num_classes, resolution=resolution,
                        train_split=os.path.basename(train))


def fashion_mnist_local(data_dir=None):
  """Full Fashion-MNIST from IDX files (default: Debian's copy), 60k/10k."""
  return idx_dataset(data_dir or FASHION_MNIST_DEBIAN_DIR,
                     name="fashion_mnist_local", resolution=32, num_classes=10)


def fashion_mnist_embedded(data_dir=None):
  """The packaged Fashion-MNIST test split: first 8000 train, last 2000 eval."""
  if data_dir is not None:
    logging.info("fashion_mnist_embedded ships with the package; ignoring "
                 "data_dir=%s.", data_dir)
  images, labels = _read_idx_part(
      os.path.join(EMBEDDED_DIR, "t10k-images-idx3-ubyte.gz"))
  n = EMBEDDED_TRAIN_SIZE
  return _array_dataset(
      "fashion_mnist_embedded", (images[:n], labels[:n]),
      (images[n:], labels[n:]), eval_split=f"t10k[{n}:]", num_classes=10,
      resolution=32, train_split=f"t10k[:{n}]")


def _read_npz(path):
  with tf.io.gfile.GFile(path, "rb") as f:
    try:
      arrays = np.load(io.BytesIO(f.read()))
    except (ValueError, OSError) as e:
      raise ValueError(f"{path!r} is not a readable .npz file: {e}") from e
  if "images" not in arrays:
    raise ValueError(f".npz file {path!r} has no 'images' array (keys: "
                     f"{sorted(arrays.keys())}); expected uint8 'images' NHWC "
                     "or NHW and optional int 'labels'.")
  images = arrays["images"]
  if images.dtype != np.uint8 or images.ndim not in (3, 4):
    raise ValueError(f".npz file {path!r}: 'images' is {images.dtype} of shape "
                     f"{images.shape}; expected uint8 NHWC or NHW.")
  images = images.reshape(image_files.nhwc_shape(
      images.shape, f".npz file {path!r}: 'images'"))
  labels = arrays["labels"].astype(np.int32) if "labels" in arrays else None
  if labels is not None and labels.shape != images.shape[:1]:
    raise ValueError(f".npz file {path!r}: 'labels' shape {labels.shape} does "
                     f"not match {len(images)} images; expected [N].")
  return images, labels


def npz_dataset(data_dir):
  """A .npz file or a directory with train.npz (+ test.npz)."""
  train, test = _two_parts("npz", data_dir, ("train.npz",), ("test.npz",),
                           "an .npz file or a directory with train.npz "
                           "(+ test.npz)")
  return _array_dataset("npz", _read_npz(train), _read_npz(test),
                        eval_split=os.path.basename(test),
                        train_split=os.path.basename(train))


def _list_images(root):
  """Sorted image paths under `root` and their class names (or None)."""
  paths = sorted(
      os.path.join(dirpath, f)
      for dirpath, _, files in tf.io.gfile.walk(root)
      for f in files if f.lower().endswith(_IMAGE_EXTENSIONS))
  if not paths:
    raise FileNotFoundError(f"Image folder {root!r} contains no "
                            f"{'/'.join(_IMAGE_EXTENSIONS)} files.")
  parts = [os.path.relpath(p, root).split(os.sep) for p in paths]
  if all(len(p) == 1 for p in parts):
    return paths, None
  if any(len(p) == 1 for p in parts):
    raise ValueError(f"Image folder {root!r} mixes images at its top level "
                     "with images in subfolders; expected either only one "
                     "or only the other (class subfolders).")
  return paths, [p[0] for p in parts]


def _checked_images(root, skip_undecodable_images):
  """Paths, class names (or None) and `ImageFile`s of the images under root.

  An undecodable file raises, naming it, unless skip_undecodable_images.
  """
  paths, names = _list_images(root)
  files = image_files.inspect_all(paths)
  problem = image_files.describe_undecodable(files)
  if problem is None:
    return paths, names, files
  if not skip_undecodable_images:
    raise ValueError(f"Image folder {root!r}: {problem}. Fix or remove them, "
                     "or set dataset.skip_undecodable_images = True to skip "
                     "them.")
  logging.warning("Image folder %s: %s. Skipping them "
                  "(dataset.skip_undecodable_images = True).", root, problem)
  keep = [i for i, f in enumerate(files) if not f.error]
  if not keep:
    raise ValueError(f"Image folder {root!r} has no decodable images.")
  return ([paths[i] for i in keep], names and [names[i] for i in keep],
          [files[i] for i in keep])


def _say_conversions(data_dir, files, channels):
  """Logs once what reading `files` converts: modes, transparency, sizes."""
  said = image_files.conversions(files, channels)
  sizes = sorted({(f.height, f.width) for f in files},
                 key=lambda size: size[0] * size[1])
  if len(sizes) > 1:
    said.append(f"{len(sizes)} different sizes, from {sizes[0][0]}x"
                f"{sizes[0][1]} to {sizes[-1][0]}x{sizes[-1][1]}: each image "
                "is brought to the resolution by dataset.resize_method")
  if said:
    logging.warning("Image folder %s: %s.", data_dir, "; ".join(said))


def image_folder_dataset(data_dir, skip_undecodable_images=False,
                         num_channels=None):
  """PNG/JPEG/BMP files in a folder (see module docstring).

  Every file is decoded once with PIL first (`image_files`): an undecodable
  file raises, naming it, unless skip_undecodable_images (then one warning
  names the skipped files). `num_channels` (`dataset.num_channels`) only
  shapes the warning saying what is converted; `transforms.fit` converts.
  """
  train, test = _two_parts("image_folder", data_dir, ("train",), ("test",),
                           "a folder of images (optionally in class "
                           "subfolders), or one with train/ and test/",
                           source_is_dir=True)
  train_paths, train_classes, train_files = _checked_images(
      train, skip_undecodable_images)
  if test == train:
    test_paths, test_classes, files = train_paths, train_classes, train_files
  else:
    test_paths, test_classes, test_files = _checked_images(
        test, skip_undecodable_images)
    files = train_files + test_files
  classes = sorted(set(train_classes or []))
  unknown = set(test_classes or []) - set(classes)
  if (train_classes is None) != (test_classes is None) or unknown:
    raise ValueError(f"Image folder {test!r} has classes {sorted(unknown)} or "
                     f"a layout that differs from {train!r}; expected the "
                     "same class subfolders.")

  def examples(paths, names):
    labels = [classes.index(n) for n in names] if names else [0] * len(paths)
    return pipeline.InMemory(np.asarray(paths), np.asarray(labels, np.int32))

  # Any colour file makes the folder RGB: decoding an RGB file to 1 channel
  # would silently turn it gray.
  channels = 1 if all(f.gray for f in files) else 3
  _say_conversions(data_dir, files, num_channels or channels)
  side = max(max(f.height, f.width) for f in files)
  return pipeline.Dataset(
      name="image_folder", image_shape=(side, side, channels),
      num_classes=len(classes), eval_split=test,
      eval_num_examples=len(test_paths),
      train_examples=examples(train_paths, train_classes),
      eval_examples=examples(test_paths, test_classes),
      decode=lambda path: tf.io.decode_image(  # pylint: disable=g-long-lambda
          tf.io.read_file(path), channels=channels, expand_animations=False))


FACTORIES = {
    "fashion_mnist_embedded": fashion_mnist_embedded,
    "fashion_mnist_local": fashion_mnist_local,
    "idx": idx_dataset,
    "npz": npz_dataset,
    "image_folder": image_folder_dataset,
    cifar10_archive.NAME: cifar10_archive.cifar10_archive_dataset,
}
