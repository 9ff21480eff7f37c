"""--strategy=multi_worker: two worker processes on localhost (TF_CONFIG) train as one.

Each run is checked against one process with one replica on the same global batch, in
deterministic mode, to the tolerance of test_distributed.py's mirrored check.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import gin
import numpy as np
import pytest

from compare_ssgan import main
from compare_ssgan.training import checkpoints
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib
from tests import tiny_configs
from tests.training import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "gin_configs/demo/uncond_gan.gin")
TOLERANCE = 1e-4
TIMEOUT_S = 300


def _bindings(training_steps):
  return [f"Trainer.training_steps = {training_steps}", "Trainer.batch_size = 8",
          "Trainer.steps_per_loop = 1", "Trainer.save_checkpoints_steps = 2",
          "Trainer.summary_steps = 2", "Trainer.image_summary_steps = 4",
          "Trainer.deterministic = True", "GAN.z_dim = 16",
          *tiny_configs.tiny_networks().splitlines()]


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


class Cluster:
  """Two `compare_ssgan.main --strategy=multi_worker` workers on free localhost ports."""

  def __init__(self, model_dir, training_steps, log_dir):
    ports = _free_ports(2)
    self.logs = [log_dir / f"worker{i}.{ports[i]}.log" for i in range(2)]
    self.jobs = []
    for index, log in enumerate(self.logs):
      tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                   "task": {"type": "worker", "index": index}}
      env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="2")
      with open(log, "w") as out:
        self.jobs.append(subprocess.Popen(
            [sys.executable, "-m", "compare_ssgan.main", "--strategy=multi_worker",
             f"--model_dir={model_dir}", f"--gin_config={CONFIG}",
             *(f"--gin_bindings={b}" for b in _bindings(training_steps))],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out))

  def log(self, index):
    return self.logs[index].read_text()

  def wait(self):
    """Both exit statuses; kills both if they are not done in time."""
    try:
      return [job.wait(timeout=TIMEOUT_S) for job in self.jobs]
    finally:
      self.kill()

  def kill(self):
    for job in self.jobs:
      if job.poll() is None:
        job.kill()
        job.wait()

  def wait_for(self, ready):
    deadline = time.time() + TIMEOUT_S
    while not ready():
      assert all(job.poll() is None for job in self.jobs) and time.time() < deadline, [
          self.log(i)[-3000:] for i in range(2)]
      time.sleep(0.05)


def _trainer(model_dir, training_steps):
  gin.clear_config()
  gin.parse_config_files_and_bindings([CONFIG], _bindings(training_steps))
  return trainer_lib.Trainer(str(model_dir), strategy_lib.make_strategy())


def _weights(trainer):
  return helpers.weights(trainer.gan.generator) + helpers.weights(trainer.gan.discriminator)


def _assert_run_equals_reference(model_dir, reference, step):
  """The checkpoint of `step` in model_dir holds the reference trainer's weights."""
  restored = _trainer(model_dir, step)
  checkpoints.restore(restored.checkpoint, str(model_dir / f"ckpt-{step}"))
  diff = max(float(np.max(np.abs(a - b)))
             for a, b in zip(_weights(restored), _weights(reference)))
  assert diff < TOLERANCE, diff


def _names(model_dir, starts=1):
  """The files of a run; its TensorBoard event files (one per start of the chief, named by
  host, time and pid) as their count."""
  names = os.listdir(model_dir)
  events = [n for n in names if n.startswith("events.out.tfevents")]
  assert len(events) == starts, names
  return sorted(set(names) - set(events))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """One process, one replica, the same global batch: 12 steps; its run directory."""
  model_dir = tmp_path_factory.mktemp("reference")
  trainer = _trainer(model_dir, 12)
  trainer.train()
  gin.clear_config()
  return trainer, model_dir


@pytest.mark.slow
def test_two_workers_write_one_run_equal_to_one_process(tmp_path, reference):
  cluster = Cluster(tmp_path / "run", 4, tmp_path)
  assert cluster.wait() == [0, 0], [cluster.log(i)[-3000:] for i in range(2)]
  # The reference's run directory at step 4, less the later checkpoints.
  expected = [n for n in _names(reference[1])
              if not n.startswith(tuple(f"ckpt-{s}." for s in (6, 8, 10, 12)))
              and n != "samples_00000012.png"] + ["samples_00000004.png"]
  assert _names(tmp_path / "run") == sorted(expected)
  reference_at_4 = _trainer(tmp_path / "reference_at_4", 4)
  reference_at_4.train()
  _assert_run_equals_reference(tmp_path / "run", reference_at_4, 4)


@pytest.mark.slow
def test_killed_worker_then_restarted_cluster_resumes_exactly(tmp_path, reference):
  model_dir = tmp_path / "run"
  cluster = Cluster(model_dir, 12, tmp_path)
  cluster.wait_for(lambda: (model_dir / "ckpt-2.index").exists())
  cluster.jobs[1].send_signal(signal.SIGKILL)
  cluster.kill()
  assert not (model_dir / "TRAIN_DONE").exists()  # Killed mid-run.

  # A SIGTERM to one worker (a preemption) makes both save the same step and exit as
  # preempted; a restart then finishes.
  cluster = Cluster(model_dir, 12, tmp_path)
  cluster.wait_for(lambda: "step 4/12" in cluster.log(1))
  resumed_from = [line for line in cluster.log(0).splitlines() if "Restored" in line]
  assert resumed_from and f"{model_dir}/ckpt-" in resumed_from[0], cluster.log(0)[-3000:]
  cluster.jobs[1].send_signal(signal.SIGTERM)
  assert cluster.wait() == [main.PREEMPTED_EXIT_STATUS] * 2, [
      cluster.log(i)[-3000:] for i in range(2)]
  assert not (model_dir / "TRAIN_DONE").exists()

  cluster = Cluster(model_dir, 12, tmp_path)
  assert cluster.wait() == [0, 0], [cluster.log(i)[-3000:] for i in range(2)]
  # The reference's files, plus the checkpoint the preemption wrote.
  preempted = {n for n in _names(model_dir, starts=3)
               if n.startswith("ckpt-") and int(n.split("-")[1].split(".")[0]) % 2}
  assert len(preempted) <= 2
  assert _names(model_dir, starts=3) == sorted(set(_names(reference[1])) | preempted)
  _assert_run_equals_reference(model_dir, reference[0], 12)
