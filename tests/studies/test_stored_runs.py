"""A report written again from its own report.json and samples/, without the run
directories (a study resumed on another machine), and the runs it stores counted as done."""
import json
import os
import shlex
import shutil
import sys

from absl import app
import numpy as np
from PIL import Image
import pytest

# main's flags share absl's registry with the study commands'.
from compare_ssgan import main  # pylint: disable=unused-import
from compare_ssgan import run_dir
from compare_ssgan.studies import collect
from compare_ssgan.studies import figures
from compare_ssgan.studies import report_files
from compare_ssgan.studies import run_log
from compare_ssgan.studies import run_study as run_cli
from compare_ssgan.studies import stored_runs
from compare_ssgan.studies import write_report as report_cli
from tests.studies import synthetic

_SAME_FILES = (report_files.MARKDOWN, report_files.CSV, report_files.SERIES_CSV,
               report_files.LATEX, report_files.JSON)


def _cells(root):
  return collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                             use_study_plan=True)


def _write_report_cli(*args):
  report_cli.FLAGS(["write_report", *args])
  try:
    report_cli.main(["write_report"])
  finally:
    report_cli.FLAGS.unparse_flags()


def _with_stored(root, report, out):
  runs = stored_runs.merge([collect.read_run(d) for d in collect.find_run_dirs(root)],
                           stored_runs.read(str(report / report_files.JSON)))
  report_files.write_report(collect.group_cells(runs, use_study_plan=True), str(out))


def _with_wall_times(root):
  """Each run's study_run.log: two attempts of known length (for the wall-time table)."""
  for model_dir in collect.find_run_dirs(root):
    with open(run_dir.study_log_path(model_dir), "w") as f:
      f.write(run_log.start_line("main") + run_log.end_line(1, 60.0) +
              run_log.start_line("main") + run_log.end_line(0, 30.0 + len(model_dir)))
  return root


def test_a_report_written_again_from_its_stored_runs_alone_is_the_same(tmp_path):
  root = _with_wall_times(synthetic.write_tree(str(tmp_path / "study")))
  first = tmp_path / "first"
  report_files.write_report(_cells(root), str(first))
  assert sorted(os.listdir(first / stored_runs.SAMPLES_DIR)) == [
      "ssgan_seed_0.png", "uncond_seed_1.png"]  # The grids the montage shows.
  shutil.rmtree(root)  # The run directories are gone; the committed report is left.
  again = tmp_path / "again"
  _write_report_cli(f"--study_dir={root}", f"--earlier_report={first / report_files.JSON}",
                    f"--out={again}")
  assert "| ssgan | 2 | no (so far) | 2 |" in (first / report_files.MARKDOWN).read_text()
  for name in _SAME_FILES:
    assert (again / name).read_text() == (first / name).read_text(), name
  assert (again / report_files.MONTAGE).stat().st_size > 0
  # Written again over itself: the same, its sample grids kept.
  _write_report_cli(f"--study_dir={root}", f"--earlier_report={again / report_files.JSON}",
                    f"--out={again}")
  for name in _SAME_FILES:
    assert (again / name).read_text() == (first / name).read_text(), name
  assert sorted(os.listdir(again / stored_runs.SAMPLES_DIR)) == [
      "ssgan_seed_0.png", "uncond_seed_1.png"]


def test_a_run_directory_takes_precedence_over_the_stored_run_of_its_cell_and_seed(
    tmp_path):
  root = str(tmp_path / "study")
  synthetic.write_tree(root)
  first = tmp_path / "first"
  report_files.write_report(_cells(root), str(first))
  shutil.rmtree(os.path.join(root, "uncond"))
  # Re-run here with other numbers: these count, uncond's stored runs fill in the rest.
  changed = {("ssgan", 0): (True, {"fid": {0: 90.0, 20: 60.0}, "kid": {0: 0.3, 20: 0.05}})}
  shutil.rmtree(os.path.join(root, "ssgan", "seed_0"))
  synthetic.write_tree(root, changed)
  out = tmp_path / "merged"
  _with_stored(root, first, out)
  report = json.loads((out / report_files.JSON).read_text())
  fids = {(r["cell"], r["seed"]): r["series"]["fid"]["20"] for r in report["runs"]}
  assert fids == {("uncond", 0): 50.0, ("uncond", 1): 30.0, ("uncond", 2): 40.0,
                  ("ssgan", 0): 60.0, ("ssgan", 1): 24.0, ("ssgan", 2): 1.0}
  assert report["montage_seeds"] == {"uncond": 1, "ssgan": 1}


