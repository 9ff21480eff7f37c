r"""SS-GAN's forgetting experiment (Chen et al., "Self-Supervised GANs via Auxiliary
Rotation Loss", arXiv:1811.11212, Fig. 3): does the rotation loss keep a classifier with
D's architecture from forgetting when its task keeps changing?

  python -m compare_ssgan.experiments.forgetting --out=reports/forgetting \
      [--dataset=fashion_mnist_local] [--architecture=dcgan] [--iterations_per_task=1000] \
      [--cycles=2] [--eval_every=100] [--batch_size=64] [--seed=0] \
      [--gin_bindings='D.spectral_norm = True']

The classifier is the registered discriminator of `--architecture` (its gin knobs, e.g.
`D.spectral_norm` or `dcgan.Discriminator.ch`, from `--gin_bindings`); its logit is the
one-vs-all output. Task k is "class k vs the rest"; the task switches every
`iterations_per_task` iterations, through all classes, `cycles` times (the paper: 1k
iterations, ten CIFAR-10 tasks, two cycles = 20k iterations). Each batch is half class k
(target 1), half the other classes (target 0), drawn uniformly with replacement, interleaved
(so SS-GAN's rotated last quarter is balanced too). The run is done twice from the same
initial weights on the same batches: without and with SS-GAN's D rotation loss (the
project's `rotation` term: its head on D's features, beta = `rotation.weight_d` = 1.0, a
quarter of the batch rotated 4 ways), added to the sigmoid cross-entropy. Every
`eval_every` iterations the accuracy (logit > 0) is measured on the current task's
held-out data: all test images of class k and as many of the other classes (the first
ones in the dataset's fixed eval order), so chance is 0.5.

Adam 2e-4 (beta1 0, beta2 0.9, epsilon 1e-8): the demos' D settings. The paper gives no
optimiser, architecture or batch size for this figure. The initial weights, the train
data's order and every batch come from `--seed` (batches as stateless draws keyed on the
iteration, `gans/randomness.py`).

--out is created (or refused) before any training. Writes to it: forgetting.csv (variant,
iteration, task, accuracy), forgetting.png (both curves, task switches as dotted lines,
cycle ends dashed) and forgetting.json (the settings and, per variant, the mean accuracy at
the first evaluation after each task switch and at the end of each task).
"""
import csv
import dataclasses
import json
import math
import os

from absl import app
from absl import flags
from absl import logging
import gin
import keras
import matplotlib
import numpy as np
import tensorflow as tf

from compare_ssgan.architectures import registry
from compare_ssgan.data import datasets
from compare_ssgan.data import pipeline
from compare_ssgan.gans import randomness
from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import rotation as rotation_lib

matplotlib.use("Agg")
from matplotlib import pyplot  # pylint: disable=g-import-not-at-top,wrong-import-position

VARIANTS = ("without_rotation", "with_rotation")
CSV_NAME, PNG_NAME, JSON_NAME = "forgetting.csv", "forgetting.png", "forgetting.json"
# The demo configs' D optimiser (SS-GAN's Adam, TF1's epsilon).
ADAM = dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8)
_CHUNK = 500  # Images per D call when loading and evaluating.


def _num_examples(examples):
  if isinstance(examples, pipeline.InMemory):
    return len(examples)
  return int(tf.get_static_value(examples().cardinality()))


def load_split(ds, split, seed):
  """All of `ds`'s "train" or "test" split, as the pipelines yield it: float32 images
  [N, H, W, C] and int32 labels [N]. The train part is one epoch of the train stream
  (every example once, `seed`'s order and crops); the test part is the eval split."""
  if split == "train":
    n = _num_examples(ds.train_examples)
    batches = ds.train_input_fn(None, _CHUNK, seed=seed).take(math.ceil(n / _CHUNK))
  else:
    n = _num_examples(ds.eval_examples)
    batches = ds.eval_dataset(n, _CHUNK)
  images, labels = zip(*batches.as_numpy_iterator())
  return np.concatenate(images)[:n], np.concatenate(labels)[:n].astype(np.int32)


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

  def task(self, step):
    """The task of 0-based iteration `step` (iteration `step + 1` ends)."""
    return (step // self.iterations_per_task) % self.num_tasks


class OneVsAllBatches:
  """Balanced one-vs-all training batches drawn from images sorted by class."""

  def __init__(self, images, labels, num_classes):
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=num_classes)
    if counts.min() == 0:
      raise ValueError(f"Class {int(counts.argmin())} has no training images; every "
                       f"one-vs-all task needs some.")
    self.images = tf.constant(images[order])
    self.labels = tf.constant(labels[order])
    self.starts = tf.constant(np.cumsum(counts) - counts, tf.int32)
    self.counts = tf.constant(counts, tf.int32)
    self.size = len(labels)

  def batch(self, task, batch_size, seed):
    """Task `task`'s batch: images, float targets, class labels. Rows alternate class
    `task` (target 1) and another class (target 0, uniform over the rest's images)."""
    half = batch_size // 2
    start, count = self.starts[task], self.counts[task]
    positives = start + tf.random.stateless_uniform(
        [half], randomness.fold_in(seed, "positives"), 0, count, tf.int32)
    # An index into the images outside [start, start + count), then shifted past them.
    others = tf.random.stateless_uniform(
        [half], randomness.fold_in(seed, "negatives"), 0, self.size - count, tf.int32)
    negatives = tf.where(others < start, others, others + count)
    indices = tf.reshape(tf.stack([positives, negatives], axis=1), [-1])
    return (tf.gather(self.images, indices), tf.tile([1.0, 0.0], [half]),
            tf.gather(self.labels, indices))


