"""--strategy=multi_worker: two worker processes on localhost (TF_CONFIG) train as one.

In deterministic mode: an uninterrupted two-worker run equals one process with one replica
on the same global batch (to the tolerance of test_distributed.py's mirrored check), and a
killed and preempted one equals the uninterrupted one. One SS-GAN step equals one process's
with `rotation.sources = "global_batch"`, and differs with "per_replica" (the control).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import gin
import numpy as np
import pytest

from compare_ssgan import main
from compare_ssgan import run_dir
from compare_ssgan.training import checkpoints
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib
from tests import tiny_configs
from tests.training import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "gin_configs/demo/uncond_gan.gin")
TOLERANCE = 1e-4
TIMEOUT_S = 300
STEPS = 10


def _bindings(training_steps, extra_bindings=()):
  """The tiny deterministic run's bindings, then `extra_bindings` (which win)."""
  return [*tiny_configs.tiny_trainer(training_steps=training_steps, steps_per_loop=1,
                                     deterministic=True).splitlines(),
          "GAN.z_dim = 16", *tiny_configs.tiny_networks().splitlines(), *extra_bindings]


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


class Cluster:
  """Two `compare_ssgan.main --strategy=multi_worker` workers on free localhost ports,
  training `config` with `_bindings(training_steps, extra_bindings)`."""

  def __init__(self, model_dir, training_steps, log_dir, config=CONFIG, extra_bindings=()):
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
             f"--model_dir={model_dir}", f"--gin_config={config}",
             *(f"--gin_bindings={b}" for b in _bindings(training_steps, extra_bindings))],
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


def _trainer(model_dir, training_steps, config=CONFIG, extra_bindings=()):
  """A one-process trainer of `config` with `_bindings(training_steps, extra_bindings)`."""
  gin.clear_config()
  gin.parse_config_files_and_bindings([config], _bindings(training_steps, extra_bindings))
  return trainer_lib.Trainer(str(model_dir), strategy_lib.make_strategy())


def _weights_at(model_dir, step, config=CONFIG, extra_bindings=()):
  """G's, D's and the terms' variables in the run's checkpoint of `step`."""
  trainer = _trainer(model_dir, step, config, extra_bindings)
  checkpoints.restore(trainer.checkpoint, str(model_dir / f"ckpt-{step}"))
  return [w for module in (trainer.gan.generator, trainer.gan.discriminator,
                           *trainer.gan.terms) for w in helpers.weights(module)]


def _max_diff(a, b):
  return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def _names(model_dir, starts=1):
  """The files of a run; its TensorBoard event files (one per start of the chief, named by
  host, time and pid) as their count."""
  names = os.listdir(model_dir)
  events = [n for n in names if n.startswith("events.out.tfevents")]
  assert len(events) == starts, names
  return sorted(set(names) - set(events))


def test_one_process_is_the_chief_and_collectives_are_for_multi_worker():
  assert strategy_lib.this_worker(strategy_lib.make_strategy()) == strategy_lib.Worker(
      name="chief", is_chief=True, num_workers=1)
  with pytest.raises(ValueError, match="--collective_communication=nccl is for "
                                       "--strategy=multi_worker, not --strategy=default"):
    strategy_lib.make_strategy("default", collective_communication="nccl")
  with pytest.raises(ValueError, match="must be one of .* got 'mpi'"):
    strategy_lib.make_strategy("multi_worker", collective_communication="mpi")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  """A two-worker run of STEPS steps and a one-process run: their run directories."""
  tmp_path = tmp_path_factory.mktemp("uninterrupted")
  cluster = Cluster(tmp_path / "cluster", STEPS, tmp_path)
  one_process = tmp_path / "one_process"
  _trainer(one_process, STEPS).train()  # Meanwhile.
  assert cluster.wait() == [0, 0], [cluster.log(i)[-3000:] for i in range(2)]
  return tmp_path / "cluster", one_process


@pytest.mark.slow
def test_two_workers_write_one_run_equal_to_one_process(uninterrupted):
  cluster, one_process = uninterrupted
  assert _names(cluster) == _names(one_process)  # Nothing of worker 1's.
  # Adam with beta_1 = 0 starts as sign descent, so the last-bit differences of an
  # all-reduce grow on near-zero gradients over many steps; hence step 4 (the mirrored
  # check compares after 2).
  assert _max_diff(_weights_at(cluster, 4), _weights_at(one_process, 4)) < TOLERANCE


