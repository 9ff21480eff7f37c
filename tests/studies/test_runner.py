"""The study runner with a fake run command: order, resume after a kill, failures, dry run;
and the study file's errors."""
import functools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

# main's flags share absl's registry with the runner's: the runner must not need them.
from compare_ssgan import main  # pylint: disable=unused-import
from compare_ssgan import run_dir
from compare_ssgan.studies import collect
from compare_ssgan.studies import run_study as run_cli
from compare_ssgan.studies import runner
from compare_ssgan.studies import study_file

STUDY = """
study.name = "micro"
study.seeds = [0, 1]
study.shared_configs = []
study.cells = [
    {"name": "a", "configs": ["gin_configs/demo/uncond_gan.gin"], "bindings": ["GAN.z_dim = 16"],
     "tables": {"t": ("row", "A")}},
    {"name": "b", "configs": ["gin_configs/demo/ssgan.gin"]},
]
"""


def _study(tmp_path, text=STUDY):
  path = tmp_path / "study.gin"
  path.write_text(text)
  return study_file.load(str(path))


class _Killed(BaseException):
  """The runner's process dying mid-run (nothing after it in the runner runs)."""


class FakeMain:
  """Stands in for `compare_ssgan.main`: records each start, writes TRAIN_DONE."""

  def __init__(self, kill=None, fail=None):
    self.started = []
    self.kill, self.fail = kill, fail

  def __call__(self, command, log_path):
    model_dir = command[command.index("-m") + 2].split("=", 1)[1]
    run = (os.path.basename(os.path.dirname(model_dir)), os.path.basename(model_dir))
    self.started.append(run)
    assert os.path.exists(run_dir.study_run_path(model_dir))  # Written before the start.
    if run == self.kill:
      self.kill = None
      raise _Killed()
    if run == self.fail:
      return 3
    run_dir.mark_training_done(model_dir)
    return 0


def test_seeds_are_the_outer_loop_and_each_run_is_one_main_command(tmp_path):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"), python="PY")
  assert [(s.cell.name, s.seed) for s in specs] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
  model_dir = str(tmp_path / "runs" / "micro" / "a" / "seed_1")
  assert specs[2].command == [
      "PY", "-m", "compare_ssgan.main", f"--model_dir={model_dir}",
      "--gin_config=gin_configs/demo/uncond_gan.gin", "--gin_bindings=GAN.z_dim = 16",
      "--gin_bindings=Trainer.seed=1", "--mode=train_and_eval"]


def test_cells_first_runs_each_cells_seeds_before_the_next_cell(tmp_path):
  specs = runner.run_specs(_study(tmp_path), str(tmp_path / "runs"), cells_first=True)
  assert [(s.cell.name, s.seed) for s in specs] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
  only_b = runner.run_specs(_study(tmp_path), str(tmp_path / "runs"), only=["b"],
                            cells_first=True)
  assert [(s.cell.name, s.seed) for s in only_b] == [("b", 0), ("b", 1)]


def test_a_study_killed_mid_run_and_restarted_neither_repeats_nor_loses_a_run(tmp_path):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"))
  fake = FakeMain(kill=("a", "seed_1"))
  with pytest.raises(_Killed):
    runner.run_study(study, specs, launch_fn=fake, out=lambda line: None)
  assert fake.started == [("a", "seed_0"), ("b", "seed_0"), ("a", "seed_1")]
  lines = []
  assert runner.run_study(study, specs, launch_fn=fake, out=lines.append) == []
  # The killed run is resumed; the finished ones are not started again; none is lost.
  assert fake.started[3:] == [("a", "seed_1"), ("b", "seed_1")]
  for spec in specs:
    record = runner.read_record(spec.model_dir)
    assert record["done"] and record["command"] == spec.command
    assert record["seed"] == spec.seed and record["study"]["seeds"] == [0, 1]
  assert lines[0] == "Study micro: 4 runs, 2 already finished."
  assert lines[-1].startswith("[study micro] 4/4 runs done; elapsed ")
  assert runner.run_study(study, specs, launch_fn=fake, out=lines.append) == []
  assert len(fake.started) == 5


