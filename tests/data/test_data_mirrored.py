"""MirroredStrategy on 2 logical CPUs, in a subprocess (devices must be set
before TF initialises, and pytest shares one process)."""
import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.mark.slow
def test_two_replicas_see_the_doubled_single_replica_batch(indexed_npz):
  script = os.path.join(os.path.dirname(__file__), "mirrored_check.py")
  env = dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
  result = subprocess.run([sys.executable, script, indexed_npz(10)], env=env,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
