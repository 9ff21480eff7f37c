r"""Precision / recall / density / coverage: time and peak memory against N.

  python benchmarks/speed/prdc_scaling.py [--num_samples=10000,50000] [--dim=2048] \
      [--block_size=2048]

For each N, in its own process (so the peak memory is that N's): N real and N fake synthetic
features (float32, --dim wide, two shifted Gaussians) are written to .npy feature files, as
the evaluator keeps them, and `manifold.precision_recall_density_coverage` scores them at
k = 3 / 5 reading a block at a time. Prints one JSON line per N (seconds, the process's peak
resident memory before and after scoring, the scores), then a table. Memory should stay flat
in N; time grows as N^2. Run it on an otherwise idle machine.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

from compare_ssgan.metrics import feature_file
from compare_ssgan.metrics import manifold

flags.DEFINE_list("num_samples", ["10000", "50000"], "Values of N (reals and fakes each).")
flags.register_validator(
    "num_samples", lambda values: bool(values) and all(v.isdigit() and int(v) >= 6
                                                        for v in values),
    message="must be one or more comma-separated integers >= 6")
flags.DEFINE_integer("dim", 2048, "Feature width (Inception pool_3: 2048).", lower_bound=1)
flags.DEFINE_integer("block_size", 2048, "manifold's block size.", lower_bound=1)
flags.DEFINE_bool("in_process", False, "Measure the single N in this process (each N's "
                  "own process passes it).")
FLAGS = flags.FLAGS


def _peak_rss_mib():
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _write_features(path, num, dim, shift, seed):
  """Synthetic features written a chunk at a time (never all of them in memory)."""
  rng = np.random.default_rng(seed)
  writer = feature_file.Writer(path, num)
  for start in range(0, num, 4096):
    writer.append(rng.normal(shift, 1.0, (min(4096, num - start), dim)).astype(np.float32))
  writer.close()
  return feature_file.FeatureFile(path)


def measure(num, dim, block_size):
  with tempfile.TemporaryDirectory() as directory:
    real = _write_features(os.path.join(directory, "real.npy"), num, dim, 0.0, 0)
    fake = _write_features(os.path.join(directory, "fake.npy"), num, dim, 0.05, 1)
    before = _peak_rss_mib()
    start = time.perf_counter()
    result = manifold.precision_recall_density_coverage(real, fake, 3, 5, block_size)
    seconds = time.perf_counter() - start
  return {"num_samples": num, "dim": dim, "block_size": block_size,
          "seconds": round(seconds, 1), "peak_rss_mib_before": before,
          "peak_rss_mib": _peak_rss_mib(), **result.__dict__}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if FLAGS.in_process:
    print(json.dumps(measure(int(FLAGS.num_samples[0]), FLAGS.dim, FLAGS.block_size)))
    return
  records = []
  for num in FLAGS.num_samples:
    output = subprocess.run(
        [sys.executable, __file__, "--in_process", f"--num_samples={num}",
         f"--dim={FLAGS.dim}", f"--block_size={FLAGS.block_size}"],
        check=True, capture_output=True, text=True).stdout
    records.append(json.loads(output.strip().splitlines()[-1]))
    print(json.dumps(records[-1]), flush=True)
  print(f"{'N':>7} {'seconds':>9} {'peak MiB':>9}")
  for r in records:
    print(f"{r['num_samples']:>7} {r['seconds']:>9} {r['peak_rss_mib']:>9}")


if __name__ == "__main__":
  app.run(main)