def test_cells_without_a_sample_grid_are_named_under_the_montage(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "study"))
  first = tmp_path / "first"
  report_files.write_report(_cells(root), str(first))
  os.remove(stored_runs.samples_file(str(first), "ssgan", 0))
  shutil.rmtree(root)
  out = tmp_path / "again"
  _with_stored(root, first, out)
  markdown = (out / report_files.MARKDOWN).read_text()
  assert markdown.rstrip().endswith(
      "Not shown (the final sample grid of the cell's best seed is not available): ssgan.")
  assert json.loads((out / report_files.JSON).read_text())["montage_seeds"] == {"uncond": 1}
  cells = collect.group_cells(stored_runs.read(str(first / report_files.JSON)), True)
  path, shown, missing = figures.montage(cells, str(tmp_path / "montage.png"))
  assert ([(r.cell, r.seed) for r in shown], missing) == ([("uncond", 1)], ["ssgan"])
  assert os.path.exists(path)  # Its title names ssgan as not available.


@pytest.mark.parametrize("content, error", [
    (None, r"--earlier_report='.*report.json': not a file"),
    ('{"runs": [{"cell": "a", "seed": "0"}]}',
     r"run 0 is not a stored run \(TypeError: cell 'a' and seed '0' are not a name and an "
     r"integer\)"),
    ("{", r"--earlier_report=.*report.json is not valid JSON"),
    ('{"tables": []}', r"--earlier_report=.*report.json has no list of runs"),
    ('{"runs": [{"cell": "a", "seed": 0}]}',
     r"--earlier_report=.*report.json: run 0 is not a stored run \(KeyError: 'series'\)"),
    ('{"runs": [{"cell": "a", "seed": 0, "record": {"study": "x"}}]}',
     r"run 0 is not a stored run \(TypeError: record .* is not a study.json object\)"),
])
def test_a_bad_earlier_report_is_named(tmp_path, content, error):
  path = tmp_path / "report.json"
  if content is not None:
    path.write_text(content)
  with pytest.raises(stored_runs.StoredRunsError, match=error):
    stored_runs.read(str(path))
  with pytest.raises(SystemExit, match=error):  # Each command: the message, no traceback.
    _run_study_cli(tmp_path, f"--earlier_report={path}", "--dry_run")


STUDY = """
study.name = "synthetic"
study.seeds = [0, 1, 2]
study.shared_configs = []
study.cells = [{"name": "uncond", "configs": ["gin_configs/demo/uncond_gan.gin"]},
               {"name": "ssgan", "configs": ["gin_configs/demo/ssgan.gin"]}]
"""


def _run_study_cli(tmp_path, *args, study=STUDY):
  path = tmp_path / "study.gin"
  path.write_text(study)
  run_cli.FLAGS(["run", f"--study={path}", f"--root={tmp_path / 'runs'}", *args])
  try:
    run_cli.main(["run"])
  finally:
    run_cli.FLAGS.unparse_flags()


def test_the_study_runs_only_what_neither_this_machine_nor_the_report_has(tmp_path, capsys):
  root = synthetic.write_tree(str(tmp_path / "runs" / "synthetic"))
  report_files.write_report(_cells(root), str(tmp_path / "report"))
  shutil.rmtree(os.path.join(root, "uncond"))
  shutil.rmtree(os.path.join(root, "ssgan", "seed_1"))
  capsys.readouterr()
  _run_study_cli(tmp_path, f"--earlier_report={tmp_path / 'report' / 'report.json'}",
                 "--dry_run")
  lines = capsys.readouterr().out.splitlines()
  # uncond: stored complete, no directory here; ssgan 0 and 2 have directories here (2 is
  # unfinished) and resume; ssgan 1 is stored complete.
  assert lines[0] == (f"4 runs complete in {tmp_path / 'report' / 'report.json'}, not run "
                      "again: uncond seed 0, uncond seed 1, ssgan seed 1, uncond seed 2")
  assert [shlex.split(line)[3] for line in lines[1:]] == [
      f"--model_dir={tmp_path / 'runs' / 'synthetic' / 'ssgan' / f'seed_{s}'}"
      for s in (0, 2)]
  assert shlex.split(lines[1])[0] == sys.executable


