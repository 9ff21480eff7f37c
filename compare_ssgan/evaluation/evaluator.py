"""Scores one checkpoint with the configured metric tasks (metrics/tasks.py).

Tasks that need Inception outputs are scored on N fakes per repeat from
`sampler.sample(N, seed, batch_size)`, the same seeds for every checkpoint (seed,
seed + 1, ... per repeat), against the same real statistics (compare_gan's
protocol). Fakes are G's float output x255, not quantized or clipped unless
asked. A generator that outputs NaN/inf gets NaN results and a warning. Tasks
that need D (the representation probe) are scored once per checkpoint.
"""

import dataclasses
import math
import re
import time
from typing import Optional, Tuple

from absl import logging
import gin
import numpy as np

from compare_ssgan import scratch
from compare_ssgan import validate
from compare_ssgan.evaluation import results
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks as tasks_lib


PROTOCOL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
REAL_SPLITS = ("eval", "train")


@gin.configurable("evaluation")
@dataclasses.dataclass
class EvalOptions:
  """Evaluation protocol; bind as `evaluation.<field> = ...` in gin.

  Attributes:
    num_samples: fakes per repeat and reals (compare_gan: 10k; 3k CelebA-HQ,
      30k LSUN, 50k ImageNet in its v3 code).
    repeats: independent fake sets (compare_gan's num_eval_averaging_runs).
    use_ema: evaluate the EMA generator (True) or the raw one (False); None:
      the EMA one exactly when the run has one (its `GAN.g_use_ema`), as
      compare_gan does.
    metrics: registered metric tasks (tasks.names()): "fid", "kid",
      "inception_score" (needs TF's GraphDef weights), "probe" (D's
      representation probe; needs a labelled dataset), ...; each task's own
      knobs are `<name>.*` (e.g. `kid.block_size`). Default: the Inception ones.
    inception_metrics_every_steps: compute the tasks that score G's fakes only
      at checkpoints whose step is a positive multiple of this, and at the
      run's final step (`Trainer.training_steps`); None: at every checkpoint,
      step 0 too. Tasks that need D (the probe) run at every checkpoint (they
      cost seconds, a FID minutes on a CPU).
    seed: seed of the first repeat.
    sample_batch_size: generator batch size (compare_gan: 64).
    quantize_fakes: round fakes to 8-bit levels first.
    clip_fakes: clip fakes to [0, 1] first.
    results_format: "csv" or "jsonl".
    poll_interval_secs: continuous eval: wait between model_dir scans.
    timeout_secs: continuous eval: stop after this long without a new
      checkpoint (None: wait until TRAIN_DONE).
    real_stats_dir: where real statistics are cached (default: next to the
      data, else the user cache).
    protocol: the protocol's name, recorded in every result row and part of what
      identifies a checkpoint's set of rows (the files in evaluation/protocols/ set
      it, e.g. "mimicry_cifar10"; "custom" otherwise).
    real_split: where the real statistics' N images come from: "eval" (the
      dataset's eval split: CIFAR-10 test, as compare_gan and the SS-GAN paper) or
      "train" (its train split: torch-mimicry's and clean-fid's CIFAR-10
      protocol, all 50k train images).
    standing_statistics_batches: before sampling, replace G's BN moving averages by
      "standing statistics" over this many batches of `sample_batch_size` latents
      (compare_gan's accumulators, BigGAN's evaluation; 0: G's own moving averages).
      The EMA G otherwise normalizes with the raw G's averages.
  """
  num_samples: int = 10000
  repeats: int = 1
  use_ema: Optional[bool] = None
  metrics: Tuple[str, ...] = ("fid", "inception_score", "kid")
  inception_metrics_every_steps: Optional[int] = None
  seed: int = 42
  sample_batch_size: int = 64
  quantize_fakes: bool = False
  clip_fakes: bool = False
  results_format: str = "csv"
  poll_interval_secs: float = 60.0
  timeout_secs: Optional[float] = None
  real_stats_dir: Optional[str] = None
  standing_statistics_batches: int = 0
  protocol: str = results.DEFAULT_PROTOCOL
  real_split: str = "eval"

  def __post_init__(self):
    unknown = sorted(set(self.metrics) - set(tasks_lib.names()))
    if unknown:
      raise ValueError(f"Unknown metrics {unknown} in evaluation.metrics="
                       f"{tuple(self.metrics)}; known: {tasks_lib.names()}.")
    if self.inception_metrics_every_steps is not None:
      validate.integer("evaluation.inception_metrics_every_steps",
                       self.inception_metrics_every_steps, minimum=1)
    if not (self.use_ema is None or isinstance(self.use_ema, bool)):
      raise ValueError(f"evaluation.use_ema must be None (the run's "
                       f"GAN.g_use_ema), True or False; got {self.use_ema!r}.")
    validate.integer("evaluation.num_samples", self.num_samples, minimum=2)
    validate.integer("evaluation.repeats", self.repeats, minimum=1)
    validate.integer("evaluation.seed", self.seed, minimum=0)
    validate.integer("evaluation.sample_batch_size", self.sample_batch_size,
                     minimum=1)
    validate.integer("evaluation.standing_statistics_batches",
                     self.standing_statistics_batches, minimum=0)
    if not (isinstance(self.protocol, str) and PROTOCOL_NAME.fullmatch(self.protocol)):
      raise ValueError(f"evaluation.protocol must be a name of letters, digits, '_', '-' "
                       f"or '.' (it is written in every result row); got {self.protocol!r}.")
    validate.choice("evaluation.real_split", self.real_split, REAL_SPLITS)
    validate.boolean("evaluation.quantize_fakes", self.quantize_fakes)
    validate.boolean("evaluation.clip_fakes", self.clip_fakes)
    validate.choice("evaluation.results_format", self.results_format,
                    results.FORMATS)
    validate.number("evaluation.poll_interval_secs", self.poll_interval_secs,
                    minimum=0)
    if self.timeout_secs is not None:
      validate.number("evaluation.timeout_secs", self.timeout_secs, minimum=0,
                      min_inclusive=False)


