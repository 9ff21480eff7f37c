r"""Evaluator time and memory against the number of samples N.

  python benchmarks/speed/evaluator_scaling.py --model_dir=runs/demo_ssgan \
      [--num_samples=1000,2500,10000] [--dataset=fashion_mnist_local]

One checkpoint (default: the run's latest) is scored at each N in its own process (so the
peak memory is that N's), the way the evaluator scores it: first the real statistics of N
reals of --dataset (computed into a fresh cache, KID's features on disk), then one fake set
of N samples (generation overlapping extraction) with the run's metric tasks that score
fakes (`evaluation.metrics`; a task that needs D, the probe, is not timed here). The
real phase is what a run's first evaluated checkpoint pays; every later checkpoint pays
the fake phase only. Prints one JSON line per N (seconds and images/s of each phase, the
process's peak resident memory after each, the metric values), then a table. The demo's
reals (fashion_mnist_embedded) hold 2000 eval images, hence Debian's full Fashion-MNIST
test split (10,000) by default. Run it on an otherwise idle machine.
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

flags.DEFINE_string("model_dir", None, "A trained run (e.g. the main job's runs/demo_ssgan).")
flags.DEFINE_string("checkpoint", None, "<model_dir>/ckpt-<step>; default: the latest.")
flags.DEFINE_list("num_samples", ["1000", "2500", "10000"], "Values of N.")
flags.register_validator(
    "num_samples", lambda values: bool(values) and all(v.isdigit() and int(v) >= 2
                                                        for v in values),
    message="must be one or more comma-separated integers >= 2")
flags.DEFINE_string("dataset", "fashion_mnist_local", "dataset.name of the reals.")
flags.DEFINE_bool("in_process", False, "Measure the single N in this process (each N's "
                  "own process passes it).")
FLAGS = flags.FLAGS


def _peak_rss_mib():
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(model_dir, checkpoint, num_samples, dataset_name):
  """One N, in this process: {phase timings, peak memory, metric values}."""
  # pylint: disable=g-import-not-at-top  (TF only in the measuring process)
  from compare_ssgan import gin_files
  from compare_ssgan import runs
  from compare_ssgan.data import datasets
  from compare_ssgan.evaluation import evaluator
  from compare_ssgan.metrics import extractor as extractor_lib
  from compare_ssgan.metrics import real_stats
  from compare_ssgan.metrics import tasks as tasks_lib
  runs.parse_run_config(model_dir)
  gin_files.parse_gin([], [f"dataset.name = '{dataset_name}'",
                           f"evaluation.num_samples = {num_samples}"])
  options = evaluator.EvalOptions()
  extractor = extractor_lib.InceptionExtractor()
  tasks, _ = evaluator.metric_tasks(options, getattr(extractor, "has_logits", False))
  sampler = runs.TrainedRun(model_dir).load_sampler(checkpoint, use_ema=options.use_ema)
  extractor(next(sampler.sample(8, 0, 8)))  # Builds Inception (and G): in neither phase.
  result = {"num_samples": num_samples, "dataset": dataset_name,
            "metrics": [t.name for t in tasks], "startup_peak_rss_mib": _peak_rss_mib()}
  with tempfile.TemporaryDirectory() as stats_dir:
    start = time.perf_counter()
    real = real_stats.real_statistics(
        datasets.get_dataset(), extractor, num_samples,
        batch_size=options.sample_batch_size, stats_dir=stats_dir,
        keep_features=tasks_lib.INCEPTION_FEATURES in tasks_lib.needs(tasks))
    result["real_seconds"] = round(time.perf_counter() - start, 1)
    result["real_peak_rss_mib"] = _peak_rss_mib()
    start = time.perf_counter()
    values = evaluator.score_fakes(sampler, extractor, real, tasks, options, options.seed)
    result["fake_seconds"] = round(time.perf_counter() - start, 1)
    result["fake_peak_rss_mib"] = _peak_rss_mib()
  result["fake_images_per_sec"] = round(num_samples / result["fake_seconds"], 2)
  result["values"] = {name: float(v) for name, v in values.items()}
  return result


def main(argv):
  del argv
  counts = [int(v) for v in FLAGS.num_samples]
  if FLAGS.in_process:
    (n,) = counts
    print(json.dumps(measure(FLAGS.model_dir, FLAGS.checkpoint, n, FLAGS.dataset)))
    return
  results = []
  for n in counts:
    command = [sys.executable, os.path.abspath(__file__), "--in_process",
               f"--model_dir={FLAGS.model_dir}", f"--num_samples={n}",
               f"--dataset={FLAGS.dataset}"]
    if FLAGS.checkpoint:
      command.append(f"--checkpoint={FLAGS.checkpoint}")
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    results.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(results[-1]), flush=True)
  print(f"{'N':>6} {'reals s':>8} {'fakes s':>8} {'fakes img/s':>11} {'RSS MiB start':>13} "
        f"{'after reals':>11} {'after fakes':>11}  values")
  for r in results:
    values = ", ".join(f"{k} {v:.4g}" for k, v in r["values"].items())
    print(f"{r['num_samples']:6d} {r['real_seconds']:8.1f} {r['fake_seconds']:8.1f} "
          f"{r['fake_images_per_sec']:11.2f} {r['startup_peak_rss_mib']:13.0f} "
          f"{r['real_peak_rss_mib']:11.0f} {r['fake_peak_rss_mib']:11.0f}  {values}")


if __name__ == "__main__":
  flags.mark_flag_as_required("model_dir")
  app.run(main)
