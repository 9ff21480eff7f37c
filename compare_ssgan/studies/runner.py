"""Runs a study's (cell, seed) runs one after another on this host.

Seeds are the outer loop: a study stopped part-way has every cell at its first seeds, which
is already a comparison. Each run is one `compare_ssgan.main --mode=train_and_eval`
subprocess in `<root>/<study>/<cell>/seed_<seed>`. Before it starts, `study.json`
(run_dir.STUDY_RUN) records the study, cell, seed, tables, configs, bindings and command;
once the subprocess exited 0 with TRAIN_DONE written it gets `"done": true`, so a later
invocation skips the run. An unfinished run is started again
with the same command: the trainer resumes from its checkpoint and the evaluator skips
what it scored. A run directory that exists without study.json (trained by hand) is
adopted only if its config.gin is what the cell's command writes, up to the evaluation
protocol (`evaluation.*`, `probe.*`): that does not change training, and the run's
train_and_eval scores with the study's.
"""
import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from typing import List, Optional

import gin

from compare_ssgan import gin_files
from compare_ssgan import run_dir
from compare_ssgan.evaluation import evaluator
from compare_ssgan.studies import run_log
from compare_ssgan.studies import study_file


class RunDirConflict(ValueError):
  """A run directory holds another run than the one the study would put there."""


@dataclasses.dataclass(frozen=True)
class RunSpec:
  cell: study_file.Cell
  seed: int
  model_dir: str
  command: List[str]

  def record(self, study):
    """What study.json says of the run (without its outcome)."""
    return {**plan(study, self.cell), "cell": self.cell.name, "seed": self.seed,
            "configs": self.cell.configs + study.shared_configs,
            "bindings": self.cell.bindings + [f"Trainer.seed={self.seed}"],
            "command": self.command}


def plan(study, cell):
  """The part of a run's study.json that the study file's later edits may change."""
  return {"study": {"name": study.name, "seeds": study.seeds,
                    "cells": {c.name: c.tables for c in study.cells},
                    "cell_seeds": {c.name: c.seeds for c in study.cells}},
          "tables": cell.tables}


def main_command(python, model_dir, configs, bindings, mode="train_and_eval"):
  """The `compare_ssgan.main` command line of one run."""
  return [python, "-m", "compare_ssgan.main", f"--model_dir={model_dir}",
          *(f"--gin_config={c}" for c in configs),
          *(f"--gin_bindings={b}" for b in bindings), f"--mode={mode}"]


_SEED_DIR = "seed_{}"  # A run is <root>/<study name>/<cell>/seed_<seed>.
_SEED_DIR_RE = re.compile(r"seed_(\d+)")


def cell_and_seed_of(model_dir):
  """(cell, seed) from the path of a study's run directory, or None for another path."""
  parent, name = os.path.split(os.path.normpath(model_dir))
  match = _SEED_DIR_RE.fullmatch(name)
  return (os.path.basename(parent), int(match.group(1))) if match and parent else None


def run_specs(study, root, only=None, python=sys.executable, cells_first=False):
  """The study's runs, seeds outer and cells inner (an interrupted study has every cell at
  its first seeds), or with `cells_first` each cell's seeds before the next cell (an
  interrupted study has whole cells); `only`: these cell names."""
  names = [cell.name for cell in study.cells]
  unknown = sorted(set(only or ()) - set(names))
  if unknown:
    raise study_file.StudyError(f"--only: unknown cells {unknown}; {study.path} has {names}.")
  pairs = [(seed, cell) for seed in study.seeds for cell in study.cells]
  if cells_first:
    pairs.sort(key=lambda pair: names.index(pair[1].name))  # Stable: seeds stay in order.
  specs = []
  for seed, cell in pairs:
    if (only and cell.name not in only) or seed not in cell.seeds:
      continue
    model_dir = os.path.join(root, study.name, cell.name, _SEED_DIR.format(seed))
    command = main_command(python, model_dir, cell.configs + study.shared_configs,
                           cell.bindings + [f"Trainer.seed={seed}"])
    specs.append(RunSpec(cell, seed, model_dir, command))
  return specs