def balanced_eval_indices(labels, task):
  """Every held-out image of class `task` and as many of the others (the first ones)."""
  positives = np.flatnonzero(labels == task)
  negatives = np.flatnonzero(labels != task)
  n = min(len(positives), len(negatives))
  return np.concatenate([positives[:n], negatives[:n]])


def train_variant(variant, batches, eval_sets, architecture, image_shape, schedule,
                  batch_size, seed):
  """Trains one classifier through `schedule`; returns its rows (variant, iteration,
  task, accuracy). `eval_sets[k]` = (images, targets) of task k."""
  keras.utils.set_random_seed(seed)  # Both variants start from the same weights.
  discriminator = registry.make_discriminator(architecture, image_shape)
  if discriminator.patch_output:
    raise app.UsageError("D.patch_output = True gives one logit per patch; the one-vs-all "
                         "classifier needs D's single logit (D.patch_output = False).")
  terms = []
  if variant == "with_rotation":
    terms.append(rotation_lib.rotation(rotated_batch_size=batch_size))
    terms[0].build_heads(discriminator, None)
  variables = discriminator.trainable_variables + [
      v for term in terms for v in term.trainable_variables]
  optimizer = keras.optimizers.Adam(**ADAM)
  run_seed = randomness.fold_in(tf.constant([seed, 0], tf.int32), "forgetting")

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

  def accuracy(task):
    images, targets = eval_sets[task]
    predicted = np.concatenate([logits(images[i:i + _CHUNK]).numpy() > 0
                                for i in range(0, len(images), _CHUNK)])
    return float(np.mean(predicted == targets))

  rows = []
  for step in range(schedule.total):
    task = schedule.task(step)
    train_step(tf.constant(step, tf.int32), tf.constant(task, tf.int32))
    if (step + 1) % schedule.eval_every == 0:
      rows.append({"variant": variant, "iteration": step + 1, "task": task,
                   "accuracy": accuracy(task)})
      logging.info("%s: iteration %d, task %d, accuracy %.3f", variant, step + 1, task,
                   rows[-1]["accuracy"])
  return rows


def summarize(rows, iterations_per_task):
  """Per variant: the mean (and min) accuracy at the first measurement after each task
  switch (every task but the first, which starts from scratch) and at each task's end."""
  summary = {}
  for variant in VARIANTS:
    segments = {}
    for row in rows:
      if row["variant"] == variant:
        segments.setdefault((row["iteration"] - 1) // iterations_per_task, []).append(
            row["accuracy"])
    after_switch = [values[0] for segment, values in sorted(segments.items()) if segment]
    end_of_task = [values[-1] for _, values in sorted(segments.items())]
    summary[variant] = {
        "mean_accuracy_after_switch": float(np.mean(after_switch)) if after_switch else None,
        "min_accuracy_after_switch": float(np.min(after_switch)) if after_switch else None,
        "mean_accuracy_end_of_task": float(np.mean(end_of_task)),
        "num_switches": len(after_switch)}
  return summary


def plot(rows, schedule, path, title):
  """Both variants' accuracy curves; dotted lines at task switches, dashed at cycle ends."""
  figure, axes = pyplot.subplots(figsize=(10, 4))
  for boundary in range(schedule.iterations_per_task, schedule.total,
                        schedule.iterations_per_task):
    cycle_end = boundary % (schedule.iterations_per_task * schedule.num_tasks) == 0
    axes.axvline(boundary, color="0.3" if cycle_end else "0.75",
                 linestyle="--" if cycle_end else ":", linewidth=1)
  axes.axhline(0.5, color="0.75", linewidth=1)
  for variant in VARIANTS:
    points = [(r["iteration"], r["accuracy"]) for r in rows if r["variant"] == variant]
    axes.plot(*zip(*points), label=variant.replace("_", " "), linewidth=1.2)
  axes.set(xlim=(0, schedule.total), ylim=(0.0, 1.0), xlabel="iteration",
           ylabel="accuracy on the current task (held out)", title=title)
  axes.legend(loc="lower right")
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  pyplot.close(figure)


