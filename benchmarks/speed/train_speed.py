r"""Training throughput and executed-FLOP rate of named configurations, after warm-up.

  python benchmarks/speed/train_speed.py [--configs=sngan_uncond,sngan_ssgan,...] \
      [--steps=20] [--repeats=5] [--gin_bindings=Trainer.jit_compile=True] [--profile]

Each configuration runs in its own process (so its peak memory is its own): one warm-up
loop of --steps G steps (tracing included), then --repeats timed loops of --steps G steps;
steps/s is their median. FLOPs per step are those the traced replica step executes
(compare_ssgan/profiling/flops.py: convolutions and matrix products that run, forward and
the gradients something consumes); achieved GFLOP/s = FLOPs per step x steps/s, next to
the GFLOP/s of a --matmul_size^3 fp32 matmul timed in the same process. Peak memory is the
process's peak resident set (resource.getrusage ru_maxrss), and the accelerator's peak
(tf.config.experimental.get_memory_info) when there is one. The data is the embedded
Fashion-MNIST at each network's size (3 channels), so nothing is downloaded; throughput
does not depend on pixel values. Prints one JSON line per configuration, then a table.
Run it on an otherwise idle machine: the numbers are wall-clock. --configs also takes
paths of .gin files. --profile adds one loop under TensorBoard's profiler (after the timed
ones, so not in them) and each configuration's share of kernel time by op type
(compare_ssgan/profiling/kernel_time.py); --profile_dir keeps the traces for
`tensorboard --logdir`. --strategy, --tpu and --num_cpu_devices mean what they mean to
`python -m compare_ssgan.main`.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import gin
import tensorflow as tf

from compare_ssgan import gin_files
from compare_ssgan.profiling import flops
from compare_ssgan.profiling import kernel_time
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib

_EMBEDDED = "dataset.name = 'fashion_mnist_embedded'"
_DATA_32 = [_EMBEDDED, "dataset.resolution = 32", "dataset.num_channels = 3"]
_PAPER = "gin_configs/ssgan_paper/"
# name -> (gin files, bindings applied after them).
CONFIGS = {
    "resnet_cifar_uncond": ([_PAPER + "cifar10_uncond.gin"], _DATA_32),
    "resnet_cifar_ssgan": ([_PAPER + "cifar10_ssgan.gin"], _DATA_32),
    "resnet_cifar_cr": ([_PAPER + "cifar10_uncond.gin"],
                        _DATA_32 + ["GAN.auxiliary_terms = [@consistency()]"]),
    "resnet_cifar_cntr": ([_PAPER + "cifar10_uncond.gin"],
                          _DATA_32 + ["GAN.auxiliary_terms = [@contrastive()]"]),
    "sngan_uncond": ([_PAPER + "cifar10_uncond_sngan.gin"], _DATA_32),
    "sngan_ssgan": ([_PAPER + "cifar10_ssgan_sngan.gin"], _DATA_32),
    "sndcgan": (["gin_configs/zhao2020_augment/sndcgan_cifar10_base.gin"], _DATA_32),
    "demo": (["gin_configs/demo/ssgan.gin"], []),
    # BigGAN at 128 px (ch 96, attention, hierarchical z, 2 D steps per G step as in
    # the BigGAN paper), conditional on the data's 10 classes, batch 8.
    "biggan128": (["gin_configs/zhao2020_augment/biggan_cifar10_base.gin"],
                  [_EMBEDDED, "dataset.resolution = 128", "dataset.num_channels = 3",
                   "dataset.resize_method = 'resize'", "GAN.z_dim = 120",
                   "GAN.disc_iters = 2", "Trainer.batch_size = 8",
                   "resnet_biggan.Generator.ch = 96", "resnet_biggan.Discriminator.ch = 96",
                   "resnet_biggan.Generator.blocks_with_attention = 'B4'",
                   "resnet_biggan.Discriminator.blocks_with_attention = 'B1'"]),
}

flags.DEFINE_list("configs", list(CONFIGS), f"Names among {sorted(CONFIGS)} or .gin files.")
flags.register_validator(  # A bad name is refused before any run.
    "configs", lambda names: bool(names) and all(n.endswith(".gin") or n in CONFIGS
                                                 for n in names),
    message=f"must name .gin files or configurations among {sorted(CONFIGS)}")
flags.DEFINE_integer("steps", 20, "G steps per warm-up and per timed loop.", lower_bound=1)
flags.DEFINE_integer("repeats", 5, "Timed loops; steps/s is their median.", lower_bound=1)
flags.DEFINE_integer("matmul_size", 2048, "Side of the fp32 reference matmul.", lower_bound=1)
flags.DEFINE_bool("profile", False, "Also profile one loop: kernel time by op type.")
flags.DEFINE_string("profile_dir", None, "Keep the profiles in <profile_dir>/<config>.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied to every configuration, "
                          "after its own.")
flags.DEFINE_enum("strategy", "default", strategy_lib.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
flags.DEFINE_integer("num_cpu_devices", None, "Split the CPU into this many logical devices "
                     "(for --strategy=mirrored on a CPU-only host).", lower_bound=1)
flags.DEFINE_bool("in_process", False, "Run the configurations in this process (each "
                  "configuration's own process passes it).")
FLAGS = flags.FLAGS


def _config_files_and_bindings(name):
  if name.endswith(".gin"):
    return [name], []
  if name not in CONFIGS:
    raise ValueError(f"--configs: unknown configuration {name!r}; expected a .gin file "
                     f"or one of {sorted(CONFIGS)}.")
  return CONFIGS[name]


def _timed_loop(trainer, iterator, steps):
  start = time.perf_counter()
  trainer.run_loop(iterator, steps)
  trainer.step.numpy()  # The step counter is updated last: waits for the device.
  return time.perf_counter() - start


def _step_flops(trainer):
  """{op type: FLOPs} of one G step on all replicas, from the traced replica step."""
  # The replica step the warm-up traced (one trace per replica device, all alike).
  traced = trainer._replica_step._list_all_concrete_functions()  # pylint: disable=protected-access
  per_replica = flops.function_flops(traced[0])
  return {op: n * trainer.strategy.num_replicas_in_sync for op, n in per_replica.items()}


def _peak_accelerator_mib():
  devices = tf.config.list_logical_devices("GPU")
  if not devices:
    return None
  peak = tf.config.experimental.get_memory_info(devices[0].name)["peak"]
  return round(peak / 2**20, 1)


def benchmark(name, steps, repeats):
  """Measures one configuration in this process; returns its JSON-able result."""
  files, bindings = _config_files_and_bindings(name)
  bindings = bindings + [f"Trainer.steps_per_loop = {steps}"] + FLAGS.gin_bindings
  gin_files.parse_gin(files, bindings)
  with tempfile.TemporaryDirectory() as model_dir:
    trainer = trainer_lib.Trainer(model_dir, strategy_lib.make_strategy(
        FLAGS.strategy, FLAGS.tpu, FLAGS.num_cpu_devices))
    iterator = iter(trainer.train_dataset())
    warmup = _timed_loop(trainer, iterator, steps)
    rates = [steps / _timed_loop(trainer, iterator, steps) for _ in range(repeats)]
    step_flops = _step_flops(trainer)
    op_seconds = None
    if FLAGS.profile or FLAGS.profile_dir:
      op_seconds = kernel_time.profile_op_types(
          lambda: _timed_loop(trainer, iterator, steps),
          logdir=FLAGS.profile_dir and os.path.join(FLAGS.profile_dir, name))
  gin.clear_config()
  steps_per_sec = statistics.median(rates)
  images_per_step = trainer.batch_size * (trainer.gan.disc_iters + 1)
  gflop_per_step = sum(step_flops.values()) / 1e9
  matmul = flops.matmul_gflops(FLAGS.matmul_size, max(repeats, 3))
  achieved = gflop_per_step * steps_per_sec
  return {
      "config": name, "gin_config": files, "gin_bindings": bindings,
      "replicas": trainer.strategy.num_replicas_in_sync,
      "batch_size": trainer.batch_size, "disc_iters": trainer.gan.disc_iters,
      "warmup_seconds": round(warmup, 2), "steps": steps, "repeats": repeats,
      "steps_per_sec": round(steps_per_sec, 4),
      "steps_per_sec_runs": [round(r, 4) for r in rates],
      # Real images consumed: one batch per D step and one for the G step.
      "images_per_sec": round(steps_per_sec * images_per_step, 2),
      "gflop_per_step": round(gflop_per_step, 3),
      "gflop_per_step_by_op": {op: round(n / 1e9, 3) for op, n in sorted(step_flops.items())},
      "achieved_gflops": round(achieved, 2),
      "matmul_size": FLAGS.matmul_size, "matmul_gflops": round(matmul, 2),
      "achieved_fraction_of_matmul": round(achieved / matmul, 3),
      # Linux reports ru_maxrss in KiB.
      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      "peak_accelerator_mib": _peak_accelerator_mib(),
      "kernel_time_by_op": op_seconds and {
          op: round(share, 4) for op, _, share in kernel_time.shares(op_seconds, top=10)},
      "tf": tf.__version__,
  }


_TABLE = (("config", "config", "{}"), ("steps/s", "steps_per_sec", "{:.3f}"),
          ("images/s", "images_per_sec", "{:.1f}"), ("GFLOP/step", "gflop_per_step", "{:.1f}"),
          ("GFLOP/s", "achieved_gflops", "{:.1f}"), ("matmul GFLOP/s", "matmul_gflops", "{:.1f}"),
          ("of matmul", "achieved_fraction_of_matmul", "{:.0%}"),
          ("peak RSS MiB", "peak_rss_mib", "{:.0f}"))


def _table(results):
  rows = [[title for title, _, _ in _TABLE]]
  rows += [[fmt.format(r[key]) for _, key, fmt in _TABLE] for r in results]
  widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE))]
  lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
  for r in results:
    if r["kernel_time_by_op"]:
      lines.append(f"{r['config']} kernel time: " + ", ".join(
          f"{op} {share:.0%}" for op, share in r["kernel_time_by_op"].items()))
  return "\n".join(lines)


def _run_in_own_process(name):
  command = [sys.executable, os.path.abspath(__file__), f"--configs={name}", "--in_process",
             f"--steps={FLAGS.steps}", f"--repeats={FLAGS.repeats}",
             f"--matmul_size={FLAGS.matmul_size}", f"--strategy={FLAGS.strategy}",
             f"--profile={FLAGS.profile}"]
  if FLAGS.profile_dir:
    command.append(f"--profile_dir={FLAGS.profile_dir}")
  command += [f"--gin_bindings={b}" for b in FLAGS.gin_bindings]
  if FLAGS.tpu:
    command.append(f"--tpu={FLAGS.tpu}")
  if FLAGS.num_cpu_devices:
    command.append(f"--num_cpu_devices={FLAGS.num_cpu_devices}")
  out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main(argv):
  del argv
  results = []
  for name in FLAGS.configs:
    result = (benchmark(name, FLAGS.steps, FLAGS.repeats) if FLAGS.in_process
              else _run_in_own_process(name))
    print(json.dumps(result), flush=True)
    results.append(result)
  if not FLAGS.in_process:
    print(_table(results), flush=True)


if __name__ == "__main__":
  app.run(main)
