"""Real-feature statistics as .npz files in the layout TTUR, pytorch-fid and clean-fid use.

Their layout: `mu` [2048] and `sigma` [2048, 2048], the mean and unbiased covariance of
Inception pool_3 features (their own files hold `mu` in float32, the features' dtype, and
`sigma` in float64; this project writes both in float64 and reads either). This project adds
0-d arrays that their readers ignore: `resize` (the resize protocol of the features, one of
preprocess.RESIZES), `num_samples` and `source` (what the statistics are of).

A file without `resize` (a published one) is read only when the caller states its resize:
statistics of another resize give a meaningless FID, and clean-fid publishes its CIFAR-10
statistics in three resize modes under one layout. A file is refused, naming it and the
problem, if it is not an .npz, lacks `mu` or `sigma`, has a width other than 2048, a
non-square or non-symmetric `sigma`, non-finite values, or an unknown `resize`.
"""

import dataclasses
import io
import tokenize
import zipfile
import zlib
from typing import Optional

import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import validate
from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import preprocess
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks

MOMENTS = ("mu", "sigma")
# max |sigma - sigma^T| / max |sigma| above this is not a covariance matrix (np.cov and
# this project's scatter matrix are symmetric to ~1e-16; float32 storage keeps symmetry).
SYMMETRY_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class StatisticsFile:
  """A statistics file's contents.

  statistics: statistics.FeatureStatistics (float64 moments; num_samples None when the
    file does not say).
  resize: the resize protocol of its features (recorded, or stated by the reader).
  source: what the statistics are of, if recorded.
  """
  statistics: statistics.FeatureStatistics
  resize: str
  source: Optional[str] = None


def write(path, stats, resize, source=None):
  """Writes `stats` (statistics.FeatureStatistics) to the .npz `path` (any gfile path).

  Args:
    path: where to write.
    stats: the moments to write; `num_samples` is recorded.
    resize: the resize protocol the features were computed with.
    source: what the statistics are of (e.g. the image folder).
  """
  validate.choice("resize", resize, preprocess.RESIZES)
  arrays = {"mu": np.asarray(stats.mu, np.float64),
            "sigma": np.asarray(stats.sigma, np.float64),
            "resize": np.array(resize), "num_samples": np.array(stats.num_samples, np.int64)}
  if source is not None:
    arrays["source"] = np.array(source)
  buf = io.BytesIO()
  np.savez(buf, **arrays)
  run_dir.write_atomically(path, buf.getvalue())


def _arrays(path):
  """{name: array} of the .npz at `path`; anything else is refused."""
  with tf.io.gfile.GFile(path, "rb") as f:
    data = io.BytesIO(f.read())
  if not zipfile.is_zipfile(data):
    raise ValueError(f"{path} is not an .npz file (not a zip archive); expected a "
                     "statistics file with arrays 'mu' and 'sigma'.")
  data.seek(0)
  try:
    with np.load(data, allow_pickle=False) as npz:
      return {name: npz[name] for name in npz.files}
  # A damaged array header fails in numpy's header parser (TokenError, SyntaxError).
  except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, tokenize.TokenError,
          SyntaxError) as e:
    raise ValueError(f"{path} is a damaged .npz file ({type(e).__name__}: {e}).") from e


def is_statistics_file(path):
  """Whether `path` is an .npz holding `mu` or `sigma` (and so is read as statistics)."""
  if not (path.endswith(".npz") and zipfile.is_zipfile(path)):
    return False
  with np.load(path, allow_pickle=False) as npz:
    return bool(set(MOMENTS) & set(npz.files))


def _floats(path, name, array):
  if not np.issubdtype(array.dtype, np.floating):
    raise ValueError(f"{path}: {name} has dtype {array.dtype}; expected floats.")
  bad = np.size(array) - np.count_nonzero(np.isfinite(array))
  if bad:
    raise ValueError(f"{path}: {name} holds {bad} NaN or Inf values; expected finite "
                     "moments.")
  return array.astype(np.float64)