def read_record(model_dir):
  """The run's study.json as a dict, or None."""
  path = run_dir.study_run_path(model_dir)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    try:
      record = json.load(f)
    except ValueError as e:
      raise RunDirConflict(f"{path} is not valid JSON ({e}); restore it or move the run "
                           "directory aside.") from e
  if not isinstance(record, dict) or not isinstance(record.get("command"), list):
    raise RunDirConflict(f"{path} holds no run record (a JSON object with its 'command'); "
                         "restore it or move the run directory aside.")
  return record


def _write_record(model_dir, record):
  run_dir.write_atomically(run_dir.study_run_path(model_dir),
                           json.dumps(record, indent=1) + "\n")


def expected_config(spec):
  """The config.gin the run's command writes (gin's config_str of its files + bindings)."""
  configs = [a.split("=", 1)[1] for a in spec.command if a.startswith("--gin_config=")]
  bindings = [a.split("=", 1)[1] for a in spec.command if a.startswith("--gin_bindings=")]
  gin.clear_config()
  try:
    gin_files.parse_gin(configs, bindings)
    return gin.config_str()
  finally:
    gin.clear_config()


def _training_config(config_text):
  """config.gin without its evaluation-protocol sections (gin writes one per configurable)."""
  headers = tuple(f"# Parameters for {name}:"
                  for name in evaluator.protocol_configurables())
  return "\n\n".join(section for section in config_text.strip().split("\n\n")
                     if not section.startswith(headers))


def check_run_dir(spec, study):
  """'done', 'new', 'resume' or 'adopt'; raises RunDirConflict for another run's directory."""
  record = read_record(spec.model_dir)
  if record is not None:
    if record["command"][1:] != spec.command[1:]:  # The interpreter may differ.
      raise RunDirConflict(
          f"{spec.model_dir} was started by another command:\n  {shlex.join(record['command'])}"
          f"\nthe study ({study.path}) now gives:\n  {shlex.join(spec.command)}\nMove the "
          "directory aside or restore the study file.")
    return "done" if record.get("done") else "resume"
  if not os.path.isdir(spec.model_dir) or not os.listdir(spec.model_dir):
    return "new"
  config = run_dir.config_path(spec.model_dir)
  if not os.path.exists(config):
    raise RunDirConflict(f"{spec.model_dir} exists without {run_dir.STUDY_RUN} or "
                         f"{run_dir.CONFIG}: not a run this study can adopt.")
  with open(config) as f:
    if _training_config(f.read()) != _training_config(expected_config(spec)):
      raise RunDirConflict(
          f"{spec.model_dir} has no {run_dir.STUDY_RUN} and its {run_dir.CONFIG} differs from "
          f"what cell {spec.cell.name!r}, seed {spec.seed} writes ({shlex.join(spec.command)}"
          "); refusing to adopt it. Move it aside or fix the study file.")
  return "adopt"


def launch(command, log_path):
  """Runs `command` with its output appended to `log_path`; returns the exit status.

  If this process is stopped (Ctrl-C, SIGTERM), the run is stopped too, so that a restart
  never finds two trainers in one directory; if it is killed (SIGKILL), the run gets
  SIGTERM from the kernel (Linux; elsewhere the run's lock refuses a second trainer). Call
  it from the main thread (it handles SIGTERM while the run lasts: Python's default would
  exit without stopping the run).
  """
  with open(log_path, "a") as log:
    log.write(run_log.start_line(shlex.join(command)))
    log.flush()
    start = time.monotonic()
    process = subprocess.Popen(_dying_with_this_process(command), stdout=log,
                               stderr=subprocess.STDOUT)
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    status = None
    try:
      status = process.wait()
    except BaseException:
      process.terminate()  # The trainer checkpoints on SIGTERM, the evaluator stops.
      status = process.wait()
      raise
    finally:
      signal.signal(signal.SIGTERM, previous_handler)
      if status is not None:
        log.flush()
        log.write(run_log.end_line(status, time.monotonic() - start))
    return status


