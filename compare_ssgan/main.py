"""compare_ssgan's one command line: train, evaluate, or both, from gin configs.

  python -m compare_ssgan.main --model_dir=runs/x --gin_config=gin_configs/cifar10/ssgan.gin \
      [--gin_bindings='Trainer.training_steps=1000'] [--mode=train_and_eval] [--strategy=tpu]
  TF_CONFIG='{"cluster": {"worker": ["host0:2222", "host1:2222"]}, "task": {"type": "worker", \
      "index": 0}}' python -m compare_ssgan.main --strategy=multi_worker ... (on every worker)
  python -m compare_ssgan.main --model_dir=runs/x --mode=continuous_eval|eval \
      [--checkpoint=runs/x/ckpt-5000 [--rescore]] [--gin_bindings='evaluation.num_samples=10000']
  python -m compare_ssgan.main --model_dir=runs/x --mode=export [--checkpoint=runs/x/ckpt-5000] \
      [--export_dir=DIR (default: runs/x/export/<step>)] [--overwrite]

Evaluation and export parse the run's config.gin first, then --gin_config/--gin_bindings, and
adds its rows to the run's results file (see run_dir), once per checkpoint and protocol.
--mode=train_and_eval trains, scores every checkpoint of the run not yet scored, prints the
run's report table (FID/KID at the final and best step) and writes its curves PNG
(run_dir.curves_path).
"""
import signal
import sys

from absl import app
from absl import flags
from absl import logging

from compare_ssgan import configurables  # pylint: disable=unused-import
from compare_ssgan import export as export_lib
from compare_ssgan import gin_files
from compare_ssgan import run_dir
from compare_ssgan.evaluation import job as eval_job
from compare_ssgan.studies import reports
from compare_ssgan.training import restore
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import trainer as trainer_lib

MODES = ("train", "eval", "continuous_eval", "train_and_eval", "export")
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
                    "--mode=eval|export: the checkpoint prefix <model_dir>/ckpt-<step> to "
                    "score or export (default: the latest).")
flags.DEFINE_bool("rescore", False,
                  "--mode=eval: score the checkpoint even if it is already scored (or failed "
                  "to restore) with this protocol, replacing its rows.")
flags.DEFINE_string("export_dir", None,
                    "--mode=export: where to write the generator's SavedModel (default: "
                    "<model_dir>/export/<step>).")
flags.DEFINE_bool("overwrite", False, "--mode=export: replace an existing export_dir.")
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Checked here, not with flags.mark_flag_as_required: absl's registry is global, so a
  # required flag of one command line would be required of every other one imported with it.
  if not FLAGS.model_dir:
    raise app.UsageError("--model_dir is required (the run directory).")
  if FLAGS.checkpoint and FLAGS.mode not in ("eval", "export"):
    raise app.UsageError(f"--checkpoint is for --mode=eval|export, not --mode={FLAGS.mode}.")
  for name in ("export_dir", "overwrite"):
    if FLAGS[name].present and FLAGS.mode != "export":
      raise app.UsageError(f"--{name} is for --mode=export, not --mode={FLAGS.mode}.")
  if FLAGS.rescore and FLAGS.mode != "eval":
    raise app.UsageError(f"--rescore is for --mode=eval, not --mode={FLAGS.mode}.")
  signal.signal(signal.SIGTERM, _preempt)
  if FLAGS.mode in ("eval", "continuous_eval", "export"):
    # The run's own config first; --gin_config/--gin_bindings (e.g. evaluation.*) override.
    # Its timeout is a flag, not a gin knob: the wait comes before any gin is parsed.
    restore.parse_run_config(FLAGS.model_dir, wait_secs=FLAGS.wait_for_run_secs
                             if FLAGS.mode == "continuous_eval" else 0)
  gin_files.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
  if FLAGS.mode in ("train", "train_and_eval"):
    strategy = strategy_lib.make_strategy(FLAGS.strategy, FLAGS.tpu, FLAGS.num_cpu_devices,
                                          FLAGS.collective_communication)
    trainer_lib.Trainer(FLAGS.model_dir, strategy).train()
  if FLAGS.mode == "eval":
    eval_job.run_eval(FLAGS.model_dir, FLAGS.checkpoint, rescore=FLAGS.rescore)
  if FLAGS.mode in ("continuous_eval", "train_and_eval"):
    # After training this scores every checkpoint not yet scored, then returns.
    eval_job.run_continuous_eval(FLAGS.model_dir)
  if FLAGS.mode == "train_and_eval":
    print(reports.run_summary(FLAGS.model_dir))
    print(f"Curves: {run_dir.curves_path(FLAGS.model_dir)}")
  if FLAGS.mode == "export":
    export_dir = export_lib.export(FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint,
                                   overwrite=FLAGS.overwrite)
    print(f"Exported the generator to {export_dir}")
  logging.info("Done: %s", FLAGS.mode)


def run():
  """Runs main; a preemption or Ctrl-C exits with one line and its status, no traceback."""
  try:
    app.run(main)
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
