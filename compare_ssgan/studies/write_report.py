"""Turns a study's runs (or any run directories) into the papers' tables and figures.

  python -m compare_ssgan.studies.write_report --study_dir=runs/studies/NAME --out=reports/NAME
  python -m compare_ssgan.studies.write_report --run_dirs=runs/a,runs/b --out=reports/ab

--out gets report.md (tables and figures), report.csv / report.json (the same numbers),
tables.tex (booktabs), curves.png (FID/KID over training), probe_curves.png and
probe_vs_fid.png (when runs have the probe metric), montage.png (final samples) and
hparams/ (TensorBoard HParams: `tensorboard --logdir OUT/hparams`) and samples/ (the grids
the montage shows). Every cell is compared with --baseline's; `--pairs=bcr:cr,zcr:cr` adds
the comparisons of those pairs. With --study_dir the planned seeds and cells come from the runs'
study.json; with --run_dirs, from the runs given. `--earlier_report=reports/NAME/report.json`
adds the runs stored in an earlier report whose run directories are not here (a study
resumed on another machine; see stored_runs.py).
"""
from absl import app
from absl import flags

from compare_ssgan.studies import collect
from compare_ssgan.studies import report_files
from compare_ssgan.studies import runner
from compare_ssgan.studies import stored_runs
from compare_ssgan.studies import tables

flags.DEFINE_string("study_dir", None, "<root>/<study name>: every run directory under it.")
flags.DEFINE_list("run_dirs", None, "Run directories (instead of --study_dir).")
flags.DEFINE_string("out", None, "Where the report files go.")
flags.DEFINE_string("baseline", None, "The cell the others are compared with (default: the "
                    "first cell).")
flags.DEFINE_list("pairs", [], "Further comparisons, CELL:REFERENCE each (e.g. bcr:cr), "
                  "Holm-corrected over these pairs.")
FLAGS = flags.FLAGS  # And stored_runs.py's --earlier_report.


def _parse_pairs(entries):
  """[(cell, reference)] from --pairs' CELL:REFERENCE entries."""
  pairs = []
  for entry in entries:
    parts = entry.split(":")
    if len(parts) != 2 or not all(parts):
      raise app.UsageError(f"--pairs entry {entry!r}: expected CELL:REFERENCE, e.g. bcr:cr.")
    pairs.append(tuple(parts))
  return pairs


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Checked here, not by absl's validators: those are global, and the study commands share
  # one flag registry (in tests, too).
  if not FLAGS.out:
    raise app.UsageError("--out is required (the report's directory).")
  if (FLAGS.study_dir is None) == (FLAGS.run_dirs is None):
    raise app.UsageError("Give exactly one of --study_dir and --run_dirs.")
  pairs = _parse_pairs(FLAGS.pairs)
  run_dirs = (collect.find_run_dirs(FLAGS.study_dir) if FLAGS.study_dir
              else FLAGS.run_dirs)
  if not run_dirs and FLAGS.earlier_report is None:
    raise app.UsageError(f"No run directories (with study.json or config.gin) in "
                         f"{FLAGS.study_dir or FLAGS.run_dirs}.")
  try:
    runs = [collect.read_run(d) for d in run_dirs or ()]
    if FLAGS.earlier_report is not None:  # An empty value is an error, not no flag.
      stored = stored_runs.read(FLAGS.earlier_report)
      stored_runs.check_same_study(stored, stored_runs.study_names(runs),
                                   FLAGS.earlier_report)
      runs = stored_runs.merge(runs, stored)
      print(f"{sum(r.stored_in is not None for r in runs)} of {len(stored)} runs of "
            f"{FLAGS.earlier_report} used (the others have run directories here).")
  except (runner.RunDirConflict, stored_runs.StoredRunsError) as e:  # Named.
    raise app.UsageError(str(e)) from e
  cells = collect.group_cells(runs, use_study_plan=bool(FLAGS.study_dir))
  for grid in tables.grids(cells):
    print(tables.plain_text(grid) + "\n")
  try:
    paths = report_files.write_report(cells, FLAGS.out, FLAGS.baseline, pairs)
  except ValueError as e:  # A --baseline or --pairs naming no cell; a damaged sample grid.
    raise app.UsageError(str(e)) from e
  print("Wrote " + ", ".join(sorted(paths.values())))


if __name__ == "__main__":
  app.run(main)
