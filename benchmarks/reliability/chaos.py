r"""Chaos test: SIGKILL training and the continuous evaluator at random times, restart each.

  python benchmarks/reliability/chaos.py [--kills=10] [--eval_kills=10] \
      [--training_steps=1000] [--save_checkpoints_steps=50] [--seed=0] [--work_dir=DIR --keep]

Trains a short deterministic run of --gin_config twice with `compare_ssgan.main`: once
uninterrupted (the reference), once while killing the trainer with SIGKILL at random times
(uniform in [--min_kill_secs, --max_kill_secs] after each start, seeded) and restarting it
until it exits by itself, with `--mode=continuous_eval` running next to it and killed and
restarted the same way. Then it checks that

  - the final weights equal the reference's (every variable of the last checkpoint, by
    name; `Trainer.deterministic = True` makes a resumed run bit-exact);
  - both runs wrote the same checkpoint steps;
  - eval/results.csv holds every checkpoint step exactly once per (metric, generator,
    repeat): no duplicate and no missing row.

Prints a summary and one JSON line (with where each kill landed: seconds after the start,
the latest checkpoint or the steps scored); exits 1 when a check fails. Not part of CI (about
ten minutes of CPU). Children's logs are in <work_dir>/logs; the work dir is removed unless
--keep.
"""
import collections
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from compare_ssgan import run_dir
from compare_ssgan.evaluation import results as results_lib

# The children (`python -m compare_ssgan.main`) run here, where --gin_config's default is.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_POLL_SECS = 0.2
_LOG_TAIL_CHARS = 3000


