"""compare_ssgan's one command line: train, evaluate, export or sample, from gin configs.

  python -m compare_ssgan.main --model_dir=runs/x --gin_config=gin_configs/ssgan_paper/cifar10_ssgan.gin \
      [--gin_bindings='Trainer.training_steps=1000'] [--mode=train_and_eval] [--strategy=tpu]
  TF_CONFIG='{"cluster": {"worker": ["host0:2222", "host1:2222"]}, "task": {"type": "worker", \
      "index": 0}}' python -m compare_ssgan.main --strategy=multi_worker ... (on every worker)
  python -m compare_ssgan.main --model_dir=runs/x --mode=continuous_eval|eval \
      [--checkpoint=runs/x/ckpt-5000 [--rescore]] [--gin_bindings='evaluation.num_samples=10000']
  python -m compare_ssgan.main --model_dir=runs/x --mode=export [--checkpoint=runs/x/ckpt-5000] \
      [--export_dir=DIR (default: runs/x/export/<step>)] [--overwrite]
  python -m compare_ssgan.main --mode=sample --model_dir=runs/x [--checkpoint=...] \
      --num_samples=64 [--sample_seed=0] [--truncation=0.5] --sample_out=samples/
  python -m compare_ssgan.main --mode=sample --export_dir=runs/x/export/1500 \
      --num_samples=10000 --sample_out=fakes.npz

Evaluation, export and sampling from a model_dir parse the run's config.gin first, then
--gin_config/--gin_bindings. Evaluation adds its rows to the run's results file (see run_dir),
once per checkpoint and protocol. --mode=train_and_eval trains, scores every checkpoint of the
run not yet scored, prints the run's report table (FID/KID at the final and best step) and
writes its curves PNG (run_dir.curves_path). --mode=sample draws what the evaluator draws:
seed s gives the evaluator's fakes of seed s (runs.Sampler, latents.seeded_latents), from a
model_dir or from its export; --sample_out is a .npz or a directory for PNGs (export.write_samples).
"""
import dataclasses
import os
import signal
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

from compare_ssgan import export as export_lib
from compare_ssgan import gin_files
from compare_ssgan import run_dir
from compare_ssgan import runs
from compare_ssgan import scratch
from compare_ssgan.evaluation import evaluator
from compare_ssgan.evaluation import job as eval_job
from compare_ssgan.evaluation import run_summary
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib

MODES = ("train", "eval", "continuous_eval", "train_and_eval", "export", "sample")
# 128 + SIGTERM: what Kubernetes and Slurm report for a job that SIGTERM (their preemption
# signal) ended, so their restart and requeue policies read it as "preempted, restart me".
PREEMPTED_EXIT_STATUS = 128 + signal.SIGTERM
INTERRUPTED_EXIT_STATUS = 128 + signal.SIGINT  # Ctrl-C, as shells report it.

