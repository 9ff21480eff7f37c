r"""How a training step's cost grows with batch size and with resolution.

  python benchmarks/cost_scaling.py [--batch_sizes=32,64,128,256] \
      [--resolutions=32,64,128] [--steps=2] [--repeats=3]

Batch: compare_gan's resnet_cifar Uncond-GAN (train_speed.py's `resnet_cifar_uncond`) at
each batch size. Resolution: the BigGAN family (resnet_biggan, whose layout changes with
the resolution as in the BigGAN paper) at ch 64, z_dim 120, batch 16, one D step per G
step, no attention (so only the resolution changes between points), conditional on the
data's 10 classes. An empty list (--batch_sizes=) skips that sweep. Every point is one
benchmarks/train_speed.py process (warm-up untimed, median of --repeats loops); prints its
JSON line, then a table of seconds per step, images/s, GFLOP per step, achieved GFLOP/s and
peak memory. Run it on an otherwise idle machine.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# z_dim 120: hierarchical z is cut into (G blocks + 1) chunks, 4, 5 and 6 at 32, 64, 128 px.
_BIGGAN = ["GAN.z_dim = 120", "resnet_biggan.Generator.ch = 64",
           "resnet_biggan.Discriminator.ch = 64", "Trainer.batch_size = 16", "GAN.disc_iters = 1",
           "dataset.name = 'fashion_mnist_embedded'", "dataset.num_channels = 3",
           "dataset.resize_method = 'resize'"]


def _points(batch_sizes, resolutions):
  """(sweep, value, train_speed configuration, extra gin bindings) per point."""
  for batch in batch_sizes:
    yield "batch", batch, "resnet_cifar_uncond", [f"Trainer.batch_size = {batch}"]
  for resolution in resolutions:
    yield ("resolution", resolution, "gin_configs/zhao2020_augment/biggan_cifar10_base.gin",
           _BIGGAN + [f"dataset.resolution = {resolution}"])


def _positive_ints(text):
  """Comma-separated positive integers; empty skips that sweep."""
  values = [int(v) for v in text.split(",") if v]
  if min(values, default=1) < 1:
    raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
  return values


def _positive_int(text):
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
  return value


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch_sizes", type=_positive_ints, default=[32, 64, 128, 256])
  parser.add_argument("--resolutions", type=_positive_ints, default=[32, 64, 128])
  parser.add_argument("--steps", type=_positive_int, default=2)
  parser.add_argument("--repeats", type=_positive_int, default=3)
  args = parser.parse_args()
  rows = []
  for sweep, value, config, bindings in _points(args.batch_sizes, args.resolutions):
    command = [sys.executable, os.path.join(HERE, "train_speed.py"), f"--configs={config}",
               f"--steps={args.steps}", f"--repeats={args.repeats}"]
    command += [f"--gin_bindings={b}" for b in bindings]
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    print(json.dumps(dict(result, sweep=sweep, value=value)), flush=True)
    rows.append((sweep, value, result))
  print(f"{'sweep':10} {'value':>5} {'s/step':>7} {'images/s':>8} {'GFLOP/step':>10} "
        f"{'GFLOP/s':>8} {'of matmul':>9} {'peak RSS MiB':>12}")
  for sweep, value, r in rows:
    print(f"{sweep:10} {value:5d} {1 / r['steps_per_sec']:7.2f} {r['images_per_sec']:8.1f} "
          f"{r['gflop_per_step']:10.1f} {r['achieved_gflops']:8.1f} "
          f"{r['achieved_fraction_of_matmul']:9.0%} {r['peak_rss_mib']:12.0f}")


if __name__ == "__main__":
  main()