def test_a_stopped_study_names_the_stopped_run_and_how_to_resume_it(tmp_path, monkeypatch):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"))

  def stopped(command, log_path):
    del command, log_path
    raise KeyboardInterrupt("received signal 15")  # What launch raises on SIGTERM.

  log = run_dir.study_log_path(specs[0].model_dir)
  with pytest.raises(runner.Stopped, match=re.escape(
      f"received signal 15: a seed 0 stopped (log {log}); the same command resumes")):
    runner.run_study(study, specs, launch_fn=stopped, out=lambda line: None)
  assert runner.read_record(specs[0].model_dir)["done"] is False
  # The command line: a message, no traceback.
  monkeypatch.setattr(runner, "run_study", functools.partial(runner.run_study,
                                                             launch_fn=stopped))
  path = tmp_path / "study.gin"
  path.write_text(STUDY)
  run_cli.FLAGS(["run", f"--study={path}", f"--root={tmp_path / 'runs'}"])
  try:
    with pytest.raises(SystemExit, match="^Stopped: received signal 15: a seed 0 stopped"):
      run_cli.main(["run"])
  finally:
    run_cli.FLAGS.unparse_flags()


_GROWN_STUDY = STUDY.replace(
    '{"name": "b", "configs": ["gin_configs/demo/ssgan.gin"]},',
    '{"name": "b", "configs": ["gin_configs/demo/ssgan.gin"]},\n'
    '    {"name": "c", "configs": ["gin_configs/demo/cond_gan.gin"], "seeds": [1],\n'
    '     "tables": {"t": ("row", "C")}},')


def test_a_cell_runs_at_its_own_seeds_and_a_grown_study_updates_the_finished_runs_plans(
    tmp_path):
  study = _study(tmp_path)
  root = str(tmp_path / "runs")
  fake = FakeMain()
  assert runner.run_study(study, runner.run_specs(study, root), launch_fn=fake,
                          out=lambda line: None) == []
  grown = _study(tmp_path, _GROWN_STUDY)
  assert grown.cell("c").seeds == [1] and grown.cell("a").seeds == [0, 1]
  specs = runner.run_specs(grown, root, only=["c"])
  assert [(s.cell.name, s.seed) for s in specs] == [("c", 1)]
  runner.refresh_plans(grown, runner.run_specs(grown, root))
  assert runner.run_study(grown, specs, launch_fn=fake, out=lambda line: None) == []
  assert fake.started[4:] == [("c", "seed_1")]
  for spec in runner.run_specs(grown, root):  # The earlier runs now carry the grown plan.
    record = runner.read_record(spec.model_dir)
    assert record["done"] and record["study"]["cell_seeds"] == {"a": [0, 1], "b": [0, 1],
                                                                "c": [1]}
    assert record["study"]["cells"]["c"] == {"t": ["row", "C"]}
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(
      os.path.join(root, "micro"))], use_study_plan=True)
  assert [(c.name, c.planned, len(c.runs)) for c in cells] == [("a", 2, 2), ("b", 2, 2),
                                                               ("c", 1, 1)]


def test_a_failing_run_is_reported_and_the_others_go_on(tmp_path):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"))
  fake = FakeMain(fail=("b", "seed_0"))
  lines = []
  (failure,) = runner.run_study(study, specs, launch_fn=fake, out=lines.append)
  assert (failure.spec.cell.name, failure.spec.seed, failure.reason) == ("b", 0,
                                                                          "exit status 3")
  assert len(fake.started) == 4
  assert any(line.startswith("FAILED: cell b, seed 0: exit status 3; log: ") and
             line.endswith(run_dir.study_log_path(specs[1].model_dir)) for line in lines)
  assert "4/4" not in lines[-1] and "1 failed" in lines[-1]


def test_a_run_dir_of_another_command_is_refused_before_any_work(tmp_path):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"))
  os.makedirs(specs[3].model_dir)
  with open(run_dir.study_run_path(specs[3].model_dir), "w") as f:
    json.dump({"command": ["py", "-m", "compare_ssgan.main", "--other"]}, f)
  fake = FakeMain()
  with pytest.raises(runner.RunDirConflict, match="was started by another command"):
    runner.run_study(study, specs, launch_fn=fake)
  assert not fake.started