flags.DEFINE_integer("kills", 10, "SIGKILLs of the trainer.", lower_bound=0)
flags.DEFINE_integer("eval_kills", 10, "SIGKILLs of the continuous evaluator.", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of the kill times.")
flags.DEFINE_float("min_kill_secs", 5.0,
                   "Earliest kill after a (re)start (TF start-up takes seconds).")
flags.DEFINE_float("max_kill_secs", 25.0, "Latest kill after a (re)start.")
flags.DEFINE_string("gin_config", "gin_configs/demo/ssgan.gin", "The run's gin config.")
flags.DEFINE_integer("training_steps", 1000, "Trainer.training_steps.", lower_bound=1)
flags.DEFINE_integer("steps_per_loop", 5, "Trainer.steps_per_loop.", lower_bound=1)
flags.DEFINE_integer("save_checkpoints_steps", 50, "Trainer.save_checkpoints_steps.",
                     lower_bound=1)
flags.DEFINE_multi_string("gin_bindings", [], "Extra training bindings (both runs).")
flags.DEFINE_integer("eval_num_samples", 64,
                     "evaluation.num_samples: fakes (and reals) per checkpoint.", lower_bound=2)
flags.DEFINE_multi_string("eval_bindings", [], "Extra evaluator bindings.")
flags.DEFINE_float("timeout_secs", 1800.0, "Longest any one child process may run.",
                   lower_bound=0)
flags.DEFINE_string("work_dir", None, "Parent of the new directory the runs go into "
                    "(default: the system's temporary directory).")
flags.DEFINE_bool("keep", False, "Keep the runs and the children's logs.")
flags.register_multi_flags_validator(
    ["min_kill_secs", "max_kill_secs"],
    lambda f: 0 <= f["min_kill_secs"] <= f["max_kill_secs"],
    message="need 0 <= --min_kill_secs <= --max_kill_secs")
flags.register_multi_flags_validator(
    ["training_steps", "save_checkpoints_steps"],
    lambda f: f["save_checkpoints_steps"] < 1 or  # Refused by its own bound.
    f["training_steps"] % f["save_checkpoints_steps"] == 0,
    message="--training_steps must be a multiple of --save_checkpoints_steps")
FLAGS = flags.FLAGS


def train_command(args, model_dir):
  bindings = [
      f"Trainer.training_steps = {args.training_steps}",
      f"Trainer.steps_per_loop = {args.steps_per_loop}",
      f"Trainer.save_checkpoints_steps = {args.save_checkpoints_steps}",
      # Retention must not delete a checkpoint before the evaluator scored it.
      f"Trainer.keep_checkpoint_max = {args.training_steps // args.save_checkpoints_steps + 1}",
      "Trainer.deterministic = True",
  ] + args.gin_bindings
  return _main_command(model_dir, "train", [args.gin_config], bindings)


def eval_command(args, model_dir, real_stats_dir):
  bindings = [
      f"evaluation.num_samples = {args.eval_num_samples}",
      "evaluation.poll_interval_secs = 1",
      # A fresh cache, so that computing the real statistics is killed too.
      f"evaluation.real_stats_dir = '{real_stats_dir}'",
  ] + args.eval_bindings
  return _main_command(model_dir, "continuous_eval", [], bindings)


def _main_command(model_dir, mode, configs, bindings):
  command = [sys.executable, "-m", "compare_ssgan.main", f"--model_dir={model_dir}",
             f"--mode={mode}"]
  command += [f"--gin_config={c}" for c in configs]
  return command + [f"--gin_bindings={b}" for b in bindings]


class ChildFailed(RuntimeError):
  pass


class Restarter:
  """Runs a command until it exits 0, SIGKILLing it `kills` times at random moments."""

  def __init__(self, name, command, kills, rng, kill_window, timeout_secs, log_dir,
               progress=None):
    """`progress(start_wall_time)` describes, as a dict, where a kill landed."""
    self.name = name
    self.command = command
    self.kills = kills
    self.rng = rng
    self.kill_window = kill_window
    self.timeout_secs = timeout_secs
    self.log_dir = log_dir
    self.progress = progress
    self.kill_log = []
    self.starts = 0
    self.proc = None
    self.log_path = None
    self.started = None
    self.started_wall = None
    self.kill_at = None

  @property
  def killed(self):
    return len(self.kill_log)

  def _start(self):
    self.log_path = os.path.join(self.log_dir, f"{self.name}-{self.starts}.log")
    with open(self.log_path, "w") as log:
      # Own process group: a kill reaches any helper process it started too.
      self.proc = subprocess.Popen(self.command, cwd=REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    self.starts += 1
    self.started = time.monotonic()
    self.started_wall = time.time()
    self.kill_at = (self.started + self.rng.uniform(*self.kill_window)
                    if self.killed < self.kills else None)

  def kill(self):
    """SIGKILLs the running child's process group and reaps it; True if it was running."""
    if self.proc is None or self.proc.poll() is not None:
      return False
    try:
      os.killpg(self.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
    return self.proc.wait(timeout=60) == -signal.SIGKILL

  def poll(self):
    """Advances the child; True once it has exited 0 by itself."""
    if self.proc is None:
      self._start()
    now = time.monotonic()
    if self.kill_at is not None and now >= self.kill_at and self.kill():
      landed = {"after_secs": round(now - self.started, 1)}
      if self.progress:
        landed.update(self.progress(self.started_wall))
      self.kill_log.append(landed)
      self.proc = None
      return False
    returncode = self.proc.poll()  # The kill may have found it exited by itself.
    if returncode is None:
      if now - self.started > self.timeout_secs:
        raise ChildFailed(f"{self.name} ran over {self.timeout_secs} s.\n{self.log_tail()}")
      return False
    if returncode != 0:
      raise ChildFailed(f"{self.name} exited with {returncode}.\n{self.log_tail()}")
    return True

  def log_tail(self):
    with open(self.log_path) as f:
      return f"--- end of {self.log_path} ---\n{f.read()[-_LOG_TAIL_CHARS:]}"


def run_until_done(restarters, start_conditions):
  """Polls every restarter (each once its start condition holds) until all are done."""
  pending = list(restarters)
  try:
    while pending:
      for restarter in list(pending):
        if start_conditions.get(restarter.name, lambda: True)() and restarter.poll():
          pending.remove(restarter)
      time.sleep(_POLL_SECS)
  finally:
    for restarter in restarters:
      restarter.kill()


def trainer_progress(model_dir, start_wall_time):
  """The latest checkpoint, and whether this start got past its first training loop."""
  checkpoints = run_dir.list_checkpoints(model_dir)
  # The trainer rewrites operative_config.gin after the first loop of every start.
  operative = run_dir.operative_config_path(model_dir)
  return {"checkpoint": checkpoints[-1][0] if checkpoints else None,
          "in_loops": os.path.exists(operative) and
                      os.path.getmtime(operative) >= start_wall_time}


def evaluator_progress(model_dir, start_wall_time):
  del start_wall_time
  scored = {row["step"] for row in results_lib.ResultsFile(
      run_dir.results_path(model_dir, "csv")).read()}
  return {"steps_scored": len(scored)}


def leftover_temp_files(model_dir):
  """Temporary files that killed writers left behind (information, not a failure)."""
  return sorted(os.path.relpath(os.path.join(root, name), model_dir)
                for root, dirs, files in os.walk(model_dir) for name in dirs + files
                if "tmp" in name or "temp" in name)


def compare_weights(reference_prefix, chaos_prefix):
  """Max |difference| over the numeric variables of two checkpoints, matched by name."""
  reference = tf.train.load_checkpoint(reference_prefix)
  chaos = tf.train.load_checkpoint(chaos_prefix)
  reference_names = dict(tf.train.list_variables(reference_prefix))
  chaos_names = dict(tf.train.list_variables(chaos_prefix))
  common = sorted(set(reference_names) & set(chaos_names))
  max_diff, worst, compared, shape_mismatches = 0.0, None, 0, []
  for name in common:
    a, b = reference.get_tensor(name), chaos.get_tensor(name)
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
      continue  # The object graph and other string entries.
    if a.shape != b.shape:
      shape_mismatches.append(name)
      continue
    compared += 1
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)),
                        initial=0.0))
    if diff > max_diff:
      max_diff, worst = diff, name
  return {"variables_compared": compared, "max_weight_diff": max_diff,
          "worst_variable": worst, "shape_mismatches": shape_mismatches,
          "only_in_reference": sorted(set(reference_names) - set(chaos_names)),
          "only_in_chaos": sorted(set(chaos_names) - set(reference_names))}


