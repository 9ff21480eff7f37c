"""Local scratch directories named after their process, and the clean-up of dead ones'.

`directory(purpose)` makes <tmp>/compare_ssgan_<purpose>_<pid>_<random> and removes it when
the block ends; a process killed with SIGKILL cannot, so `remove_stale()` (called when the
command line starts) removes those whose process no longer runs on this host.
"""
import contextlib
import os
import re
import shutil
import tempfile

from absl import logging

from compare_ssgan import run_lock

_PREFIX = "compare_ssgan_"
_NAME_RE = re.compile(rf"{_PREFIX}[a-z0-9_]+?_(\d+)_.+")  # mkdtemp's suffix may hold "_".


def make(purpose):
  """A new scratch directory for `purpose` (lower-case words joined by "_")."""
  return tempfile.mkdtemp(prefix=f"{_PREFIX}{purpose}_{os.getpid()}_")


@contextlib.contextmanager
def directory(purpose):
  """A scratch directory for the `with` block, removed after it."""
  path = make(purpose)
  try:
    yield path
  finally:
    shutil.rmtree(path, ignore_errors=True)


def remove_stale(root=None):
  """Removes the scratch directories of processes that no longer run; returns them."""
  root = root or tempfile.gettempdir()
  stale = []
  for name in os.listdir(root):
    match = _NAME_RE.fullmatch(name)
    path = os.path.join(root, name)
    if match and os.path.isdir(path) and not run_lock.process_alive(int(match.group(1))):
      logging.warning("Removing %s, left by a process that no longer runs.", path)
      shutil.rmtree(path, ignore_errors=True)
      stale.append(path)
  return stale