@pytest.mark.parametrize("damaged", ['{"command": ["py"', '[1, 2]', '{"cell": "a"}'])
def test_a_damaged_study_json_is_named_before_any_work(tmp_path, damaged):
  study = _study(tmp_path)
  specs = runner.run_specs(study, str(tmp_path / "runs"))
  os.makedirs(specs[1].model_dir)
  path = run_dir.study_run_path(specs[1].model_dir)
  with open(path, "w") as f:
    f.write(damaged)
  fake = FakeMain()
  with pytest.raises(runner.RunDirConflict, match=re.escape(path)):
    runner.refresh_plans(study, specs)
  with pytest.raises(runner.RunDirConflict, match=re.escape(path)):
    runner.run_study(study, specs, launch_fn=fake)
  assert not fake.started and open(path).read() == damaged  # Nothing run, nothing lost.


def test_a_hand_trained_run_dir_is_adopted_only_if_its_config_matches(tmp_path):
  study = _study(tmp_path)
  spec = runner.run_specs(study, str(tmp_path / "runs"))[0]
  os.makedirs(spec.model_dir)
  with open(run_dir.config_path(spec.model_dir), "w") as f:
    f.write("Trainer.seed = 7\n")
  with pytest.raises(runner.RunDirConflict, match="differs from what cell 'a', seed 0"):
    runner.check_run_dir(spec, study)
  # The real config.gin the trainer writes is checked in test_micro_study.
  expected = runner.expected_config(spec)
  assert "Trainer.seed = 0" in expected
  # Another evaluation protocol (the evaluator's sections only) is still the same training.
  with open(run_dir.config_path(spec.model_dir), "w") as f:
    f.write(expected + "\n# Parameters for probe:\n# ===\nprobe.num_test = 7\n")
  assert runner.check_run_dir(spec, study) == "adopt"
  with open(run_dir.config_path(spec.model_dir), "w") as f:
    f.write(expected.replace("Trainer.seed = 0", "Trainer.seed = 1"))
  with pytest.raises(runner.RunDirConflict, match="differs from what cell 'a', seed 0"):
    runner.check_run_dir(spec, study)


def test_dry_run_prints_the_commands_and_touches_nothing(tmp_path, capsys):
  path = tmp_path / "study.gin"
  path.write_text(STUDY)
  root = tmp_path / "runs"
  run_cli.FLAGS(["run", f"--study={path}", f"--root={root}", "--only=b", "--dry_run"])
  try:
    run_cli.main(["run"])
  finally:
    run_cli.FLAGS.unparse_flags()
  assert capsys.readouterr().out.splitlines() == [shlex.join([
      sys.executable, "-m", "compare_ssgan.main", f"--model_dir={root}/micro/b/seed_{seed}",
      "--gin_config=gin_configs/demo/ssgan.gin", f"--gin_bindings=Trainer.seed={seed}",
      "--mode=train_and_eval"]) for seed in (0, 1)]
  assert not root.exists()
  run_cli.FLAGS(["run", f"--study={path}", f"--root={root}", "--cells_first", "--dry_run"])
  try:
    run_cli.main(["run"])
  finally:
    run_cli.FLAGS.unparse_flags()
  assert [line.split()[3] for line in capsys.readouterr().out.splitlines()] == [
      f"--model_dir={root}/micro/{cell}/seed_{seed}" for cell in "ab" for seed in (0, 1)]


