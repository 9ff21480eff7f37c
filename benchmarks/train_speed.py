"""Training throughput (G steps/s and images/s) of a gin config, after a warm-up loop.

  python benchmarks/train_speed.py --gin_config=gin_configs/demo/ssgan.gin \
      [--gin_bindings=Trainer.jit_compile=True] [--steps=100]

Prints one JSON line. Run it on an otherwise idle machine: the numbers are wall-clock.
"""
import json
import tempfile
import time

from absl import app
from absl import flags
import gin
import tensorflow as tf

from compare_ssgan import gin_files
from compare_ssgan import main as main_lib  # pylint: disable=unused-import  (its flags)
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib

flags.DEFINE_integer("steps", 100, "Timed G steps (after one warm-up loop).")
FLAGS = flags.FLAGS


def benchmark(steps):
  with tempfile.TemporaryDirectory() as model_dir:
    trainer = trainer_lib.Trainer(model_dir, strategy_lib.make_strategy(
        FLAGS.strategy, FLAGS.tpu, FLAGS.num_cpu_devices))
    iterator = iter(trainer.train_dataset())
    warmup_start = time.time()
    trainer.run_loop(iterator, trainer.steps_per_loop)
    warmup = time.time() - warmup_start
    start = time.time()
    done = 0
    while done < steps:
      n = min(trainer.steps_per_loop, steps - done)
      trainer.run_loop(iterator, n)
      done += n
    elapsed = time.time() - start
  images = trainer.batch_size * (trainer.gan.disc_iters + 1)
  return {"config": FLAGS.gin_config, "bindings": FLAGS.gin_bindings,
          "replicas": trainer.strategy.num_replicas_in_sync,
          "batch_size": trainer.batch_size, "disc_iters": trainer.gan.disc_iters,
          "first_loop_seconds": round(warmup, 2), "steps": steps,
          "steps_per_sec": round(steps / elapsed, 3),
          "real_images_per_sec": round(steps * images / elapsed, 1),
          "tf": tf.__version__}


def main(argv):
  del argv
  gin_files.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
  print(json.dumps(benchmark(FLAGS.steps)), flush=True)
  gin.clear_config()


if __name__ == "__main__":
  flags.FLAGS.set_default("model_dir", "unused")
  app.run(main)