# Sets Linux's PR_SET_PDEATHSIG (1) to SIGTERM, then becomes the command: the kernel sends
# SIGTERM to the command when the process that launched it dies, even by SIGKILL. (A
# preexec_fn would do the same, but is unsafe in a process with threads, as TF's are.)
_EXEC_DYING_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(128 + signal.SIGTERM); "
    "os.execvp(sys.argv[2], sys.argv[2:])")


def _dying_with_this_process(command):
  """`command`, wrapped so that it ends when this process dies (on Linux)."""
  if not sys.platform.startswith("linux"):
    return command
  return [sys.executable, "-c", _EXEC_DYING_WITH_PARENT, str(os.getpid()), *command]


def _interrupt(signum, frame):
  del frame
  raise KeyboardInterrupt(f"received signal {signum}")


class Stopped(Exception):
  """The study was stopped (Ctrl-C, SIGTERM) while a run was going; the run is stopped too."""


@dataclasses.dataclass
class Failure:
  spec: RunSpec
  reason: str


def _format_secs(secs):
  minutes, seconds = divmod(int(round(secs)), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours:d}:{minutes:02d}:{seconds:02d}"


def refresh_plans(study, specs):
  """Rewrites the plan (plan()) in the study.json of every started run of `specs` that the
  study file has gained cells, seeds or tables since: its command, hence the run, is the
  same, and reports read the plan from there."""
  for spec in specs:
    record = read_record(spec.model_dir)
    if record is None or record["command"][1:] != spec.command[1:]:
      continue  # Not started, or another run's (check_run_dir refuses it).
    current = dict(record, **plan(study, spec.cell))
    if current != record:
      _write_record(spec.model_dir, current)


def run_study(study, specs, launch_fn=launch, clock=time.monotonic, out=print):
  """Runs every unfinished run of `specs` in order; returns the list of Failures.

  Every run directory is checked before the first run starts, so a conflict stops the
  study before any work.
  """
  states = [check_run_dir(spec, study) for spec in specs]
  failures: List[Failure] = []
  durations = []
  done = states.count("done")
  start = clock()
  out(f"Study {study.name}: {len(specs)} runs, {done} already finished.")
  for spec, state in zip(specs, states):
    if state == "done":
      continue
    os.makedirs(spec.model_dir, exist_ok=True)
    if state == "resume":
      record = read_record(spec.model_dir)
    else:
      record = dict(spec.record(study), done=False, **({"adopted": True}
                                                       if state == "adopt" else {}))
      _write_record(spec.model_dir, record)
    out(f"[{spec.cell.name} seed {spec.seed}] {'resuming' if state == 'resume' else 'starting'}"
        f" in {spec.model_dir}")
    run_start = clock()
    try:
      status = launch_fn(spec.command, run_dir.study_log_path(spec.model_dir))
    except KeyboardInterrupt as e:
      raise Stopped(f"{e or 'interrupted'}: {spec.cell.name} seed {spec.seed} stopped (log "
                    f"{run_dir.study_log_path(spec.model_dir)}); the same command resumes "
                    "the study from the run's last checkpoint.") from None
    durations.append(clock() - run_start)
    reason = _failure_reason(spec, status)
    if reason is None:
      _write_record(spec.model_dir, dict(record, done=True))
      done += 1
    else:
      failures.append(Failure(spec, reason))
      out(f"FAILED: cell {spec.cell.name}, seed {spec.seed}: {reason}; log: "
          f"{run_dir.study_log_path(spec.model_dir)}")
    out(_progress(study, done, len(specs), len(failures), clock() - start, durations))
  return failures


def _failure_reason(spec, status) -> Optional[str]:
  if status != 0:
    return f"exit status {status}"
  if not run_dir.training_done(spec.model_dir):
    return f"exit status 0 but no {run_dir.TRAIN_DONE}"
  return None


def _progress(study, done, total, failed, elapsed, durations):
  remaining = total - done - failed
  mean = sum(durations) / len(durations)
  return (f"[study {study.name}] {done}/{total} runs done"
          f"{f', {failed} failed' if failed else ''}; elapsed {_format_secs(elapsed)}; ETA "
          f"{_format_secs(remaining * mean)} ({remaining} left at {_format_secs(mean)} a run)")