def _check_moments(path, mu, sigma):
  """Refuses moments that are not those of 2048-d features, naming the file."""
  width = inception_net.POOL_DIM
  if mu.shape != (width,):
    raise ValueError(f"{path}: mu has shape {mu.shape}; expected ({width},), the width of "
                     "Inception's pool_3 features.")
  if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
    raise ValueError(f"{path}: sigma has shape {sigma.shape}; expected a square "
                     f"({width}, {width}) covariance matrix.")
  if sigma.shape[0] != width:
    raise ValueError(f"{path}: sigma has shape {sigma.shape}, which does not match mu's "
                     f"width {width}; expected ({width}, {width}).")
  mu, sigma = _floats(path, "mu", mu), _floats(path, "sigma", sigma)
  asymmetry = np.abs(sigma - sigma.T).max()
  scale = np.abs(sigma).max()
  if asymmetry > SYMMETRY_RTOL * scale:
    raise ValueError(f"{path}: sigma is not symmetric (max |sigma - sigma^T| = "
                     f"{asymmetry:.3g}, {asymmetry / scale:.3g} of max |sigma|; expected at "
                     f"most {SYMMETRY_RTOL:g}): not a covariance matrix.")
  return mu, sigma


def _text(path, arrays, name):
  """A 0-d string array's value, None if absent."""
  if name not in arrays:
    return None
  value = arrays[name]
  if value.shape or value.dtype.kind != "U":
    raise ValueError(f"{path}: {name} is a {value.dtype} array of shape {value.shape}; "
                     "expected a 0-d string.")
  return str(value)


def _resize(path, recorded, stated):
  """The file's resize: the one it records, which `stated` (if given) must equal, or else
  `stated`."""
  if recorded is not None and recorded not in preprocess.RESIZES:
    raise ValueError(f"{path} records resize {recorded!r}; expected one of "
                     f"{preprocess.RESIZES}.")
  if stated is not None:
    validate.choice("resize", stated, preprocess.RESIZES)
    if recorded is not None and recorded != stated:
      raise ValueError(f"{path} holds statistics of the {recorded!r} resize, not of the "
                       f"{stated!r} resize asked for.")
  if recorded is None and stated is None:
    raise ValueError(f"{path} does not record the resize its features were computed with "
                     f"(a published file); state it (the two-set command's --resize), one of "
                     f"{preprocess.RESIZES}.")
  return recorded or stated


def _num_samples(path, arrays):
  if "num_samples" not in arrays:
    return None
  value = arrays["num_samples"]
  if value.shape or not np.issubdtype(value.dtype, np.integer) or value < 2:
    raise ValueError(f"{path}: num_samples is {value!r}; expected a 0-d integer >= 2.")
  return int(value)


def read(path, resize=None):
  """The statistics in the .npz `path` (any gfile path), checked.

  Args:
    path: a file in the layout of the module docstring.
    resize: the resize protocol the caller expects; required when the file records none,
      and then taken as the file's.

  Returns:
    StatisticsFile.

  Raises:
    ValueError: naming the file and what is wrong with it (see the module docstring).
  """
  arrays = _arrays(path)
  missing = [name for name in MOMENTS if name not in arrays]
  if missing:
    raise ValueError(f"{path} lacks {missing}; expected the arrays 'mu' "
                     f"[{inception_net.POOL_DIM}] and 'sigma' [{inception_net.POOL_DIM}, "
                     f"{inception_net.POOL_DIM}] of a statistics file; it holds "
                     f"{sorted(arrays)}.")
  mu, sigma = _check_moments(path, arrays["mu"], arrays["sigma"])
  return StatisticsFile(
      statistics=statistics.FeatureStatistics(
          num_samples=_num_samples(path, arrays), mu=mu, sigma=sigma),
      resize=_resize(path, _text(path, arrays, "resize"), resize),
      source=_text(path, arrays, "source"))


def metrics_from_moments(metric_names):
  """Those of `metric_names` that a statistics file can be scored with: not those that need
  the real set's features (KID, PRDC), only its moments (FID) or nothing of it (IS)."""
  return [t.name for t in tasks.make_tasks(metric_names)
          if tasks.INCEPTION_FEATURES not in t.needs]


def read_real(path, metric_names, resize=None):
  """`read(path, resize)`, for the reals of `metric_names`: refuses those it cannot give."""
  usable = metrics_from_moments(metric_names)
  refused = [name for name in metric_names if name not in usable]
  if refused:
    raise ValueError(f"{path} is a statistics file (mu and sigma only), but {refused} need "
                     "the real set's features: give the real images, or score FID alone.")
  return read(path, resize)
