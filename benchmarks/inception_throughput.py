r"""Inception feature-extraction throughput (images/s, GFLOP/s), preprocessing included.

  python benchmarks/inception_throughput.py --batch_sizes 64 --repeats 3 \
      [--jit_compile] [--input_size 32] [--profile]

Feeds random float images of `input_size` (resized to 299 inside, as in an
evaluation) through `InceptionExtractor`. The first call (trace / XLA
compile) is timed separately; the steady rate is the median (and best) of
`repeats` timed runs of `batches` batches each. GFLOP/s counts the convolutions
and matmuls the network executes (compare_ssgan/training/flops.py), next to an
fp32 matmul's GFLOP/s timed in the same process. --profile adds the share of
kernel time by op type (TensorBoard's profiler, compare_ssgan/profiling.py) of one
more run. Prints one JSON line per batch size. Run it on an idle machine.
"""

import argparse
import json
import os
import time

import numpy as np
import tensorflow as tf

from compare_ssgan import profiling
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import preprocess
from compare_ssgan.training import flops


def _gflop_per_image(extractor):
  size = preprocess.INCEPTION_SIZE
  network = tf.function(extractor.model).get_concrete_function(
      tf.TensorSpec([1, size, size, 3], tf.float32))
  return sum(flops.function_flops(network).values()) / 1e9


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch_sizes", type=int, nargs="+", default=[64])
  parser.add_argument("--batches", type=int, default=2)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--input_size", type=int, default=32)
  parser.add_argument("--matmul_size", type=int, default=2048)
  parser.add_argument("--jit_compile", action="store_true")
  parser.add_argument("--profile", action="store_true")
  args = parser.parse_args()
  for name in ("batches", "repeats", "input_size", "matmul_size"):
    if getattr(args, name) < 1:
      parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}.")
  if min(args.batch_sizes) < 1:
    parser.error(f"--batch_sizes must be positive integers, got {args.batch_sizes}.")
  device = tf.config.list_physical_devices("GPU") and "gpu" or "cpu"
  matmul = flops.matmul_gflops(args.matmul_size, max(args.repeats, 3))
  for batch_size in args.batch_sizes:
    extractor = extractor_lib.InceptionExtractor(
        batch_size=batch_size, jit_compile=args.jit_compile)
    gflop_per_image = _gflop_per_image(extractor)
    images = np.random.RandomState(0).rand(
        batch_size * args.batches, args.input_size, args.input_size,
        3).astype(np.float32)
    start = time.time()
    extractor(images[:batch_size])
    first_call = time.time() - start
    rates = []
    for _ in range(args.repeats):
      start = time.time()
      extractor(images)
      rates.append(len(images) / (time.time() - start))
    median = float(np.median(rates))
    result = {
        "device": device, "cpus": os.cpu_count(), "batch_size": batch_size,
        "jit_compile": args.jit_compile, "input_size": args.input_size,
        "first_call_s": round(first_call, 2),
        "images_per_s_best": round(max(rates), 2),
        "images_per_s_median": round(median, 2),
        "gflop_per_image": round(gflop_per_image, 3),
        "achieved_gflops": round(median * gflop_per_image, 1),
        "matmul_gflops": round(matmul, 1),
        "achieved_fraction_of_matmul": round(median * gflop_per_image / matmul, 3)}
    if args.profile:
      seconds = profiling.profile_op_types(lambda: extractor(images))
      result["kernel_time_by_op"] = {
          op: round(share, 4) for op, _, share in profiling.shares(seconds, top=10)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
  main()
