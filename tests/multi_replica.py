"""Checks on several logical CPU devices, run in a child process: one way to start them and
one output convention.

A child process because the CPU must be split before TensorFlow initialises, which
pytest's process has long done. The child (a module under tests/) calls `mirrored_cpus`
before anything else touches TensorFlow, asserts what it can itself, and ends with `report`:
one JSON line on stdout. The test calls `run_check`, which returns that line's values.
"""
import json
import os
import subprocess
import sys

import tensorflow as tf

from compare_ssgan.training import strategy as strategy_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 600


def mirrored_cpus(num_devices=2):
  """In the child: splits the CPU into `num_devices` and mirrors a strategy over them."""
  strategy_lib.split_cpu(num_devices)
  return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(num_devices)])


def report(strategy, **values):
  """In the child: prints the single JSON line `run_check` reads, with the replica count."""
  print(json.dumps({"replicas": strategy.num_replicas_in_sync, **values}))


def run_check(module, *args, num_devices=2):
  """Runs `python -m module *args`; returns its report after checking it ran on
  `num_devices` replicas. A failed assertion in the child fails here with its stderr."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
  assert out.returncode == 0, out.stderr[-5000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["replicas"] == num_devices, result
  return result