@pytest.mark.parametrize("text, error", [
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = []\nstudy.colour = 1",
     r"unknown key study.colour"),
    ("study.name = 'x'\nstudy.seeds = [0]", r"missing study.cells"),
    ("study.name = 'a b'\nstudy.seeds = [0]\nstudy.cells = [{}]", r"study.name .* 'a b'"),
    ("study.name = 'x'\nstudy.seeds = [0, -1]\nstudy.cells = [{}]",
     r"study.seeds must be .* got \[0, -1\]"),
    ("study.name = 'x'\nstudy.seeds = [1, 1]\nstudy.cells = [{}]", r"duplicates: \[1, 1\]"),
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = [{'name': 'a', 'configs': "
     "['gin_configs/nope.gin']}]", r"study.cells\[0\] \('a'\)\['configs'\]: .*nope.gin"),
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = [{'name': 'a', 'config': []}]",
     r"study.cells\[0\] has unknown keys \['config'\] / misses \['configs'\]"),
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = [" + 2 * (
        "{'name': 'a', 'configs': ['gin_configs/demo/ssgan.gin']},") + "]",
     r"duplicate names \['a'\]"),
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = [{'name': 'a', 'configs': "
     "['gin_configs/demo/ssgan.gin'], 'tables': {'t': 'r'}}]", r"'t': 'r' must map"),
    ("study.name = 'x'\nstudy.seeds = [0]\nstudy.cells = [" + ",".join(
        f"{{'name': '{n}', 'configs': ['gin_configs/demo/ssgan.gin'], "
        "'tables': {'t': ('r', 'c')}}" for n in "ab") + "]",
     r"Cells 'a' and 'b' both sit at table 't', row 'r', column 'c'"),
    ("study.name = 'x'\nstudy.seeds = @seeds()\nstudy.cells = []", r"@seeds is not allowed"),
    ("Trainer.seed = 1", r"expected `study.<key> = value`, got 'Trainer.seed'"),
    *((f"study.name = 'x'\nstudy.seeds = [0, 1]\nstudy.cells = [{{'name': 'a', 'configs': "
       f"['gin_configs/demo/ssgan.gin'], 'seeds': {seeds}}}]",
       r"study.cells\[0\] \('a'\)\['seeds'\] must be a non-empty list of distinct seeds "
       r"from study.seeds \[0, 1\]; got " + got)
      for seeds, got in [("[2]", r"\[2\]"), ("[]", r"\[\]"), ("[1, 1]", r"\[1, 1\]"),
                         ("1", "1"), ("[[0]]", r"\[\[0\]\]")]),
])
def test_bad_study_files_are_named(tmp_path, text, error):
  with pytest.raises(study_file.StudyError, match=error):
    _study(tmp_path, text)


def test_only_names_unknown_cells(tmp_path):
  with pytest.raises(study_file.StudyError, match=r"--only: unknown cells \['c'\]"):
    runner.run_specs(_study(tmp_path), str(tmp_path), only=["c"])


def _launch_sleeping_child(tmp_path):
  """(runner process, its child's pid): the runner's `launch` of a child that sleeps."""
  child_pid_path = tmp_path / "child.pid"
  child = (f"import os, time; open({str(child_pid_path)!r}, 'w').write(str(os.getpid())); "
           "time.sleep(120)")
  launcher = subprocess.Popen([
      sys.executable, "-c",
      "import sys; from compare_ssgan.studies import runner; "
      f"runner.launch([sys.executable, '-c', {child!r}], {str(tmp_path / 'log')!r})"])
  deadline = time.monotonic() + 60
  while not (child_pid_path.exists() and child_pid_path.read_text()):
    assert time.monotonic() < deadline and launcher.poll() is None
    time.sleep(0.1)
  return launcher, int(child_pid_path.read_text())


def test_sigterm_to_the_runner_stops_its_run(tmp_path):
  # A scheduler's SIGTERM goes to the runner's pid alone; Python's default action would end
  # the runner and leave the run going on, a second trainer for the restarted study.
  launcher, child_pid = _launch_sleeping_child(tmp_path)
  launcher.send_signal(signal.SIGTERM)
  assert launcher.wait(timeout=60) != 0
  with pytest.raises(ProcessLookupError):
    os.kill(child_pid, 0)  # Reaped by the launcher: gone, not a zombie.


def test_a_killed_runner_leaves_no_orphan_run(tmp_path):
  launcher, child_pid = _launch_sleeping_child(tmp_path)
  launcher.send_signal(signal.SIGKILL)  # No handler runs: the kernel tells the child.
  launcher.wait(timeout=60)
  deadline = time.monotonic() + 30
  while _running(child_pid):
    assert time.monotonic() < deadline, f"the run {child_pid} outlived its runner"
    time.sleep(0.1)


def _running(pid):
  """Whether pid runs (an exited orphan is reaped by init; a zombie counts as gone)."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] != "Z"
  except FileNotFoundError:
    return False
