"""Real-data Inception statistics, computed once and cached with provenance.

The cache key is (dataset name, split, which of its examples come first, N, image
size, and the extractor's `feature_id`: Inception weights and resize);
files go next to the data (`<dataset.data_dir>/compare_ssgan_stats`) when the
dataset says where it lives, else to `<cache>/real_stats`. Paths may be any
tf.io.gfile location. The moments are a .npz; the features KID needs, when asked
for, a .npy beside it (read a block at a time). A file that fails its checksum is
recomputed.
"""

import atexit
import datetime
import hashlib
import io
import itertools
import json
import os
import shutil

from absl import logging
import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan import scratch
from compare_ssgan.metrics import feature_file
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import preprocess
from compare_ssgan.metrics import statistics

# The features KID needs sit next to the moments' .npz (feature_file's .npy format).
_FEATURES = ".features.npy"


def _image_batches(first, rest):
  for batch in itertools.chain([first], rest):
    yield batch[0] if isinstance(batch, (tuple, list)) else batch


def _stats_dir(dataset, stats_dir):
  if stats_dir:
    return stats_dir
  data_dir = getattr(dataset, "data_dir", None)
  if data_dir:
    return os.path.join(data_dir, "compare_ssgan_stats")
  return os.path.join(inception_weights.cache_dir(), "real_stats")


def _write(path, stats, provenance):
  """Writes the moments (and moves in the features file, if any) with their checksums."""
  buf = io.BytesIO()
  np.savez(buf, mu=stats.mu, sigma=stats.sigma, num_samples=stats.num_samples)
  data = buf.getvalue()
  features_sha256 = None
  if stats.features is not None:
    features_sha256 = feature_file.sha256(stats.features.path)
    run_dir.copy_atomically(stats.features.path, path + _FEATURES)
    stats.features = feature_file.FeatureFile(path + _FEATURES)
  meta = dict(provenance, sha256=hashlib.sha256(data).hexdigest(),
              features_sha256=features_sha256,
              created=datetime.datetime.now(datetime.timezone.utc).isoformat())
  run_dir.write_atomically(path + ".npz", data)
  run_dir.write_atomically(path + ".json", json.dumps(meta, indent=1))


def _read(path, need_features):
  """Cached statistics, or None if absent, unusable or corrupt."""
  if not (tf.io.gfile.exists(path + ".npz") and
          tf.io.gfile.exists(path + ".json")):
    return None
  try:
    with tf.io.gfile.GFile(path + ".json") as f:
      meta = json.load(f)
    if not isinstance(meta, dict):
      raise ValueError(f"a {type(meta).__name__}, not an object")
  except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError.
    logging.warning("Real statistics metadata %s.json is damaged (%s); recomputing and "
                    "replacing it.", path, e)
    return None
  with tf.io.gfile.GFile(path + ".npz", "rb") as f:
    data = f.read()
  if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
    logging.warning("Real statistics %s fail their checksum; recomputing.",
                    path)
    return None
  features = None
  if need_features:
    if not (meta.get("features_sha256") and tf.io.gfile.exists(path + _FEATURES)):
      return None
    if feature_file.sha256(path + _FEATURES) != meta["features_sha256"]:
      logging.warning("Real features %s%s fail their checksum; recomputing.", path,
                      _FEATURES)
      return None
    features = feature_file.FeatureFile(path + _FEATURES)
  with np.load(io.BytesIO(data)) as z:
    return statistics.FeatureStatistics(
        num_samples=int(z["num_samples"]), mu=z["mu"], sigma=z["sigma"],
        features=features)


SPLITS = ("eval", "train")


def _reals(dataset, split, num_samples, batch_size):
  """(batches, split name, order) of `split`'s first `num_samples` reals."""
  if split == "eval":
    return (dataset.eval_dataset(num_samples, batch_size),
            getattr(dataset, "eval_split", "eval"), getattr(dataset, "eval_order", "first"))
  if split == "train":
    return (dataset.train_reals(num_samples, batch_size),
            getattr(dataset, "train_split", "train"), getattr(dataset, "train_order", "first"))
  raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")


def real_statistics(dataset, extractor, num_samples, batch_size=64,
                    stats_dir=None, keep_features=False, split="eval"):
  """Statistics of the first `num_samples` images of `dataset`'s eval or train split.

  Args:
    dataset: object with `eval_dataset(num_examples, batch_size)` (and, for the train
      split, `train_reals(num_examples, batch_size)`) yielding (images float32
      [b, H, W, C] in [0, 1], labels); its `name`, `eval_split` / `train_split`,
      `eval_order` / `train_order` (default "first": its own order) and `data_dir`
      attributes, when present, name the cache.
    extractor: see `statistics.compute_statistics`; its `feature_id` (weights and
      resize) is part of the cache key, and its `resize` is recorded.
    num_samples: N.
    batch_size: batch size asked of the dataset.
    stats_dir: overrides where the cache lives.
    keep_features: also keep the features (needed for KID), on disk.
    split: "eval" (compare_gan's and the SS-GAN paper's reals) or "train"
      (torch-mimicry's and clean-fid's CIFAR-10 protocol).

  Returns:
    statistics.FeatureStatistics (without Inception Score).
  """
  reals, split_name, order = _reals(dataset, split, num_samples, batch_size)
  batches = iter(reals)
  first = next(batches, None)
  if first is None:
    raise ValueError(f"The {split} reals of {dataset!r} yielded nothing.")
  image_batches = _image_batches(first, batches)
  shape = np.shape(first[0] if isinstance(first, (tuple, list)) else first)
  name = getattr(dataset, "name", None)
  if not name:
    logging.warning("Dataset %r has no `name`: real statistics not cached.",
                    dataset)
    features_path = None
    if keep_features:  # Read until the process exits (a SIGKILL: scratch.remove_stale).
      directory = scratch.make("real_features")
      atexit.register(shutil.rmtree, directory, ignore_errors=True)
      features_path = os.path.join(directory, "features.npy")
    return statistics.compute_statistics(image_batches, extractor, num_samples,
                                         features_path=features_path,
                                         progress_label=f"Real statistics ({split})")
  feature_id = getattr(extractor, "feature_id", "unknown")
  size = "x".join(str(d) for d in shape[1:])
  path = os.path.join(_stats_dir(dataset, stats_dir),
                      f"{name}_{split_name}_{order}_{num_samples}_{size}_"
                      f"{feature_id[:16]}")
  cached = _read(path, keep_features)
  if cached is not None:
    logging.info("Using cached real statistics %s.npz", path)
    return cached
  with scratch.directory("real_features") as scratch_dir:
    stats = statistics.compute_statistics(
        image_batches, extractor, num_samples,
        features_path=os.path.join(scratch_dir, "features.npy") if keep_features else None,
        progress_label=f"Real statistics {name} {split_name}")
    stats.inception_score = stats.inception_score_std = None
    _write(path, stats, {
        "dataset": name, "split": split_name, "order": order,
        "num_samples": num_samples,
        "image_shape": list(shape[1:]), "feature_id": feature_id,
        "resize": getattr(extractor, "resize", preprocess.COMPARE_GAN),
        "inception_source": getattr(extractor, "provenance", {}).get("source")})
  logging.info("Wrote real statistics %s.npz", path)
  return stats
