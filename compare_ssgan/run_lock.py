"""One trainer and one evaluator at a time in a run directory.

A lock is a small JSON file (run_dir.train_lock_path, run_dir.eval_lock_path) created
whole and exclusively (a hard link of a written file), naming its holder: host, pid, the
process's start time and its command. It is removed on every exit path that runs Python
(`hold` is a context manager); a holder killed with SIGKILL leaves it behind, and the next
process on the same host that finds its holder dead (no such pid, or a pid reused by a
process started at another time) takes it over with a warning. A live holder, or one on
another host (whose liveness cannot be checked from here), means refusal, with a message
that names the holder.

The exclusive link is atomic on local and NFS file systems. On object stores
(gs://, s3://) it is not, so there no lock is taken and a warning says so: run one trainer
and one evaluator per run directory by other means (one job per run in the scheduler).
"""
import contextlib
import datetime
import json
import os
import socket
import sys

from absl import logging


class LockHeld(RuntimeError):
  """Another live process holds the lock."""


def _start_time(pid):
  """The process's start time in clock ticks since boot (Linux), or None."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      # Field 22; the command (field 2) is in parentheses and may hold spaces.
      return int(f.read().rsplit(")", 1)[1].split()[19])
  except (OSError, IndexError, ValueError):
    return None


def process_alive(pid, start_time=None):
  """Whether process `pid` runs on this host (and, given its start time, is that one)."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    pass
  return start_time is None or _start_time(pid) in (None, start_time)


def _holder():
  pid = os.getpid()
  return {"host": socket.gethostname(), "pid": pid, "start_time": _start_time(pid),
          "since": datetime.datetime.now(datetime.timezone.utc).isoformat(
              timespec="seconds"),
          "command": " ".join(sys.argv)}


def _read(path):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None  # Gone meanwhile, or damaged.


def _describe(holder):
  return (f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')} "
          f"({holder.get('command')})")


def _create(path):
  """Creates the lock file, whole, if it does not exist; False if it does."""
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "w") as f:
    json.dump(_holder(), f)
  try:
    os.link(tmp, path)  # Atomic, and fails if the lock exists: never half a lock file.
    return True
  except FileExistsError:
    return False
  finally:
    os.remove(tmp)


def acquire(path, purpose):
  """Takes the lock at `path` for `purpose` ("trainer", "evaluator"); see the module
  docstring. Returns whether a lock was taken (False on an object store)."""
  if "://" in path:
    logging.warning("%s: no %s lock on this file system; make sure no other %s works in "
                    "this run directory.", path, purpose, purpose)
    return False
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  for _ in range(2):
    if _create(path):
      return True
    holder = _read(path) or {}
    same_host = holder.get("host") == socket.gethostname()
    if holder and (not same_host or process_alive(holder["pid"], holder.get("start_time"))):
      raise LockHeld(
          f"Another {purpose} works in this run directory: {path} is held by "
          f"{_describe(holder)}. Stop it first; if it runs on another host and is gone, "
          f"remove {path}.")
    logging.warning("Taking over %s, left by a %s that is no longer running (%s).", path,
                    purpose, _describe(holder) if holder else "unreadable")
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)
  raise LockHeld(f"{path}: another {purpose} took the lock while this one took it over.")


def release(path):
  """Removes the lock if this process holds it."""
  holder = _read(path)
  if holder and holder.get("pid") == os.getpid() and (
      holder.get("host") == socket.gethostname()):
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)


@contextlib.contextmanager
def hold(path, purpose):
  """Holds the lock for the `with` block."""
  taken = acquire(path, purpose)
  try:
    yield
  finally:
    if taken:
      release(path)
