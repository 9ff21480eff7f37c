"""The README's main job end to end (fewer steps and samples), and main.py's errors."""
import csv
import math
import os
import re
import signal
import subprocess
import sys
import time

from absl import app
from absl import flags
import pytest

from compare_ssgan import gin_files
from compare_ssgan import main
from tests import tiny_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _main(*args, timeout=900):
  return subprocess.run([sys.executable, "-m", "compare_ssgan.main", *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout, check=False)


def _tiny_training(model_dir, training_steps):
  """A tiny demo run, one step per loop, checkpointed only at its end (or when stopped)."""
  bindings = [f"Trainer.training_steps = {training_steps}", "Trainer.batch_size = 8",
              "Trainer.steps_per_loop = 1", "Trainer.save_checkpoints_steps = 100000",
              "GAN.z_dim = 16", *tiny_configs.tiny_networks().splitlines()]
  return ["--gin_config=gin_configs/demo/uncond_gan.gin", f"--model_dir={model_dir}",
          *(f"--gin_bindings={binding}" for binding in bindings)]


def _rows(path):
  with open(path) as f:
    return list(csv.DictReader(f))


@pytest.mark.slow
def test_train_and_eval_then_continuous_eval(tmp_path):
  model_dir = str(tmp_path / "demo")
  out = _main("--gin_config=gin_configs/demo/ssgan.gin", f"--model_dir={model_dir}",
              "--mode=train_and_eval", "--gin_bindings=Trainer.training_steps=20",
              "--gin_bindings=evaluation.num_samples=100")
  assert out.returncode == 0, out.stderr[-3000:]
  for name in ("TRAIN_DONE", "config.gin", "samples_00000020.png", "ckpt-20.index"):
    assert os.path.exists(os.path.join(model_dir, name)), name
  rows = _rows(os.path.join(model_dir, "eval", "results.csv"))
  fid = {int(r["step"]): float(r["value"]) for r in rows if r["metric"] == "fid"}
  # Every checkpoint is scored, not only the latest: the probe at each, FID at the final
  # one (the demo's FID is at multiples of 500 steps and the last).
  assert sorted({int(r["step"]) for r in rows if r["metric"] == "probe_top1_block3"}) == [0, 20]
  assert sorted(fid) == [20] and all(math.isfinite(v) and v > 0 for v in fid.values())
  # It ends by printing its report table (FID/KID at the final and best step) ...
  table = out.stdout[out.stdout.index(f"{model_dir}: generator, N = 100"):]
  assert "FID (final)" in table and "KID (best)" in table and f"{fid[20]:.2f}" in table
  assert "probe_top1_block3 (best)" in table
  # ... and its folder holds the curves.
  assert os.path.getsize(os.path.join(model_dir, "curves.png")) > 0

  # A separate evaluator on the same directory has nothing left and stops (training is done).
  out = _main(f"--model_dir={model_dir}", "--mode=continuous_eval",
              "--gin_bindings=evaluation.num_samples=100")
  assert out.returncode == 0, out.stderr[-3000:]
  assert _rows(os.path.join(model_dir, "eval", "results.csv")) == rows


def _sigterm_once(args, ready, tmp_path):
  """Starts main with `args`, sends SIGTERM once `ready(stderr so far)`; (status, stderr)."""
  log = tmp_path / "stderr"
  with open(log, "w") as stderr:
    job = subprocess.Popen([sys.executable, "-m", "compare_ssgan.main", *args], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=stderr)
  try:
    deadline = time.time() + 300
    while not ready(log.read_text()):
      assert job.poll() is None and time.time() < deadline, log.read_text()[-3000:]
      time.sleep(0.2)
    job.send_signal(signal.SIGTERM)
    returncode = job.wait(timeout=120)
  finally:
    job.kill()
  return returncode, log.read_text()


def _preempted_line(returncode, log):
  assert returncode == main.PREEMPTED_EXIT_STATUS == 143, log[-3000:]
  assert "Traceback" not in log
  (line,) = [line for line in log.splitlines() if "Preempted" in line]
  return line


@pytest.mark.slow
def test_sigterm_checkpoints_and_exits_as_preempted_then_a_restart_completes(tmp_path):
  model_dir = tmp_path / "run"
  line = _preempted_line(*_sigterm_once(
      _tiny_training(model_dir, 10**6),
      # Written after the first loop: training is under way.
      lambda log: (model_dir / "operative_config.gin").exists(), tmp_path))
  step = int(re.search(
      rf"Preempted at step (\d+); checkpoint written to {re.escape(str(model_dir))}/ckpt-\1; "
      r"exiting with status 143 \(restart to resume\)\.$", line).group(1))
  assert (model_dir / f"ckpt-{step}.index").exists()
  assert not (model_dir / "TRAIN_DONE").exists()

  out = _main(*_tiny_training(model_dir, step + 1), timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  assert f"Restored {model_dir}/ckpt-{step}" in out.stderr
  for name in ("TRAIN_DONE", f"samples_{step + 1:08d}.png", f"ckpt-{step + 1}.index"):
    assert (model_dir / name).exists(), name


def test_sigterm_outside_training_exits_as_preempted(tmp_path):
  line = _preempted_line(*_sigterm_once(
      [f"--model_dir={tmp_path}", "--mode=continuous_eval"],
      lambda log: "Waiting for the trainer" in log, tmp_path))
  assert line.endswith("Preempted; exiting with status 143 (restart to resume).")


def test_misspelt_binding_fails_before_any_work(tmp_path):
  out = _main("--gin_config=gin_configs/demo/ssgan.gin", f"--model_dir={tmp_path}/x",
              "--gin_bindings=rotation.rotated_batchsize=64", timeout=300)
  assert out.returncode != 0
  assert "rotated_batchsize" in out.stderr
  assert not os.path.exists(tmp_path / "x")


def test_eval_of_a_directory_without_a_run_is_explained(tmp_path):
  out = _main(f"--model_dir={tmp_path}", "--mode=eval", timeout=300)
  assert out.returncode != 0 and "config.gin not found" in out.stderr


@pytest.mark.parametrize("path", ["missing.gin", "gin_configs/missing.gin"])
def test_missing_gin_config_is_named(path):
  with pytest.raises(app.UsageError, match=rf"--gin_config={path}: no such file .*"
                     rf"'{os.path.join(ROOT, path)}'"):
    gin_files.parse_gin([path], [])


@pytest.mark.parametrize("name, value", [("checkpoint", "ckpt-5"), ("rescore", "true")])
def test_checkpoint_and_rescore_flags_are_for_eval_only(tmp_path, name, value):
  main.FLAGS(["main", f"--model_dir={tmp_path}", "--mode=continuous_eval",
              f"--{name}={value}"])
  try:
    with pytest.raises(app.UsageError, match=f"--{name} is for --mode=eval"):
      main.main(["main"])
  finally:
    main.FLAGS.unparse_flags()


@pytest.mark.parametrize("name, value", [("export_dir", "out"), ("overwrite", "true")])
def test_export_flags_are_for_export_only(tmp_path, name, value):
  main.FLAGS(["main", f"--model_dir={tmp_path}", "--mode=eval", f"--{name}={value}"])
  try:
    with pytest.raises(app.UsageError, match=f"--{name} is for --mode=export"):
      main.main(["main"])
  finally:
    main.FLAGS.unparse_flags()


@pytest.mark.parametrize("bad", ["-1.0", "nan"])
def test_wait_for_run_secs_is_validated(tmp_path, bad):
  try:
    with pytest.raises(flags.IllegalFlagValueError,
                       match=f"--wait_for_run_secs={bad}: must be >= 0"):
      main.FLAGS(["main", f"--model_dir={tmp_path}", f"--wait_for_run_secs={bad}"])
  finally:
    main.FLAGS.unparse_flags()