def test_the_report_of_another_study_is_refused(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "runs" / "synthetic"))
  report_files.write_report(_cells(root), str(tmp_path / "report"))
  report = tmp_path / "report" / report_files.JSON
  error = r"holds runs of study \['synthetic'\], not of \['other'\]"
  with pytest.raises(SystemExit, match=error):
    _run_study_cli(tmp_path, f"--earlier_report={report}", "--dry_run",
                   study=STUDY.replace('"synthetic"', '"other"'))
  other = synthetic.write_tree(str(tmp_path / "other"), {("uncond", 0): synthetic.RUNS[
      ("uncond", 0)]}, dict(synthetic.STUDY, name="other"))
  with pytest.raises(app.UsageError, match=error):
    _write_report_cli(f"--study_dir={other}", f"--earlier_report={report}",
                      f"--out={tmp_path / 'out'}")


def test_an_empty_earlier_report_is_an_error_not_no_flag(tmp_path):
  with pytest.raises(SystemExit, match=r"--earlier_report='': not a file"):
    _run_study_cli(tmp_path, "--earlier_report=", "--dry_run")
  with pytest.raises(app.UsageError, match=r"--earlier_report='': not a file"):
    _write_report_cli(f"--study_dir={tmp_path}", "--earlier_report=", f"--out={tmp_path}")


@pytest.mark.parametrize("args, error", [
    (["--study_dir=runs/x"], r"--out is required"),
    (["--study_dir=runs/x", "--run_dirs=runs/a", "--out=o"], r"exactly one of --study_dir"),
    (["--out=o"], r"exactly one of --study_dir"),
    (["--study_dir=runs/x", "--out=o", "--pairs=bcr"], r"--pairs entry 'bcr': expected CELL:"),
    (["--study_dir=runs/x", "--out=o", "--pairs=bcr:cr,a:b:c"], r"entry 'a:b:c': expected"),
    (["--study_dir=runs/x", "--out=o", "--pairs=bcr:"], r"entry 'bcr:': expected"),
])
def test_the_report_command_names_a_missing_or_clashing_flag(args, error):
  with pytest.raises(app.UsageError, match=error):
    _write_report_cli(*args)


def test_a_pair_naming_no_cell_is_a_usage_error_and_writes_nothing(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "study"))
  with pytest.raises(app.UsageError, match=r"--pairs entry ssgan:nope: nope is not a cell"):
    _write_report_cli(f"--study_dir={root}", f"--out={tmp_path / 'out'}",
                      "--baseline=uncond", "--pairs=ssgan:nope")
  assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncated", "not a png", "16-bit"])
def test_a_damaged_sample_grid_is_named_and_the_report_is_left_as_it_was(tmp_path, damage):
  root = synthetic.write_tree(str(tmp_path / "study"))
  report = tmp_path / "report"
  report_files.write_report(_cells(root), str(report))
  shutil.rmtree(root)
  written = lambda name: ((report / name).read_bytes(), (report / name).stat().st_mtime_ns)
  before = {name: written(name) for name in os.listdir(report) if os.path.isfile(report / name)}
  grid = report / stored_runs.SAMPLES_DIR / "ssgan_seed_0.png"
  whole = grid.read_bytes()
  if damage == "16-bit":  # Readable, but not on the 0-255 scale the montage draws.
    Image.fromarray(np.full([8, 8], 40000, np.uint16)).save(grid)
  else:
    grid.write_bytes(whole[:len(whole) // 2] if damage == "truncated" else b"pixels")
  with pytest.raises(app.UsageError, match=r"ssgan_seed_0.png: (not a readable sample grid|"
                                           r"sample grid of uint16 pixels)"):
    _write_report_cli(f"--study_dir={root}", f"--earlier_report={report / report_files.JSON}",
                      f"--out={report}")
  assert {name: written(name) for name in before} == before  # Not even written again.
