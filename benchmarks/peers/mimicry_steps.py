r"""torch-mimicry's SNGAN-32 / SSGAN-32 training step, timed (the peer's side of
benchmarks/peers/mimicry_side_by_side.py; run it with a Python that has torch and
torch-mimicry, in its own venv: it keeps argparse, that venv has no absl).

  python3 -m venv torchenv && torchenv/bin/pip install torch numpy torch-mimicry==0.1.16
  torchenv/bin/python benchmarks/peers/mimicry_steps.py --model=sngan --steps=10

One step is what mimicry's Trainer does per iteration with n_dis = 1: D's train_step on a
real batch, then G's; batch 64 of 3x32x32 real images resident in memory (data loading is
not timed on either side), Adam(2e-4, (0, 0.9)) as in mimicry's examples, fp32, on the CPU
with --threads intra-op threads. Prints one JSON line.
"""
import argparse
import json
import sys
import time
import types

# mimicry's package __init__ imports its metrics (TensorFlow, which segfaults beside torch in
# one process) and datasets (torch._six, gone from torch 2): neither is used here.
for _unused in ("torch_mimicry.metrics", "torch_mimicry.datasets"):
  sys.modules[_unused] = types.ModuleType(_unused)

# pylint: disable=g-import-not-at-top,wrong-import-position
import torch
from torch_mimicry.nets import sngan, ssgan
from torch_mimicry.training import metric_log
# pylint: enable=g-import-not-at-top,wrong-import-position

MODELS = {"sngan": (sngan.SNGANGenerator32, sngan.SNGANDiscriminator32),
          "ssgan": (ssgan.SSGANGenerator32, ssgan.SSGANDiscriminator32)}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--model", choices=sorted(MODELS), required=True)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--warmup", type=int, default=3)  # 0: none.
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--threads", type=int, default=2)
  args = parser.parse_args()
  for name in ("steps", "batch_size", "threads"):
    if getattr(args, name) < 1:
      parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}.")
  if args.warmup < 0:
    parser.error(f"--warmup must be >= 0, got {args.warmup}.")
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  device = torch.device("cpu")
  make_g, make_d = MODELS[args.model]
  net_g, net_d = make_g().to(device), make_d().to(device)
  opt_g = torch.optim.Adam(net_g.parameters(), 2e-4, betas=(0.0, 0.9))
  opt_d = torch.optim.Adam(net_d.parameters(), 2e-4, betas=(0.0, 0.9))
  real_batch = (torch.rand(args.batch_size, 3, 32, 32) * 2 - 1,
                torch.randint(0, 10, (args.batch_size,)))

  def step(global_step):
    log_data = metric_log.MetricLog()
    log_data = net_d.train_step(real_batch=real_batch, netG=net_g, optD=opt_d,
                                log_data=log_data, global_step=global_step, device=device)
    net_g.train_step(real_batch=real_batch, netD=net_d, optG=opt_g, log_data=log_data,
                     global_step=global_step, device=device)

  for i in range(args.warmup):
    step(i)
  start = time.perf_counter()
  for i in range(args.steps):
    step(args.warmup + i)
  seconds = time.perf_counter() - start
  print(json.dumps({"peer": "torch-mimicry", "model": args.model, "steps": args.steps,
                    "steps_per_sec": round(args.steps / seconds, 4),
                    "batch_size": args.batch_size, "threads": args.threads,
                    "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
  main()