flags.DEFINE_string("model_dir", None, "Run directory (local or any tf.io.gfile path).")
flags.DEFINE_multi_string("gin_config", [], "Gin config files, applied in order.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings applied after the files.")
flags.DEFINE_enum("mode", "train", MODES, "What to run.")
flags.DEFINE_enum("strategy", "default", strategy_lib.STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
flags.DEFINE_enum("collective_communication", "auto",
                  list(strategy_lib.COLLECTIVE_COMMUNICATIONS),
                  "--strategy=multi_worker: how workers all-reduce (nccl: GPUs; ring: gRPC; "
                  "auto: TF's choice).")
flags.DEFINE_string("checkpoint", None,
                    "--mode=eval|export|sample: the checkpoint prefix <model_dir>/ckpt-<step> "
                    "to score, export or sample (default: the latest).")
flags.DEFINE_bool("rescore", False,
                  "--mode=eval: score the checkpoint even if it is already scored (or failed "
                  "to restore) with this protocol, replacing its rows.")
flags.DEFINE_string("export_dir", None,
                    "--mode=export: where to write the generator's SavedModel (default: "
                    "<model_dir>/export/<step>); --mode=sample: the export to sample from "
                    "(instead of --model_dir).")
flags.DEFINE_bool("overwrite", False, "--mode=export: replace an existing export_dir.")
flags.DEFINE_integer("num_samples", None, "--mode=sample: how many samples.")
flags.DEFINE_integer("sample_seed", 0, "--mode=sample: the seed of z and labels; seed s gives "
                     "the evaluator's fakes of seed s.")
flags.DEFINE_float("truncation", None, "--mode=sample: draw z truncated to [-t, t] (default: "
                   "the run's evaluation truncation, eval/z.truncation).")
flags.DEFINE_string("sample_out", None,
                    "--mode=sample: a .npz file, or a directory for PNGs.")
flags.DEFINE_float("wait_for_run_secs", 3600.0,
                   "--mode=continuous_eval: how long to wait for the trainer to write "
                   "<model_dir>/config.gin before giving up (inf: forever).")
flags.register_validator("wait_for_run_secs", lambda secs: secs >= 0,  # False for NaN.
                         message="must be >= 0 seconds (inf: wait forever)")
flags.DEFINE_integer("num_cpu_devices", None,
                     "Split the CPU into this many logical devices (for --strategy=mirrored "
                     "on a CPU-only host).")
FLAGS = flags.FLAGS


def _preempt(signum, frame):
  del frame
  # Later SIGTERMs must not interrupt the checkpoint being written.
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  raise trainer_lib.Preempted(f"received signal {signum}")


_FLAG_MODES = {"checkpoint": ("eval", "export", "sample"), "rescore": ("eval",),
               "export_dir": ("export", "sample"), "overwrite": ("export",),
               "num_samples": ("sample",), "sample_seed": ("sample",),
               "truncation": ("sample",), "sample_out": ("sample",)}


def _check_flags():
  """Refuses flag combinations that do not fit the mode, before any work."""
  for name, modes in _FLAG_MODES.items():
    if FLAGS[name].present and FLAGS.mode not in modes:
      raise app.UsageError(f"--{name} is for --mode={'|'.join(modes)}, not "
                           f"--mode={FLAGS.mode}.")
  if FLAGS.mode != "sample":
    # Checked here, not with flags.mark_flag_as_required: absl's registry is global, so a
    # required flag of one command line would be required of every other one imported with it.
    if not FLAGS.model_dir:
      raise app.UsageError("--model_dir is required (the run directory).")
    return
  if bool(FLAGS.model_dir) == bool(FLAGS.export_dir):
    raise app.UsageError("--mode=sample takes one source: --model_dir (a run) or "
                         "--export_dir (an export).")
  if FLAGS.checkpoint and not FLAGS.model_dir:
    raise app.UsageError("--checkpoint is for sampling a --model_dir, not an export.")
  if FLAGS.num_samples is None or FLAGS.num_samples < 1:
    raise app.UsageError(f"--mode=sample needs --num_samples >= 1; got {FLAGS.num_samples}.")
  if FLAGS.sample_seed < 0:
    raise app.UsageError(f"--sample_seed must be >= 0; got {FLAGS.sample_seed}.")
  if FLAGS.truncation is not None and not FLAGS.truncation > 0:
    raise app.UsageError(f"--truncation must be > 0; got {FLAGS.truncation}.")
  if not FLAGS.sample_out:
    raise app.UsageError("--mode=sample needs --sample_out (a .npz file or a directory for "
                         "PNGs).")
  suffix = os.path.splitext(FLAGS.sample_out.rstrip("/"))[1]
  if suffix and suffix != ".npz":
    raise app.UsageError(f"--sample_out={FLAGS.sample_out}: expected a .npz file or a "
                         "directory for PNGs.")


def _sample():
  """--mode=sample: the evaluator's draws of a run's checkpoint or of an export."""
  if FLAGS.export_dir:
    images, labels = export_lib.sample(FLAGS.export_dir, FLAGS.num_samples,
                                       FLAGS.sample_seed, FLAGS.truncation)
  else:
    options = evaluator.EvalOptions()
    batch_size = options.sample_batch_size
    sampler = runs.TrainedRun(FLAGS.model_dir).load_sampler(
        FLAGS.checkpoint, standing_statistics_batches=options.standing_statistics_batches,
        batch_size=batch_size, seed=options.seed)
    if FLAGS.truncation is not None:
      sampler.prior = dataclasses.replace(sampler.prior, truncation=FLAGS.truncation)
    images, labels = zip(*sampler.sample_with_labels(FLAGS.num_samples, FLAGS.sample_seed,
                                                     batch_size))
    images = np.concatenate(images)
    labels = None if labels[0] is None else np.concatenate(labels)
  export_lib.write_samples(FLAGS.sample_out, images, labels)
  print(f"Wrote {len(images)} samples to {FLAGS.sample_out}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  _check_flags()
  scratch.remove_stale()
  signal.signal(signal.SIGTERM, _preempt)
  if FLAGS.mode in ("eval", "continuous_eval", "export") or (
      FLAGS.mode == "sample" and FLAGS.model_dir):
    # The run's own config first; --gin_config/--gin_bindings (e.g. evaluation.*) override.
    # Its timeout is a flag, not a gin knob: the wait comes before any gin is parsed.
    runs.parse_run_config(FLAGS.model_dir, wait_secs=FLAGS.wait_for_run_secs
                          if FLAGS.mode == "continuous_eval" else 0)
  gin_files.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
  run = runs.TrainedRun(FLAGS.model_dir)
  if FLAGS.mode in ("train", "train_and_eval"):
    try:
      strategy = strategy_lib.make_strategy(FLAGS.strategy, FLAGS.tpu,
                                            FLAGS.num_cpu_devices,
                                            FLAGS.collective_communication)
    except ValueError as e:  # A bad TF_CONFIG or flag combination: said in one line.
      raise app.UsageError(str(e)) from e
    trainer_lib.Trainer(FLAGS.model_dir, strategy).train()
  if FLAGS.mode == "eval":
    eval_job.run_eval(run, FLAGS.checkpoint, rescore=FLAGS.rescore)
  if FLAGS.mode in ("continuous_eval", "train_and_eval"):
    # After training this scores every checkpoint not yet scored, then returns.
    eval_job.run_continuous_eval(run)
  if FLAGS.mode == "train_and_eval":
    print(run_summary.summarize(FLAGS.model_dir))
    print(f"Curves: {run_dir.curves_path(FLAGS.model_dir)}")
  if FLAGS.mode == "export":
    export_dir = export_lib.export(FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint,
                                   overwrite=FLAGS.overwrite)
    print(f"Exported the generator to {export_dir}")
  if FLAGS.mode == "sample":
    _sample()
  logging.info("Done: %s", FLAGS.mode)


def run():
  """Runs main; a preemption, a Ctrl-C or an incomplete evaluation exits with one line and
  its status, no traceback."""
  try:
    app.run(main)
  except eval_job.EvaluationIncomplete as incomplete:
    logging.error("%s", incomplete)
    sys.exit(1)
  except KeyboardInterrupt as stop:
    preempted = isinstance(stop, trainer_lib.Preempted)
    status = PREEMPTED_EXIT_STATUS if preempted else INTERRUPTED_EXIT_STATUS
    # The trainer notes the step and checkpoint it resumes from; elsewhere there is none.
    where = "".join(f" {note}" for note in getattr(stop, "__notes__", ()))
    logging.warning("%s%s; exiting with status %d (restart to resume).",
                    "Preempted" if preempted else "Interrupted", where, status)
    sys.exit(status)


if __name__ == "__main__":
  run()
