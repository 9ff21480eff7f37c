"""Cross-replica BN and spectral norm under MirroredStrategy on 2 logical CPUs.

The checks live in mirrored_check.py and run in a subprocess, because the
logical devices must be configured before TensorFlow initializes.
"""

import os
import pathlib
import subprocess
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_mirrored_strategy_matches_single_device():
  env = dict(os.environ, PYTHONPATH=str(_ROOT))
  script = pathlib.Path(__file__).with_name("mirrored_check.py")
  result = subprocess.run([sys.executable, str(script)], env=env, cwd=_ROOT,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stdout + result.stderr[-5000:]
  assert result.stdout.strip().endswith("OK")
