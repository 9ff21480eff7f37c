r"""SS-GAN's forgetting experiment (Chen et al., "Self-Supervised GANs via Auxiliary
Rotation Loss", arXiv:1811.11212, Fig. 3): does the rotation loss keep a classifier with
D's architecture from forgetting when its task keeps changing?

  python -m compare_ssgan.experiments.forgetting --out=reports/forgetting \
      [--seeds=0,1,2] [--tasks=one_vs_all] [--dataset=fashion_mnist_local] \
      [--architecture=dcgan] [--iterations_per_task=1000] [--cycles=2] [--eval_every=100] \
      [--batch_size=64] [--gin_bindings='D.spectral_norm = True']

The classifier is the registered discriminator of `--architecture` (its gin knobs from
`--gin_bindings`); its logit is the binary output. The tasks (`forgetting_tasks`):
`--tasks=one_vs_all` (the paper's), task k is "class k vs the rest"; `--tasks=similar_pairs`
(Fashion-MNIST only, harder), five pairs of visually similar classes. The task switches
every `iterations_per_task` iterations, through all tasks, `cycles` times (the paper: 1k
iterations, ten CIFAR-10 tasks, two cycles). Each batch alternates a target-1 and a target-0
image (so SS-GAN's rotated last quarter is balanced too). For every seed the run is
done twice from the same initial weights on the same batches: without and with SS-GAN's D
rotation loss (the project's `rotation` term: beta = `rotation.weight_d` = 1.0, a quarter
of the batch rotated 4 ways), added to the sigmoid cross-entropy.

Measured (accuracy: logit > 0, on a task's balanced held-out set: all test images of its
target-1 classes and as many of its target-0 classes, the first ones in the dataset's
eval order, so chance is 0.5): the new task at each switch, before any update on it
(iteration = updates so far; the first task at iteration 0 is the untrained net); the
current task every `eval_every` iterations; and at the end of each task segment every task
(past, current and future), the matrix R[segment, task] of `forgetting_summary`.

Adam 2e-4 (beta1 0, beta2 0.9, epsilon 1e-8): the demos' D settings. The paper gives no
optimiser, architecture or batch size for this figure. The initial weights, the train
data's order and every batch come from the seed (batches as stateless draws keyed on the
iteration, `gans/randomness.py`).

--out is created (or refused) before any training, and holds the settings
(forgetting_settings.json) and one file per finished (seed, variant), seed<S>_<variant>.csv:
a re-run with the same settings skips those, one with other settings is refused. At the
end: forgetting.csv (every row of the seeds asked for), forgetting.json / forgetting.md
(the statistics) and forgetting.png / forgetting_matrix.png (`forgetting_summary`).
"""
import csv
import dataclasses
import json
import os

from absl import app
from absl import flags
from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan import run_lock
from compare_ssgan.architectures import registry
from compare_ssgan.data import datasets
from compare_ssgan.experiments import forgetting_summary as summary_lib
from compare_ssgan.experiments import forgetting_tasks as tasks_lib
from compare_ssgan.gans import randomness
from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import rotation as rotation_lib

VARIANTS = summary_lib.VARIANTS
ROW_FIELDS = summary_lib.ROW_FIELDS
CSV_NAME, SETTINGS_NAME, LOCK_NAME = "forgetting.csv", "forgetting_settings.json", "forgetting.lock"
# The demo configs' D optimiser (SS-GAN's Adam, TF1's epsilon).
ADAM = dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8)
_CHUNK = 500  # Images per D call when evaluating.