def protocol_configurables():
  """The gin configurables of the evaluation protocol, which do not change training: the
  evaluator's, the Inception extractor's and every metric task's."""
  return ("evaluation", "inception.InceptionExtractor") + tasks_lib.names()


def metric_tasks(options, has_logits):
  """The requested tasks this extractor can serve: (fake-scoring tasks, D tasks)."""
  tasks = tasks_lib.make_tasks(options.metrics, has_logits)
  return ([t for t in tasks if t.scores_fakes],
          [t for t in tasks if not t.scores_fakes])


def score_fakes(sampler, extractor, real, tasks, options, seed):
  """{value name: float} for one fake set; all NaN if G output NaN/inf."""
  # Fake features that tasks keep go to a local file for this set only (memory flat in N).
  with scratch.directory("fake_features") as scratch_dir:
    try:
      fake = tasks_lib.inception_statistics(
          sampler.sample(options.num_samples, seed, options.sample_batch_size),
          extractor, options.num_samples, tasks, scratch_dir,
          quantize=options.quantize_fakes, clip=options.clip_fakes)
    except statistics.NonFiniteImagesError as e:
      logging.warning("Generator output is not finite (%s); recording NaN.", e)
      return {name: math.nan for task in tasks for name in task.value_names()}
    values = {}
    inputs = tasks_lib.EvalInputs(real=real, fake=fake)
    for task in tasks:
      values.update(task.compute(inputs))
    return values


def evaluate_generator(step, checkpoint, sampler, extractor, real, tasks,
                       options, use_ema):
  """Result rows (see results.FIELDS) for all repeats, plus mean/std rows.

  `use_ema` says which generator `sampler` draws from (recorded in each row).
  """
  rows = []
  per_value = {}
  for repeat in range(options.repeats):
    seed = options.seed + repeat
    start = time.time()
    values = score_fakes(sampler, extractor, real, tasks, options, seed)
    elapsed = time.time() - start
    for name, value in values.items():
      per_value.setdefault(name, []).append(value)
      rows.append(_row(step, name, value, options, use_ema, seed, repeat,
                       elapsed, checkpoint, resize_of(extractor)))
  if options.repeats > 1:
    for name in (n for task in tasks for n in task.averaged_names()):
      for suffix, fn in (("mean", np.mean), ("std", np.std)):
        rows.append(_row(step, f"{name}_{suffix}", fn(per_value[name]),
                         options, use_ema, options.seed, None, None,
                         checkpoint, resize_of(extractor)))
  return rows


def fake_tasks_due(step, options, final_step):
  """Whether the tasks that score G's fakes are computed at this checkpoint."""
  every = options.inception_metrics_every_steps
  # Not at step 0: the untrained G's FID says nothing a study pays minutes for.
  return every is None or (step > 0 and step % every == 0) or step == final_step


def evaluate_discriminator(step, checkpoint, discriminator, dataset, tasks, options,
                           use_ema, resize):
  """The rows of the tasks that need D (the probe: one per D block), in the set of rows
  of the fake-scoring tasks.

  They carry that set's key (n = evaluation.num_samples, the first seed, the protocol
  and the extractor's `resize`), not the tasks' own counts (e.g. `probe.num_train` /
  `num_test`), so that one checkpoint's evaluation stays one set of rows.
  """
  inputs = tasks_lib.EvalInputs(discriminator=discriminator, dataset=dataset)
  rows = []
  for task in tasks:
    start = time.time()
    values = task.compute(inputs)
    elapsed = time.time() - start
    rows += [_row(step, name, value, options, use_ema, options.seed, None, elapsed,
                  checkpoint, resize) for name, value in values.items()]
  return rows


def resize_of(extractor):
  """The extractor's Inception resize protocol (compare_gan's unless it says otherwise)."""
  return getattr(extractor, "resize", results.DEFAULT_RESIZE)


def _row(step, metric, value, options, use_ema, seed, repeat, elapsed,
         checkpoint, resize):
  return {"step": step, "metric": metric, "value": float(value),
          "n": options.num_samples, "seed": seed, "repeat": repeat,
          "use_ema": use_ema, "wall_time": time.time(),
          "eval_secs": elapsed, "checkpoint": checkpoint,
          "protocol": options.protocol, "resize": resize}
