r"""This project against torch-mimicry on the same networks, in alternating runs.

  python3 -m venv torchenv && torchenv/bin/pip install torch numpy torch-mimicry==0.1.16
  python benchmarks/peers/mimicry_side_by_side.py --torch_python=torchenv/bin/python \
      [--models=uncond,ssgan] [--rounds=3] [--steps=10]

The same work on both sides: SN-GAN's CIFAR networks exactly as mimicry builds them
(here `sngan_uncond` / `sngan_ssgan` of benchmarks/speed/train_speed.py: G 4,276,739 and
D 1,053,825 parameters on both sides), batch 64, one D step per G step, fp32, 2 threads.
Each round runs this project's step (benchmarks/speed/train_speed.py, its own process,
tracing and warm-up not timed) and then mimicry's (benchmarks/peers/mimicry_steps.py under
--torch_python, a Python with torch and torch-mimicry 0.1.16), so a slower or faster
moment of the machine hits both. Prints each run as a JSON line, then the medians and the
ratio. Run it on an otherwise idle machine. This script runs in the project's venv; only
mimicry_steps.py runs under --torch_python.
"""
import json
import os
import statistics
import subprocess
import sys

from absl import app
from absl import flags

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_SPEED = os.path.join(os.path.dirname(HERE), "speed", "train_speed.py")
# Model -> (this project's train_speed.py configuration, mimicry_steps.py --model).
PAIRS = {"uncond": ("sngan_uncond", "sngan"), "ssgan": ("sngan_ssgan", "ssgan")}

flags.DEFINE_string("torch_python", None,
                    "A Python with torch and torch-mimicry 0.1.16 (its own venv).")
flags.DEFINE_list("models", sorted(PAIRS), f"Models to compare, among {sorted(PAIRS)}.")
flags.DEFINE_integer("rounds", 3, "Alternating runs of each side per model.", lower_bound=1)
flags.DEFINE_integer("steps", 10, "Timed G steps per run.", lower_bound=1)
flags.register_validator("models", lambda models: bool(models) and set(models) <= set(PAIRS),
                         message=f"must be one or more of {sorted(PAIRS)}")
flags.register_validator(
    "torch_python", lambda path: path is None or os.access(path, os.X_OK),
    message="is not an executable Python (one with torch and torch-mimicry 0.1.16)")
FLAGS = flags.FLAGS


def _last_json(command):
  out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main(argv):
  del argv
  summary = []
  for model in FLAGS.models:
    ours_config, theirs_model = PAIRS[model]
    ours, theirs = [], []
    for _ in range(FLAGS.rounds):
      run = _last_json([sys.executable, TRAIN_SPEED, f"--configs={ours_config}",
                        "--in_process", f"--steps={FLAGS.steps}", "--repeats=1"])
      print(json.dumps({"side": "compare_ssgan", "model": model,
                        "steps_per_sec": run["steps_per_sec"]}), flush=True)
      ours.append(run["steps_per_sec"])
      run = _last_json([FLAGS.torch_python, os.path.join(HERE, "mimicry_steps.py"),
                        f"--model={theirs_model}", f"--steps={FLAGS.steps}"])
      print(json.dumps(dict(run, side="torch-mimicry")), flush=True)
      theirs.append(run["steps_per_sec"])
    summary.append((model, statistics.median(ours), statistics.median(theirs)))
  print(f"{'model':8} {'compare_ssgan':>14} {'torch-mimicry':>14} {'ratio':>6}")
  for model, ours, theirs in summary:
    print(f"{model:8} {ours:14.4f} {theirs:14.4f} {ours / theirs:6.2f}")


if __name__ == "__main__":
  flags.mark_flag_as_required("torch_python")
  app.run(main)
