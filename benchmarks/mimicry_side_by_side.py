r"""This project against torch-mimicry on the same networks, in alternating runs.

  python benchmarks/mimicry_side_by_side.py --torch_python=/work/torchenv/bin/python \
      [--rounds=3] [--steps=10]

The same work on both sides: SN-GAN's CIFAR networks exactly as mimicry builds them
(here `sngan_uncond` / `sngan_ssgan` of benchmarks/train_speed.py: G 4,276,739 and D
1,053,825 parameters on both sides), batch 64, one D step per G step, fp32, 2 threads.
Each round runs this project's step (benchmarks/train_speed.py, its own process, tracing
and warm-up not timed) and then mimicry's (benchmarks/mimicry_steps.py under
--torch_python, a Python with torch and torch-mimicry 0.1.16), so a slower or faster
moment of the machine hits both. Prints each run as a JSON line, then the medians and the
ratio. Run it on an otherwise idle machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Model -> (this project's train_speed.py configuration, mimicry_steps.py --model).
PAIRS = {"uncond": ("sngan_uncond", "sngan"), "ssgan": ("sngan_ssgan", "ssgan")}


def _last_json(command):
  out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--torch_python", required=True)
  parser.add_argument("--models", nargs="+", choices=sorted(PAIRS), default=sorted(PAIRS))
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=10)
  args = parser.parse_args()
  for name in ('rounds', 'steps'):
    if getattr(args, name) < 1:
      parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}.")
  if not os.access(args.torch_python, os.X_OK):
    parser.error(f"--torch_python={args.torch_python!r} is not an executable Python (one "
                 "with torch and torch-mimicry 0.1.16).")
  summary = []
  for model in args.models:
    ours_config, theirs_model = PAIRS[model]
    ours, theirs = [], []
    for _ in range(args.rounds):
      run = _last_json([sys.executable, os.path.join(HERE, "train_speed.py"),
                        f"--configs={ours_config}", "--in_process", f"--steps={args.steps}",
                        "--repeats=1"])
      print(json.dumps({"side": "compare_ssgan", "model": model,
                        "steps_per_sec": run["steps_per_sec"]}), flush=True)
      ours.append(run["steps_per_sec"])
      run = _last_json([args.torch_python, os.path.join(HERE, "mimicry_steps.py"),
                        f"--model={theirs_model}", f"--steps={args.steps}"])
      print(json.dumps(dict(run, side="torch-mimicry")), flush=True)
      theirs.append(run["steps_per_sec"])
    summary.append((model, statistics.median(ours), statistics.median(theirs)))
  print(f"{'model':8} {'compare_ssgan':>14} {'torch-mimicry':>14} {'ratio':>6}")
  for model, ours, theirs in summary:
    print(f"{model:8} {ours:14.4f} {theirs:14.4f} {ours / theirs:6.2f}")


if __name__ == "__main__":
  main()
