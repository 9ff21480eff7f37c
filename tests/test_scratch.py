"""Scratch directories: removed after use, and those of a killed process at the next start."""
import os
import signal
import subprocess
import sys

from compare_ssgan import scratch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_MAKE_AND_WAIT = """
import sys, time, tempfile
tempfile.tempdir = sys.argv[1]
from compare_ssgan import scratch
print(scratch.make("real_features"), flush=True)
time.sleep(600)
"""


def test_a_killed_processs_scratch_is_removed_at_the_next_start_and_no_other(tmp_path,
                                                                          monkeypatch):
  monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
  process = subprocess.Popen([sys.executable, "-c", _MAKE_AND_WAIT, str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
  left = process.stdout.readline().strip()
  with scratch.directory("fake_features") as ours:
    assert scratch.remove_stale() == []  # Both processes run: nothing is stale.
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert os.path.isdir(left)
    other = tmp_path / "compare_ssgan_cache"  # Not a scratch directory of a process.
    other.mkdir()
    assert scratch.remove_stale() == [left]
    assert os.path.isdir(ours) and other.is_dir() and not os.path.exists(left)
  assert not os.path.exists(ours)  # Removed after its block.


def test_a_dead_processs_scratch_is_found_whatever_its_random_suffix(tmp_path):
  # mkdtemp's random suffix may hold "_"; pid 2**22 + 1 is above Linux's pid_max.
  dead = tmp_path / f"compare_ssgan_real_features_{2 ** 22 + 1}_ab_c_d"
  dead.mkdir()
  assert scratch.remove_stale(str(tmp_path)) == [str(dead)]