@dataclasses.dataclass(frozen=True)
class Schedule:
  """Which task each iteration trains on, and when accuracy is measured."""
  num_tasks: int
  iterations_per_task: int
  cycles: int
  eval_every: int

  @property
  def total(self):
    return self.num_tasks * self.iterations_per_task * self.cycles

  @property
  def segments(self):
    """Task segments: `iterations_per_task` iterations on one task each."""
    return self.num_tasks * self.cycles

  def task(self, step):
    """The task of 0-based iteration `step` (iteration `step + 1` ends)."""
    return (step // self.iterations_per_task) % self.num_tasks


class Classifier:
  """D (plus, with rotation, the rotation term) as a binary classifier: `train` one step on
  a task's batch, `accuracy` on a task's held-out set. `eval_sets[k]` = (images, targets)."""

  def __init__(self, variant, batches, eval_sets, architecture, image_shape, batch_size,
               seed):
    keras.utils.set_random_seed(seed)  # Both variants start from the same weights.
    discriminator = registry.make_discriminator(architecture, image_shape)
    if discriminator.patch_output:
      raise app.UsageError("D.patch_output = True gives one logit per patch; the binary "
                           "classifier needs D's single logit (D.patch_output = False).")
    terms = []
    if variant == "with_rotation":
      terms.append(rotation_lib.rotation(rotated_batch_size=batch_size))
      terms[0].build_heads(discriminator, None)
    variables = discriminator.trainable_variables + [
        v for term in terms for v in term.trainable_variables]
    optimizer = keras.optimizers.Adam(**ADAM)
    run_seed = randomness.fold_in(tf.constant([seed, 0], tf.int32), "forgetting")
    self.eval_sets = eval_sets

    @tf.function
    def train_step(step, task):
      step_seed = randomness.fold_in(run_seed, step)
      images, targets, _ = batches.batch(task, batch_size, step_seed)
      # The terms' D step on the reals; there is no generator and there are no fakes here.
      ctx = base.StepContext.reals_only(discriminator, terms, images, seed=step_seed)
      with tf.GradientTape() as tape:
        outputs = base.discriminator_outputs(ctx, "discriminator")
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            targets, outputs["real"].logits[:, 0]))
        loss += base.terms_loss(ctx, outputs, "discriminator")[0]
      optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    @tf.function(reduce_retracing=True)
    def logits(images):
      return discriminator(images, training=False)[0][:, 0]

    self._train_step, self._logits = train_step, logits

  def train(self, step, task):
    self._train_step(tf.constant(step, tf.int32), tf.constant(task, tf.int32))

  def accuracy(self, task):
    images, targets = self.eval_sets[task]
    predicted = np.concatenate([self._logits(images[i:i + _CHUNK]).numpy() > 0
                                for i in range(0, len(images), _CHUNK)])
    return float(np.mean(predicted == targets))


def measure(classifier, schedule, seed, variant):
  """Trains `classifier` through `schedule` and returns its rows (ROW_FIELDS): per task
  segment the new task at the switch (before any update on it), the current task every
  `eval_every` iterations, and every task at the segment's end."""
  rows = []

  def record(step, segment, task, evaluated, measured):
    rows.append({"seed": seed, "variant": variant, "iteration": step, "segment": segment,
                 "trained_task": task, "evaluated_task": evaluated, "measured": measured,
                 "accuracy": classifier.accuracy(evaluated)})
    return rows[-1]["accuracy"]

  step = 0
  for segment in range(schedule.segments):
    task = segment % schedule.num_tasks
    at_switch = record(step, segment, task, task, "switch")
    for _ in range(schedule.iterations_per_task):
      classifier.train(step, task)
      step += 1
      if step % schedule.eval_every == 0 and step % schedule.iterations_per_task:
        record(step, segment, task, task, "during")
    at_end = [record(step, segment, task, j, "end") for j in range(schedule.num_tasks)]
    logging.info("seed %d, %s: segment %d/%d (task %d): accuracy %.3f at the switch, %.3f "
                 "at the end", seed, variant, segment + 1, schedule.segments, task,
                 at_switch, at_end[task])
  return rows


def train_variant(variant, batches, eval_sets, architecture, image_shape, schedule,
                  batch_size, seed):
  """One (seed, variant) run of the whole schedule: its rows."""
  classifier = Classifier(variant, batches, eval_sets, architecture, image_shape,
                          batch_size, seed)
  return measure(classifier, schedule, seed, variant)


def make_out_dir(out):
  """Creates the output folder `out`, or refuses it (before any training)."""
  try:
    tf.io.gfile.makedirs(out)
  except tf.errors.OpError as e:
    raise app.UsageError(f"--out={out}: cannot create the output folder: {e.message}") from e


