"""clean-fid's modules for the tests that use clean-fid as an oracle.

clean-fid's file reader and FID module import torchvision, which is not a test dependency.
In clean mode they use one call of it, `ToTensor`, which turns the float32 HWC array of the
clean resize into a CHW tensor. Where torchvision is missing, a stand-in is in place while
clean-fid is imported: that transpose (refusing anything else), and torchvision's Inception
blocks as plain modules, the base classes of clean-fid's copy of pytorch-fid's network
(its legacy_pytorch mode, not used here).
"""

import importlib
import importlib.util
import sys
import types

import numpy as np
import torch


class _ToTensor:
  """torchvision's ToTensor on a float32 HWC array: `from_numpy(transpose(2, 0, 1))`."""

  def __call__(self, pic):
    if not (isinstance(pic, np.ndarray) and pic.dtype == np.float32 and pic.ndim == 3):
      raise NotImplementedError(f"the ToTensor stand-in takes float32 HWC arrays, not {pic!r}")
    return torch.from_numpy(pic.transpose((2, 0, 1))).contiguous()


def load(name):
  """A clean-fid module, imported with the torchvision stand-in if torchvision is missing."""
  if importlib.util.find_spec("torchvision") is not None:
    return importlib.import_module(name)
  standin = types.ModuleType("torchvision")
  standin.transforms = types.SimpleNamespace(ToTensor=_ToTensor)
  standin.models = types.SimpleNamespace(inception=types.SimpleNamespace(
      InceptionA=torch.nn.Module, InceptionC=torch.nn.Module, InceptionE=torch.nn.Module))
  sys.modules["torchvision"] = standin
  try:
    return importlib.import_module(name)
  finally:
    del sys.modules["torchvision"]
