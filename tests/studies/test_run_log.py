"""A study run's log: attempts and their wall time, as the runner writes them."""
import sys

import pytest

from compare_ssgan import run_dir
from compare_ssgan.studies import collect
from compare_ssgan.studies import report_files
from compare_ssgan.studies import run_log
from compare_ssgan.studies import runner
from tests.studies import synthetic

_KILLED_ATTEMPT = """
# 2026-12-05 10:05:25 python -m compare_ssgan.main --model_dir=run
I1205 10:05:40.100000 1 trainer.py:10] step 100
I1205 10:30:25.500000 1 trainer.py:10] step 9000
a line without a time
"""
_FINISHED_ATTEMPT = """
# 2026-12-05 11:20:41 python -m compare_ssgan.main --model_dir=run
I1205 11:20:50.000000 1 trainer.py:10] resuming
# 2026-12-05 11:40:41 exit 0 after 1200.5 s
"""


def test_each_attempt_ends_at_its_end_line_or_its_last_timestamp():
  # The killed attempt: 10:05:25 to 10:30:25.5; the gap to 11:20:41 is not counted.
  assert run_log.attempt_seconds(_KILLED_ATTEMPT + _FINISHED_ATTEMPT) == [1500.5, 1200.5]
  assert run_log.attempt_seconds("# 2026-12-05 10:05:25 cmd\nno time here\n") == [None]
  assert run_log.attempt_seconds("output before any attempt\n") == []
  # A run stopped by a signal exits with a negative status (subprocess's -15 for SIGTERM).
  stopped = "# 2026-12-05 22:04:29 cmd\n# 2026-12-05 22:04:30 exit -15 after 0.7 s\n"
  assert run_log.attempt_seconds(stopped) == [0.7]


def test_launch_writes_an_end_line_with_the_status_and_time(tmp_path):
  log = tmp_path / "study_run.log"
  assert runner.launch([sys.executable, "-c", "print('hello')"], str(log)) == 0
  assert runner.launch([sys.executable, "-c", "import sys; sys.exit(3)"], str(log)) == 3
  lines = log.read_text().splitlines()
  assert "hello" in lines and "exit 0 after " in lines[3] and "exit 3 after " in lines[-1]
  seconds = run_log.attempt_seconds(log.read_text())
  assert len(seconds) == 2 and all(0 <= s < 60 for s in seconds)


def test_the_report_gives_each_runs_wall_time_and_the_total(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "study"))
  dirs = collect.find_run_dirs(root)
  with open(run_dir.study_log_path(dirs[0]), "w") as f:
    f.write(_KILLED_ATTEMPT + _FINISHED_ATTEMPT)
  with open(run_dir.study_log_path(dirs[1]), "w") as f:
    f.write("# 2026-12-05 10:05:25 cmd\nno time here\n")
  runs = [collect.read_run(d) for d in dirs]
  assert runs[0].wall_secs == pytest.approx(2701.0) and runs[1].wall_secs is None
  cells = collect.group_cells(runs, use_study_plan=True)
  report_files.write_report(cells, str(tmp_path / "report"))
  markdown = (tmp_path / "report" / report_files.MARKDOWN).read_text()
  assert f"| {runs[0].cell} | {runs[0].seed} | " in markdown
  assert "| 2 | 45.0 |" in markdown and "| 1 | unknown |" in markdown
  assert (f"Total: 45.0 minutes over 1 runs ({len(runs) - 1} runs without a recorded time)."
          in markdown)