def check_results(model_dir, expected_steps):
  """Duplicate and missing rows of the run's results file against its checkpoints."""
  rows = results_lib.ResultsFile(run_dir.results_path(model_dir, "csv")).read()
  counts = collections.Counter(
      (row["step"], row["metric"], row["use_ema"], row["repeat"]) for row in rows)
  kinds = sorted({key[1:] for key in counts}, key=str)
  expected = {(step,) + kind for step in expected_steps for kind in kinds}
  return {"rows_checked": len(rows), "metrics": sorted({k[0] for k in kinds}),
          "duplicates": sorted((k for k, n in counts.items() if n > 1), key=str),
          "missing": sorted(expected - set(counts), key=str),
          "unexpected_steps": sorted({k[0] for k in counts} - set(expected_steps))}


def chaos_test(args, work_dir):
  log_dir = os.path.join(work_dir, "logs")
  os.makedirs(log_dir)
  reference_dir = os.path.join(work_dir, "reference")
  chaos_dir = os.path.join(work_dir, "chaos")
  kill_window = (args.min_kill_secs, args.max_kill_secs)
  start = time.monotonic()

  print(f"Reference run in {reference_dir} ...", flush=True)
  run_until_done([Restarter("reference", train_command(args, reference_dir), 0, None,
                            kill_window, args.timeout_secs, log_dir)], {})
  reference_secs = time.monotonic() - start

  print(f"Chaos run in {chaos_dir}: {args.kills} trainer and {args.eval_kills} "
        "evaluator kills ...", flush=True)
  # One RNG per child, so that the kill times do not depend on how their polls interleave.
  trainer = Restarter("train", train_command(args, chaos_dir), args.kills,
                      random.Random(f"{args.seed}:train"), kill_window, args.timeout_secs,
                      log_dir, functools.partial(trainer_progress, chaos_dir))
  evaluator = Restarter(
      "eval", eval_command(args, chaos_dir, os.path.join(work_dir, "real_stats")),
      args.eval_kills, random.Random(f"{args.seed}:eval"), kill_window,
      args.timeout_secs, log_dir, functools.partial(evaluator_progress, chaos_dir))
  # The evaluator starts once the trainer has written the run's config (it would poll).
  run_until_done([trainer, evaluator], {
      "eval": lambda: tf.io.gfile.exists(run_dir.config_path(chaos_dir))})

  reference_checkpoints = run_dir.list_checkpoints(reference_dir)
  chaos_checkpoints = run_dir.list_checkpoints(chaos_dir)
  reference_steps = [step for step, _ in reference_checkpoints]
  chaos_steps = [step for step, _ in chaos_checkpoints]
  summary = {
      "train_kills_requested": args.kills, "train_kills_survived": trainer.killed,
      "train_kills_in_loops": sum(k["in_loops"] for k in trainer.kill_log),
      "eval_kills_requested": args.eval_kills, "eval_kills_survived": evaluator.killed,
      "train_kill_log": trainer.kill_log, "eval_kill_log": evaluator.kill_log,
      "training_steps": args.training_steps,
      "checkpoints": len(chaos_steps), "same_checkpoint_steps": reference_steps == chaos_steps,
      "final_step": chaos_steps[-1] if chaos_steps else None,
  }
  summary.update(compare_weights(reference_checkpoints[-1][1], chaos_checkpoints[-1][1]))
  summary.update(check_results(chaos_dir, chaos_steps))
  summary["leftover_temp_files"] = leftover_temp_files(chaos_dir)
  summary.update({"reference_secs": round(reference_secs, 1),
                  "wall_secs": round(time.monotonic() - start, 1), "seed": args.seed,
                  "config": args.gin_config, "tf": tf.__version__})
  return summary


