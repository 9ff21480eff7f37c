"""Runs every missing (cell, seed) run of a study, one after another (see runner.py).

  python -m compare_ssgan.studies.run_study --study=gin_configs/studies/NAME.gin \
      [--root=runs/studies] [--only=cell,cell] [--earlier_report=reports/NAME/report.json]
      [--cells_first] [--dry_run]

Seeds are the outer loop (every cell's seed 0 first); `--cells_first` runs each cell's
seeds before the next cell's. Exits non-zero if any run failed (each failure is reported
with its log), a run directory holds something else, or it was stopped (Ctrl-C, SIGTERM:
the run going on is stopped too, and the same command resumes it). `--dry_run` prints each
run's command and touches nothing. `--earlier_report` skips the runs that an earlier report
stores as complete and that have no run directory here (a study resumed on another
machine: stored_runs.py); write_report takes the same flag to include them.
"""
import os
import shlex
import sys

from absl import app
from absl import flags

from compare_ssgan import run_dir
from compare_ssgan.studies import runner
from compare_ssgan.studies import stored_runs
from compare_ssgan.studies import study_file

flags.DEFINE_string("study", None, "The study file (gin_configs/studies/*.gin).")
flags.DEFINE_string("root", "runs/studies", "Runs go to <root>/<study.name>/<cell>/seed_<s>.")
flags.DEFINE_list("only", None, "Run only these cells.")
flags.DEFINE_bool("cells_first", False, "Run each cell's seeds before the next cell's "
                  "(default: every cell's first seed, then the next seed).")
flags.DEFINE_bool("dry_run", False, "Print the runs' commands instead of running them.")
FLAGS = flags.FLAGS  # And stored_runs.py's --earlier_report.


def _without_stored(study, specs, report):
  """specs but those complete in `report` that have no run directory here."""
  stored = stored_runs.read(report)
  stored_runs.check_same_study(stored, {study.name}, report)
  done = {(run.cell, run.seed) for run in stored if run.complete}
  stored = [spec for spec in specs if (spec.cell.name, spec.seed) in done
            and not os.path.exists(spec.model_dir)]
  if stored:
    print(f"{len(stored)} runs complete in {report}, not run again: " + ", ".join(
        f"{spec.cell.name} seed {spec.seed}" for spec in stored))
  return [spec for spec in specs if spec not in stored]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if not FLAGS.study:  # Not mark_flag_as_required: see compare_ssgan/main.py.
    raise app.UsageError("--study is required (a file under gin_configs/studies/).")
  try:
    study = study_file.load(FLAGS.study)
    specs = runner.run_specs(study, FLAGS.root, FLAGS.only, cells_first=FLAGS.cells_first)
    if FLAGS.earlier_report is not None:  # An empty value is an error, not no flag.
      specs = _without_stored(study, specs, FLAGS.earlier_report)
    if FLAGS.dry_run:
      for spec in specs:
        print(shlex.join(spec.command))
      return
    runner.refresh_plans(study, runner.run_specs(study, FLAGS.root))  # Every cell's runs.
    failures = runner.run_study(study, specs)
  except (study_file.StudyError, runner.RunDirConflict, stored_runs.StoredRunsError) as e:
    sys.exit(f"Error: {e}")
  except runner.Stopped as e:
    sys.exit(f"Stopped: {e}")
  if failures:
    sys.exit(f"{len(failures)} of {len(specs)} runs failed: " + "; ".join(
        f"{f.spec.cell.name} seed {f.spec.seed} ({f.reason}, log "
        f"{run_dir.study_log_path(f.spec.model_dir)})" for f in failures))


if __name__ == "__main__":
  app.run(main)
