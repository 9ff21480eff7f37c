"""MirroredStrategy on 2 logical CPUs equals one device on the same global batch."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["", "GAN.conditional = True\nG.batch_norm = "
                                       "'conditional_batch_norm'\n"])
def test_two_mirrored_replicas_equal_one_device(extra):
  out = subprocess.run([sys.executable, "-m", "tests.training.mirrored_equivalence", extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["replicas"] == 2
  # BN in G is synchronised across replicas, so the two runs see the same statistics.
  assert result["loss_diff"] < 1e-4, result
  assert result["weight_diff"] < 1e-4, result