@pytest.mark.slow
def test_killed_worker_then_restarted_cluster_resumes_exactly(tmp_path, uninterrupted):
  model_dir = tmp_path / "run"
  cluster = Cluster(model_dir, STEPS, tmp_path)
  cluster.wait_for(lambda: (model_dir / "ckpt-2.index").exists())
  cluster.jobs[1].send_signal(signal.SIGKILL)
  cluster.kill()
  assert not (model_dir / "TRAIN_DONE").exists()  # Killed mid-run.
  latest = run_dir.latest_checkpoint(str(model_dir))

  # Then a SIGTERM to one worker (a preemption) makes both save the same step and exit
  # as preempted; a restart finishes.
  cluster = Cluster(model_dir, STEPS, tmp_path)
  cluster.wait_for(lambda: f"/{STEPS} (" in cluster.log(1))  # A loop is done.
  assert f"Restored {latest}" in cluster.log(0), cluster.log(0)[-3000:]
  cluster.jobs[1].send_signal(signal.SIGTERM)
  assert cluster.wait() == [main.PREEMPTED_EXIT_STATUS] * 2, [
      cluster.log(i)[-3000:] for i in range(2)]
  assert not (model_dir / "TRAIN_DONE").exists()
  (preempted,) = re.findall(rf"Preempted at step (\d+); checkpoint written to "
                            rf"{re.escape(str(model_dir))}/ckpt-\1;", cluster.log(0))

  cluster = Cluster(model_dir, STEPS, tmp_path)
  assert cluster.wait() == [0, 0], [cluster.log(i)[-3000:] for i in range(2)]
  assert f"Restored {model_dir}/ckpt-{preempted}" in cluster.log(1)
  # The uninterrupted run's files (and the preemption's checkpoint), nothing of worker 1's.
  expected = set(_names(uninterrupted[0]))
  expected |= {n.replace("ckpt-2.", f"ckpt-{preempted}.") for n in expected
               if n.startswith("ckpt-2.")}
  assert _names(model_dir, starts=3) == sorted(expected)
  assert _max_diff(_weights_at(model_dir, STEPS), _weights_at(uninterrupted[0], STEPS)) == 0


SSGAN_CONFIG = os.path.join(ROOT, "gin_configs/demo/ssgan.gin")
# One step, checkpointed at step 1; 2 of the global batch of 8 rotated 4 ways.
ONE_SSGAN_STEP = ["Trainer.save_checkpoints_steps = 1", "rotation.rotated_batch_size = 8"]
# The first Adam step (beta_1 = 0) moves every weight by about lr = 2e-4 in the sign of its
# gradient, so rotating other images shows as flipped signs: 2 * lr = 4 x TOLERANCE apart.
CONTROL_DIFF = 3 * TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("sources, equal", [
    ("global_batch", True),
    ("per_replica", False)])
def test_two_workers_rotate_the_global_batch_as_one_process(tmp_path, sources, equal):
  """With `rotation.sources = "global_batch"` a two-worker SS-GAN step is the one-process
  step. The control: with "per_replica" (compare_gan's batching) each worker rotates the
  last of its own half, other images than one process does, and the weights differ."""
  extra = [*ONE_SSGAN_STEP, f'rotation.sources = "{sources}"']
  cluster = Cluster(tmp_path / "cluster", 1, tmp_path, SSGAN_CONFIG, extra)
  _trainer(tmp_path / "one_process", 1, SSGAN_CONFIG, extra).train()  # Meanwhile.
  assert cluster.wait() == [0, 0], [cluster.log(i)[-3000:] for i in range(2)]
  diff = _max_diff(_weights_at(tmp_path / "cluster", 1, SSGAN_CONFIG, extra),
                   _weights_at(tmp_path / "one_process", 1, SSGAN_CONFIG, extra))
  if equal:
    assert diff < TOLERANCE, diff
  else:
    assert diff > CONTROL_DIFF, diff