def make_out_dir(out):
  """Creates the output folder `out`, or refuses it (before any training)."""
  try:
    tf.io.gfile.makedirs(out)
  except tf.errors.OpError as e:
    raise app.UsageError(f"--out={out}: cannot create the output folder: {e.message}") from e


def run(out, dataset, data_dir, architecture, iterations_per_task, cycles, eval_every,
        batch_size, seed):
  """The whole experiment (gin already parsed); returns the JSON summary it writes."""
  make_out_dir(out)
  ds = datasets.get_dataset(dataset, data_dir=data_dir)
  if ds.num_classes < 2:
    raise app.UsageError(f"--dataset={dataset} has {ds.num_classes} classes; the "
                         f"one-vs-all tasks need a labelled dataset (>= 2 classes).")
  train_images, train_labels = load_split(ds, "train", seed)
  test_images, test_labels = load_split(ds, "test", seed)
  batches = OneVsAllBatches(train_images, train_labels, ds.num_classes)
  eval_sets = []
  for task in range(ds.num_classes):
    indices = balanced_eval_indices(test_labels, task)
    eval_sets.append((test_images[indices], test_labels[indices] == task))
  schedule = Schedule(ds.num_classes, iterations_per_task, cycles, eval_every)
  rows = [row for variant in VARIANTS
          for row in train_variant(variant, batches, eval_sets, architecture,
                                   ds.image_shape, schedule, batch_size, seed)]
  with tf.io.gfile.GFile(os.path.join(out, CSV_NAME), "w") as f:
    writer = csv.DictWriter(f, ["variant", "iteration", "task", "accuracy"])
    writer.writeheader()
    writer.writerows(rows)
  plot(rows, schedule, os.path.join(out, PNG_NAME),
       f"One-vs-all tasks switching every {iterations_per_task} iterations "
       f"({dataset}, {architecture} D)")
  summary = {"settings": {"dataset": dataset, "architecture": architecture,
                          "iterations_per_task": iterations_per_task, "cycles": cycles,
                          "eval_every": eval_every, "batch_size": batch_size, "seed": seed,
                          "num_tasks": ds.num_classes, "adam": ADAM,
                          "eval_images_per_task": [len(s[1]) for s in eval_sets],
                          "gin": gin.config_str()},
             "summary": summarize(rows, iterations_per_task)}
  with tf.io.gfile.GFile(os.path.join(out, JSON_NAME), "w") as f:
    json.dump(summary, f, indent=2)
  return summary


def define_flags(flag_values=flags.FLAGS):
  """The command's flags (defined on demand: other commands share some of the names)."""
  fv = dict(flag_values=flag_values)
  flags.DEFINE_string("out", None, "Output folder for the CSV, PNG and JSON.",
                      required=True, **fv)
  flags.DEFINE_enum("dataset", "fashion_mnist_local", datasets.known_names(),
                    "A labelled dataset; one task per class.", **fv)
  flags.DEFINE_string("data_dir", None, "The dataset's dataset.data_dir (default: its own).",
                      **fv)
  flags.DEFINE_enum("architecture", "dcgan", sorted(registry.ARCHITECTURES),
                    "Whose discriminator is the classifier.", **fv)
  flags.DEFINE_integer("iterations_per_task", 1000, "Iterations before the task switches.",
                       lower_bound=1, **fv)
  flags.DEFINE_integer("cycles", 2, "Passes through all the tasks.", lower_bound=1, **fv)
  flags.DEFINE_integer("eval_every", 100, "Iterations between accuracy measurements; must "
                       "divide --iterations_per_task.", lower_bound=1, **fv)
  flags.DEFINE_integer("batch_size", 64, "Images per step, half positives; a multiple of "
                       "4.", lower_bound=4, **fv)
  flags.DEFINE_integer("seed", 0, "Seed of the weights, the batches and the data order.",
                       lower_bound=0, upper_bound=2**31 - 1, **fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings of the discriminator's (and "
                            "the rotation term's) knobs.", **fv)
  flags.register_validator(
      "batch_size", lambda size: size % 4 == 0, flag_values=flag_values,
      message="must be a multiple of 4 (half positives, and SS-GAN's rotation loss "
              "rotates a quarter of the batch 4 ways)")
  flags.register_multi_flags_validator(
      ["iterations_per_task", "eval_every"],
      lambda f: f["iterations_per_task"] % f["eval_every"] == 0, flag_values=flag_values,
      message="--eval_every must divide --iterations_per_task (so that the last "
              "iteration of every task is measured)")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}.")
  f = flags.FLAGS
  try:
    gin.parse_config_files_and_bindings([], f.gin_bindings)
  except (ValueError, KeyError, SyntaxError) as e:
    raise app.UsageError(f"Bad --gin_bindings: {e}") from e
  summary = run(f.out, f.dataset, f.data_dir, f.architecture, f.iterations_per_task,
                f.cycles, f.eval_every, f.batch_size, f.seed)
  print(json.dumps(summary["summary"], indent=2))


if __name__ == "__main__":
  define_flags()
  app.run(main)