def check_settings(out, settings):
  """Writes `settings` to --out, or refuses an --out written with other settings."""
  path = os.path.join(out, SETTINGS_NAME)
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      stored = json.load(f)
    differing = [f"{key} was {stored.get(key)!r}, now {settings.get(key)!r}"
                 for key in sorted(set(stored) | set(settings))
                 if stored.get(key) != settings.get(key)]
    if differing:
      raise app.UsageError(f"--out={out} holds runs with other settings ({SETTINGS_NAME}): "
                           f"{'; '.join(differing)}. Use another --out, or those settings.")
    return
  with tf.io.gfile.GFile(path, "w") as f:
    json.dump(settings, f, indent=2)


def seed_path(out, seed, variant):
  return os.path.join(out, f"seed{seed}_{variant}.csv")


def write_rows(path, rows):
  """The rows as CSV, written whole (a temporary file renamed), so a file is complete."""
  with tf.io.gfile.GFile(path + ".tmp", "w") as f:
    writer = csv.DictWriter(f, ROW_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
  tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def _parse_row(row, path, line):
  """One CSV row with its numbers parsed; a ValueError naming the file, line and field."""
  def bad(field, expected):
    return ValueError(f"{path}, line {line}: {field} = {row.get(field)!r}; expected "
                      f"{expected}. Remove the file to run that seed again.")
  parsed = {}
  for field in ROW_FIELDS:
    value = row.get(field)
    if value is None:
      raise bad(field, "a value (the row is short)")
    try:
      parsed[field] = (value if field in ("variant", "measured") else
                       float(value) if field == "accuracy" else int(value))
    except ValueError:
      raise bad(field, "a number") from None
  if not 0 <= parsed["accuracy"] <= 1:  # NaN fails this too.
    raise bad("accuracy", "an accuracy in [0, 1]")
  return parsed


def read_rows(path, expected):
  """The rows of a finished (seed, variant) file; `expected` rows or a ValueError."""
  with tf.io.gfile.GFile(path) as f:
    rows = [_parse_row(r, path, line) for line, r in enumerate(csv.DictReader(f), start=2)]
  if len(rows) != expected:
    raise ValueError(f"{path} has {len(rows)} rows; the settings give {expected}. Remove it "
                     "to run that seed again.")
  return rows


def run(out, dataset, data_dir, architecture, iterations_per_task, cycles, eval_every,
        batch_size, seeds, tasks="one_vs_all"):
  """The whole experiment (gin already parsed); returns the summary it writes."""
  make_out_dir(out)
  ds = datasets.get_dataset(dataset, data_dir=data_dir)
  task_list = tasks_lib.make_tasks(tasks, dataset, ds.num_classes)
  settings = {"dataset": dataset, "data_dir": data_dir, "architecture": architecture,
              "tasks": tasks, "iterations_per_task": iterations_per_task, "cycles": cycles,
              "eval_every": eval_every, "batch_size": batch_size, "adam": ADAM,
              "gin": gin.config_str()}
  try:
    with run_lock.hold(os.path.join(out, LOCK_NAME), "forgetting run"):
      check_settings(out, settings)
      return _run_locked(out, ds, task_list, settings, list(seeds))
  except run_lock.LockHeld as e:
    raise app.UsageError(f"--out={out}: {e}") from e


def _run_locked(out, ds, task_list, settings, seeds):
  """Runs the (seed, variant)s not in --out yet, then writes the statistics and figures."""
  schedule = Schedule(len(task_list), settings["iterations_per_task"], settings["cycles"],
                      settings["eval_every"])
  expected = schedule.segments * (schedule.num_tasks + schedule.iterations_per_task
                                  // schedule.eval_every)
  pending = [(s, v) for s in seeds for v in VARIANTS
             if not tf.io.gfile.exists(seed_path(out, s, v))]
  logging.info("Seeds %s: %d of %d (seed, variant) runs done, %d to run.", seeds,
               2 * len(seeds) - len(pending), 2 * len(seeds), len(pending))
  test_images, test_labels = tasks_lib.load_split(ds, "test", 0)
  eval_sets = []
  for task in task_list:
    indices = tasks_lib.balanced_eval_indices(test_labels, task)
    eval_sets.append((test_images[indices], np.isin(test_labels[indices], task.positives)))
  for seed in sorted({s for s, _ in pending}):
    train_images, train_labels = tasks_lib.load_split(ds, "train", seed)
    batches = tasks_lib.TaskBatches(train_images, train_labels, task_list)
    for variant in [v for s, v in pending if s == seed]:
      rows = train_variant(variant, batches, eval_sets, settings["architecture"],
                           ds.image_shape, schedule, settings["batch_size"], seed)
      write_rows(seed_path(out, seed, variant), rows)
  rows = [row for s in seeds for v in VARIANTS
          for row in read_rows(seed_path(out, s, v), expected)]
  write_rows(os.path.join(out, CSV_NAME), rows)
  info = dict(settings, seeds=seeds, num_tasks=schedule.num_tasks,
              task_names=[t.name for t in task_list],
              eval_images_per_task=[len(s[1]) for s in eval_sets])
  return summary_lib.write_all(rows, info, out)


def define_flags(flag_values=flags.FLAGS):
  """The command's flags (defined on demand: other commands share some of the names)."""
  fv = dict(flag_values=flag_values)
  flags.DEFINE_string("out", None, "Output folder: settings, per-seed rows, CSV, JSON, "
                      "Markdown, PNGs.", required=True, **fv)
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (weights, batches, data order); each "
                    "runs both variants. Finished ones in --out are not run again.", **fv)
  flags.DEFINE_enum("tasks", "one_vs_all", tasks_lib.TASK_FAMILIES, "one_vs_all: class k "
                    "vs the rest (the paper's); similar_pairs: five pairs of similar "
                    "Fashion-MNIST classes.", **fv)
  flags.DEFINE_enum("dataset", "fashion_mnist_local", datasets.known_names(),
                    "A labelled dataset.", **fv)
  flags.DEFINE_string("data_dir", None, "The dataset's dataset.data_dir (default: its own).",
                      **fv)
  flags.DEFINE_enum("architecture", "dcgan", sorted(registry.ARCHITECTURES),
                    "Whose discriminator is the classifier.", **fv)
  flags.DEFINE_integer("iterations_per_task", 1000, "Iterations before the task switches.",
                       lower_bound=1, **fv)
  flags.DEFINE_integer("cycles", 2, "Passes through all the tasks.", lower_bound=1, **fv)
  flags.DEFINE_integer("eval_every", 100, "Iterations between accuracy measurements; must "
                       "divide --iterations_per_task.", lower_bound=1, **fv)
  flags.DEFINE_integer("batch_size", 64, "Images per step, half target 1; a multiple of "
                       "4.", lower_bound=4, **fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings of the discriminator's (and "
                            "the rotation term's) knobs.", **fv)
  flags.register_validator(
      "batch_size", lambda size: size % 4 == 0, flag_values=flag_values,
      message="must be a multiple of 4 (half target 1, and SS-GAN's rotation loss "
              "rotates a quarter of the batch 4 ways)")
  flags.register_validator(
      "seeds", _seeds_ok, flag_values=flag_values,
      message="expected distinct integers in [0, 2**31 - 1], comma-separated, e.g. 0,1,2")
  flags.register_multi_flags_validator(
      ["iterations_per_task", "eval_every"],
      lambda f: f["iterations_per_task"] % f["eval_every"] == 0, flag_values=flag_values,
      message="--eval_every must divide --iterations_per_task (so that the last "
              "iteration of every task is measured)")


def _seeds_ok(seeds):
  try:
    values = [int(s) for s in seeds]
  except ValueError:
    return False
  return bool(values) and len(set(values)) == len(values) and all(
      0 <= v < 2**31 for v in values)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}.")
  f = flags.FLAGS
  try:
    gin.parse_config_files_and_bindings([], f.gin_bindings)
  except (ValueError, KeyError, SyntaxError) as e:
    raise app.UsageError(f"Bad --gin_bindings: {e}") from e
  summary = run(f.out, f.dataset, f.data_dir, f.architecture, f.iterations_per_task,
                f.cycles, f.eval_every, f.batch_size, [int(s) for s in f.seeds], f.tasks)
  print(summary_lib.markdown(summary))


if __name__ == "__main__":
  define_flags()
  app.run(main)
