r"""Inception feature-extraction throughput (images/s, GFLOP/s), preprocessing included.

  python benchmarks/speed/inception_throughput.py --batch_sizes=64 --repeats=3 \
      [--jit_compile] [--input_size=32] [--profile]

Feeds random float images of `input_size` (resized to 299 inside, as in an
evaluation) through `InceptionExtractor`. The first call (trace / XLA
compile) is timed separately; the steady rate is the median (and best) of
`repeats` timed runs of `batches` batches each. GFLOP/s counts the convolutions
and matmuls the network executes (compare_ssgan/profiling/flops.py), next to an
fp32 matmul's GFLOP/s timed in the same process. --profile adds the share of
kernel time by op type (TensorBoard's profiler, compare_ssgan/profiling/kernel_time.py)
of one more run. --batch_sizes takes several sizes, comma-separated. Prints one JSON
line per batch size. Run it on an idle machine.
"""

import json
import os
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import preprocess
from compare_ssgan.profiling import flops
from compare_ssgan.profiling import kernel_time

flags.DEFINE_list("batch_sizes", ["64"], "Extractor batch sizes, one result each.")
flags.register_validator(
    "batch_sizes", lambda sizes: bool(sizes) and all(v.isdigit() and int(v) >= 1 for v in sizes),
    message="must be one or more comma-separated positive integers")
flags.DEFINE_integer("batches", 2, "Batches per timed run.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Timed runs; the steady rate is their median.",
                     lower_bound=1)
flags.DEFINE_integer("input_size", 32, "Side of the random input images (resized to 299).",
                     lower_bound=1)
flags.DEFINE_integer("matmul_size", 2048, "Side of the fp32 reference matmul.", lower_bound=1)
flags.DEFINE_bool("jit_compile", False, "XLA-compile the extractor.")
flags.DEFINE_bool("profile", False, "Also profile one run: kernel time by op type.")
FLAGS = flags.FLAGS


def _gflop_per_image(extractor):
  size = preprocess.INCEPTION_SIZE
  network = tf.function(extractor.model).get_concrete_function(
      tf.TensorSpec([1, size, size, 3], tf.float32))
  return sum(flops.function_flops(network).values()) / 1e9


def main(argv):
  del argv
  device = tf.config.list_physical_devices("GPU") and "gpu" or "cpu"
  matmul = flops.matmul_gflops(FLAGS.matmul_size, max(FLAGS.repeats, 3))
  for batch_size in [int(v) for v in FLAGS.batch_sizes]:
    extractor = extractor_lib.InceptionExtractor(
        batch_size=batch_size, jit_compile=FLAGS.jit_compile)
    gflop_per_image = _gflop_per_image(extractor)
    images = np.random.RandomState(0).rand(
        batch_size * FLAGS.batches, FLAGS.input_size, FLAGS.input_size,
        3).astype(np.float32)
    start = time.time()
    extractor(images[:batch_size])
    first_call = time.time() - start
    rates = []
    for _ in range(FLAGS.repeats):
      start = time.time()
      extractor(images)
      rates.append(len(images) / (time.time() - start))
    median = float(np.median(rates))
    result = {
        "device": device, "cpus": os.cpu_count(), "batch_size": batch_size,
        "jit_compile": FLAGS.jit_compile, "input_size": FLAGS.input_size,
        "first_call_s": round(first_call, 2),
        "images_per_s_best": round(max(rates), 2),
        "images_per_s_median": round(median, 2),
        "gflop_per_image": round(gflop_per_image, 3),
        "achieved_gflops": round(median * gflop_per_image, 1),
        "matmul_gflops": round(matmul, 1),
        "achieved_fraction_of_matmul": round(median * gflop_per_image / matmul, 3)}
    if FLAGS.profile:
      seconds = kernel_time.profile_op_types(lambda: extractor(images))
      result["kernel_time_by_op"] = {
          op: round(share, 4) for op, _, share in kernel_time.shares(seconds, top=10)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
