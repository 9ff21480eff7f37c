"""tpu/launch*.py --dry_run print commands whose compare_ssgan flags really exist."""
import json
import os
import shlex
import subprocess
import sys

from compare_ssgan import main as main_lib  # defines the real flags
from compare_ssgan.training import strategy as strategy_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_dry_run_prints_trainer_and_evaluator_with_real_flags():
  out = subprocess.run(
      [sys.executable, "tpu/launch.py", "--tpu_name=t1", "--zone=z1", "--project=p1",
       "--model_dir=gs://b/run", "--gin_config=gin_configs/demo/uncond_gan.gin",
       "--gin_bindings=Trainer.training_steps=10", "--dry_run"],
      cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 4 and "tpus tpu-vm create t1" in lines[0]
  main_commands = [c for line in lines for c in _main_commands(line)]
  modes = sorted(c["--mode"] for c in main_commands)
  assert modes == ["continuous_eval", "train"]
  known = {"--" + name for name in main_lib.FLAGS}
  for command in main_commands:
    assert command["--model_dir"] == "gs://b/run"
    assert set(command) <= known, set(command) - known
  train = next(c for c in main_commands if c["--mode"] == "train")
  assert train["--strategy"] == "tpu" and train["--gin_bindings"] == "Trainer.training_steps=10"
  assert os.path.exists(os.path.join(ROOT, train["--gin_config"]))


def test_gpu_cluster_dry_run_prints_one_worker_per_host_and_the_evaluator():
  out = subprocess.run(
      [sys.executable, "tpu/launch_gpu_cluster.py", "--hosts=gpu0,gpu1", "--port=2345",
       "--model_dir=gs://b/run", "--gin_config=gin_configs/demo/uncond_gan.gin",
       "--gin_bindings=Trainer.training_steps=10", "--dry_run"],
      cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 3
  known = {"--" + name for name in main_lib.FLAGS}
  for index, line in enumerate(lines[:2]):
    assert shlex.split(line)[:2] == ["ssh", f"gpu{index}"]
    (train,) = _main_commands(line)
    assert set(train) <= known, set(train) - known
    assert train["--mode"] == "train" and train["--strategy"] == "multi_worker"
    assert train["--collective_communication"] in strategy_lib.COLLECTIVE_COMMUNICATIONS
    assert train["--model_dir"] == "gs://b/run"
    (tf_config,) = [w.split("=", 1)[1] for w in shlex.split(shlex.split(line)[2])
                    if w.startswith("TF_CONFIG=")]
    assert json.loads(tf_config) == {
        "cluster": {"worker": ["gpu0:2345", "gpu1:2345"]},
        "task": {"type": "worker", "index": index}}
  (evaluate,) = _main_commands(lines[2])
  assert evaluate["--mode"] == "continuous_eval" and set(evaluate) <= known


def _main_commands(line):
  """Parses every `compare_ssgan.main` invocation in a printed (possibly nested) command."""
  words = shlex.split(line)
  for word in words:
    if "compare_ssgan.main" in word and word != "compare_ssgan.main":
      yield from _main_commands(word.split("&&")[-1])
  if "compare_ssgan.main" in words:
    args = words[words.index("compare_ssgan.main") + 1:]
    yield dict(a.split("=", 1) for a in args)
