r"""Inception feature-extraction throughput (images/s), preprocessing included.

  python benchmarks/inception_throughput.py --batch_sizes 50 --repeats 3 \
      [--jit_compile] [--input_size 32]

Feeds random float images of `input_size` (resized to 299 inside, as in an
evaluation) through `InceptionExtractor`. The first call (trace / XLA
compile) is timed separately; the steady rate is the best of `repeats` timed
runs of `batches` batches each (best-of, because on a shared machine other
jobs slow some runs down). Prints one JSON line per batch size.
"""

import argparse
import json
import os
import time

import numpy as np
import tensorflow as tf

from compare_ssgan.metrics import extractor as extractor_lib


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch_sizes", type=int, nargs="+", default=[50])
  parser.add_argument("--batches", type=int, default=2)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--input_size", type=int, default=32)
  parser.add_argument("--jit_compile", action="store_true")
  args = parser.parse_args()
  device = tf.config.list_physical_devices("GPU") and "gpu" or "cpu"
  for batch_size in args.batch_sizes:
    extractor = extractor_lib.InceptionExtractor(
        batch_size=batch_size, jit_compile=args.jit_compile)
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
    print(json.dumps({
        "device": device, "cpus": os.cpu_count(), "batch_size": batch_size,
        "jit_compile": args.jit_compile, "input_size": args.input_size,
        "first_call_s": round(first_call, 2),
        "images_per_s_best": round(max(rates), 2),
        "images_per_s_median": round(float(np.median(rates)), 2)}))


if __name__ == "__main__":
  main()
