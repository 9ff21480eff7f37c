"""One trainer and one evaluator per run directory, with two real processes."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from compare_ssgan import run_dir
from compare_ssgan import run_lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_HOLD = """
import sys, time
from compare_ssgan import run_lock
run_lock.acquire(sys.argv[1], sys.argv[2])
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def holder():
  """Starts a process that holds a lock: holder(path, purpose) -> Popen."""
  processes = []

  def start(path, purpose):
    process = subprocess.Popen([sys.executable, "-c", _HOLD, path, purpose], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    processes.append(process)
    return process

  yield start
  for process in processes:
    process.kill()
    process.wait()


def test_a_live_holder_is_named_and_a_dead_ones_lock_taken_over(tmp_path, holder, caplog):
  path = str(tmp_path / "train.lock")
  process = holder(path, "trainer")
  with pytest.raises(run_lock.LockHeld, match=f"held by pid {process.pid} on "
                     f"{socket.gethostname()}"):
    run_lock.acquire(path, "trainer")
  process.send_signal(signal.SIGKILL)
  process.wait()
  with run_lock.hold(path, "trainer"):
    assert json.loads(open(path).read())["pid"] == os.getpid()
  assert "Taking over" in caplog.text and str(process.pid) in caplog.text
  assert not os.path.exists(path)  # Released.


def test_released_on_an_error_and_refused_for_a_holder_on_another_host(tmp_path):
  path = str(tmp_path / "evaluator.lock")
  with pytest.raises(RuntimeError, match="boom"):
    with run_lock.hold(path, "evaluator"):
      raise RuntimeError("boom")
  assert not os.path.exists(path)
  with open(path, "w") as f:  # A pid that does not run here: but it is another host's.
    json.dump({"host": "elsewhere", "pid": 2 ** 22 + 1, "since": "x", "command": "c"}, f)
  with pytest.raises(run_lock.LockHeld, match="on elsewhere.*remove .*evaluator.lock"):
    run_lock.acquire(path, "evaluator")
  assert os.path.exists(path)


def test_a_second_trainer_and_a_second_evaluator_are_refused_before_any_work(
    tmp_path, holder):
  model_dir = str(tmp_path / "run")
  os.makedirs(model_dir)
  holder(run_dir.train_lock_path(model_dir), "trainer")
  out = subprocess.run(
      [sys.executable, "-m", "compare_ssgan.main", "--gin_config=gin_configs/demo/ssgan.gin",
       f"--model_dir={model_dir}", "--gin_bindings=Trainer.training_steps=2"], cwd=ROOT,
      capture_output=True, text=True, timeout=300, check=False)
  assert out.returncode != 0
  assert "Another trainer works in this run directory" in out.stderr
  assert os.listdir(model_dir) == [run_dir.TRAIN_LOCK]  # Nothing written.
  holder(run_dir.eval_lock_path(model_dir), "evaluator")
  run_dir.write_atomically(run_dir.config_path(model_dir), "GAN.z_dim = 64\n")
  out = subprocess.run(
      [sys.executable, "-m", "compare_ssgan.main", f"--model_dir={model_dir}",
       "--mode=continuous_eval", "--wait_for_run_secs=0"], cwd=ROOT,
      capture_output=True, text=True, timeout=300, check=False)
  assert out.returncode != 0
  assert "Another evaluator works in this run directory" in out.stderr