def failures(summary, training_steps):
  problems = []
  if summary["final_step"] != training_steps:
    problems.append(f"final checkpoint step {summary['final_step']} != {training_steps}")
  if not summary["same_checkpoint_steps"]:
    problems.append("the runs wrote different checkpoint steps")
  if summary["max_weight_diff"] != 0.0:
    problems.append(f"weights differ by {summary['max_weight_diff']:.3g} "
                    f"({summary['worst_variable']})")
  for key in ("shape_mismatches", "only_in_reference", "only_in_chaos", "duplicates",
              "missing", "unexpected_steps"):
    if summary[key]:
      problems.append(f"{key}: {summary[key]}")
  if not summary["rows_checked"]:
    problems.append("no result rows")
  return problems


def main(argv):
  del argv
  args = FLAGS
  if args.work_dir:
    os.makedirs(args.work_dir, exist_ok=True)
  # A new directory (under --work_dir if given), so that removing it removes nothing else.
  work_dir = tempfile.mkdtemp(prefix="compare_ssgan_chaos_", dir=args.work_dir)
  # SIGTERM unwinds like Ctrl-C, so that the children (own sessions) are killed too.
  signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
  try:
    summary = chaos_test(args, work_dir)
  except ChildFailed as e:
    print(f"FAILED: {e}", flush=True)
    return 1
  finally:
    if not args.keep:
      shutil.rmtree(work_dir, ignore_errors=True)
  problems = failures(summary, args.training_steps)
  print(f"Survived {summary['train_kills_survived']}/{args.kills} trainer SIGKILLs "
        f"({summary['train_kills_in_loops']} after the first training loop of that start) "
        f"and {summary['eval_kills_survived']}/{args.eval_kills} evaluator SIGKILLs; "
        f"{summary['checkpoints']} checkpoints (final step {summary['final_step']}); "
        f"max weight difference vs the uninterrupted run {summary['max_weight_diff']:.3g} "
        f"over {summary['variables_compared']} variables; {summary['rows_checked']} result "
        f"rows ({', '.join(summary['metrics'])}): {len(summary['duplicates'])} duplicates, "
        f"{len(summary['missing'])} missing; "
        f"{len(summary['leftover_temp_files'])} leftover temporary files; "
        f"{summary['wall_secs']:.0f} s.")
  if summary["train_kills_survived"] < args.kills or (
      summary["eval_kills_survived"] < args.eval_kills):
    print("Note: a child finished before all its kills landed; lengthen "
          "--training_steps or shorten the kill window.")
  print("PROBLEMS: " + "; ".join(problems) if problems else "All checks passed.")
  print(json.dumps(summary, default=str), flush=True)
  return 1 if problems else 0


if __name__ == "__main__":
  app.run(main)
