"""Runs every missing (cell, seed) run of a study, one after another (see runner.py).

  python -m compare_ssgan.studies.run_study --study=gin_configs/studies/NAME.gin \
      [--root=runs/studies] [--only=cell,cell] [--dry_run]

Exits non-zero if any run failed (each failure is reported with its log), a run
directory holds something else, or it was stopped (Ctrl-C, SIGTERM: the run going on is
stopped too, and the same command resumes it). `--dry_run` prints each run's command and
touches nothing.
"""
import shlex
import sys

from absl import app
from absl import flags

from compare_ssgan import run_dir
from compare_ssgan.studies import runner
from compare_ssgan.studies import study_file

flags.DEFINE_string("study", None, "The study file (gin_configs/studies/*.gin).")
flags.DEFINE_string("root", "runs/studies", "Runs go to <root>/<study.name>/<cell>/seed_<s>.")
flags.DEFINE_list("only", None, "Run only these cells.")
flags.DEFINE_bool("dry_run", False, "Print the runs' commands instead of running them.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if not FLAGS.study:  # Not mark_flag_as_required: see compare_ssgan/main.py.
    raise app.UsageError("--study is required (a file under gin_configs/studies/).")
  try:
    study = study_file.load(FLAGS.study)
    specs = runner.run_specs(study, FLAGS.root, FLAGS.only)
    if FLAGS.dry_run:
      for spec in specs:
        print(shlex.join(spec.command))
      return
    runner.refresh_plans(study, runner.run_specs(study, FLAGS.root))  # Every cell's runs.
    failures = runner.run_study(study, specs)
  except (study_file.StudyError, runner.RunDirConflict) as e:
    sys.exit(f"Error: {e}")
  except runner.Stopped as e:
    sys.exit(f"Stopped: {e}")
  if failures:
    sys.exit(f"{len(failures)} of {len(specs)} runs failed: " + "; ".join(
        f"{f.spec.cell.name} seed {f.spec.seed} ({f.reason}, log "
        f"{run_dir.study_log_path(f.spec.model_dir)})" for f in failures))


if __name__ == "__main__":
  app.run(main)
