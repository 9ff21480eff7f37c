r"""How a training step's cost grows with batch size and with resolution.

  python benchmarks/speed/cost_scaling.py [--batch_sizes=32,64,128,256] \
      [--resolutions=32,64,128] [--steps=2] [--repeats=3]

Batch: compare_gan's resnet_cifar Uncond-GAN (train_speed.py's `resnet_cifar_uncond`) at
each batch size. Resolution: the BigGAN family (resnet_biggan, whose layout changes with
the resolution as in the BigGAN paper) at ch 64, z_dim 120, batch 16, one D step per G
step, no attention (so only the resolution changes between points), conditional on the
data's 10 classes. An empty list (--batch_sizes=) skips that sweep. Every point is one
benchmarks/speed/train_speed.py process (warm-up untimed, median of --repeats loops); prints its
JSON line, then a table of seconds per step, images/s, GFLOP per step, achieved GFLOP/s and
peak memory. Run it on an otherwise idle machine.
"""
import json
import os
import subprocess
import sys

from absl import app
from absl import flags

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


def _positive_ints(values):
  return all(v.isdigit() and int(v) >= 1 for v in values)


flags.DEFINE_list("batch_sizes", ["32", "64", "128", "256"],
                  "Batch sizes of the batch sweep (empty: skip it).")
flags.DEFINE_list("resolutions", ["32", "64", "128"],
                  "Resolutions of the resolution sweep (empty: skip it).")
flags.DEFINE_integer("steps", 2, "G steps per warm-up and per timed loop.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Timed loops per point; steps/s is their median.",
                     lower_bound=1)
for _name in ("batch_sizes", "resolutions"):
  flags.register_validator(_name, _positive_ints,
                           message="must be comma-separated positive integers")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  rows = []
  points = _points([int(v) for v in FLAGS.batch_sizes], [int(v) for v in FLAGS.resolutions])
  for sweep, value, config, bindings in points:
    command = [sys.executable, os.path.join(HERE, "train_speed.py"), f"--configs={config}",
               f"--steps={FLAGS.steps}", f"--repeats={FLAGS.repeats}"]
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
  app.run(main)
