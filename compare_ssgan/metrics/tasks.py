"""Each metric as one small plug-in object (compare_gan's EvalTask).

A task is a class registered with `@register`: it has a `name` (what `evaluation.metrics`
and the two-set command's `--metrics` accept), its own gin knobs (its constructor's
arguments, bound as `<name>.<knob>`), declares in `needs` what it is computed from, and
computes {value name: float} from an `EvalInputs`. The evaluator computes each input once
for all the tasks that need it:

  INCEPTION_MOMENTS   mean and covariance of the pool_3 features of reals and fakes
  INCEPTION_FEATURES  every pool_3 feature of both sets (on disk; KID, nearest neighbours)
  INCEPTION_LOGITS    the fakes' Inception logits (only TF's GraphDef weights have them)
  DISCRIMINATOR       the checkpoint's D and the run's dataset (not G's fakes)

Tasks that need Inception outputs are scored on each repeat's fake set; tasks that need D
once per checkpoint. A new metric is one registered class (here or in its own module that
this package's __init__ imports) plus its test.
"""
import dataclasses
import os
from typing import Any, Optional

from absl import logging
import gin

from compare_ssgan import validate
from compare_ssgan.metrics import manifold
from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics

INCEPTION_MOMENTS = "inception_moments"
INCEPTION_FEATURES = "inception_features"
INCEPTION_LOGITS = "inception_logits"
DISCRIMINATOR = "discriminator"
INCEPTION_NEEDS = frozenset({INCEPTION_MOMENTS, INCEPTION_FEATURES, INCEPTION_LOGITS})

_REGISTRY = {}


def register(cls):
  """Class decorator: makes a MetricTask subclass available under its `name`."""
  if not cls.name or cls.name in _REGISTRY:
    raise ValueError(f"A metric task needs a unique name; {cls.__name__} has "
                     f"{cls.name!r} (registered: {sorted(_REGISTRY)}).")
  unknown = set(cls.needs) - INCEPTION_NEEDS - {DISCRIMINATOR}
  if unknown:
    raise ValueError(f"{cls.__name__}.needs has unknown inputs {sorted(unknown)}.")
  _REGISTRY[cls.name] = cls
  return cls


def names(scoring_fakes=None):
  """The registered task names, sorted; with `scoring_fakes` True (False) only those that
  are (are not) scored on G's fakes."""
  return tuple(sorted(name for name, cls in _REGISTRY.items()
                      if scoring_fakes is None
                      or bool(cls.needs & INCEPTION_NEEDS) == scoring_fakes))


@dataclasses.dataclass
class EvalInputs:
  """What a task is computed from; only what some task needs is filled in.

  real, fake: statistics.FeatureStatistics of the reals and of one fake set.
  discriminator, dataset: the checkpoint's D and the run's data (pipeline.Dataset).
  """
  real: Optional[Any] = None
  fake: Optional[Any] = None
  discriminator: Optional[Any] = None
  dataset: Optional[Any] = None


class MetricTask:
  """Base class of the plug-ins (see the module docstring)."""
  name = None
  needs = frozenset()

  def value_names(self):
    """Names of the values `compute` returns, where they are known before computing."""
    return (self.name,)

  def averaged_names(self):
    """Values that get mean/std rows over repeats (not per-set error bars)."""
    return (self.name,)

  def check(self, dataset):
    """Refuses, before any checkpoint is scored, a dataset the task cannot use."""

  def check_sizes(self, num_real, num_fake):
    """Refuses, before any feature is extracted, set sizes the task cannot score."""

  def compute(self, inputs):
    """{value name: float} from an EvalInputs."""
    raise NotImplementedError

  @property
  def scores_fakes(self):
    """Whether it is scored on G's fakes (per repeat), not once per checkpoint."""
    return bool(self.needs & INCEPTION_NEEDS)


@register
@gin.configurable("fid")
class FrechetInceptionDistance(MetricTask):
  name = "fid"
  needs = frozenset({INCEPTION_MOMENTS})

  def compute(self, inputs):
    real, fake = inputs.real, inputs.fake
    return {"fid": scores.frechet_distance(real.mu, real.sigma, fake.mu, fake.sigma)}


@register
@gin.configurable("inception_score")
class InceptionScore(MetricTask):
  """IS of the fake set over `splits` consecutive splits (1: compare_gan, all at once;
  10: the original IS code); with splits > 1 also the std over splits."""
  name = "inception_score"
  needs = frozenset({INCEPTION_LOGITS})

  def __init__(self, splits=1):
    validate.integer("inception_score.splits", splits, minimum=1)
    self.splits = splits

  def value_names(self):
    if self.splits > 1:
      return ("inception_score", "inception_score_std")
    return ("inception_score",)

  def compute(self, inputs):
    values = {"inception_score": inputs.fake.inception_score}
    if self.splits > 1:
      values["inception_score_std"] = inputs.fake.inception_score_std
    return values


@register
@gin.configurable("kid")
class KernelInceptionDistance(MetricTask):
  """KID and its standard error over blocks of `block_size` (TF-GAN: 1024)."""
  name = "kid"
  needs = frozenset({INCEPTION_FEATURES})

  def __init__(self, block_size=1024):
    # KID's unbiased MMD needs two samples per block.
    validate.integer("kid.block_size", block_size, minimum=2)
    self.block_size = block_size
    self._explained_nan_stderr = False

  def value_names(self):
    return ("kid", "kid_stderr")

  def check_sizes(self, num_real, num_fake):
    blocks = scores.kid_num_blocks(num_real, num_fake, self.block_size)
    if min(num_real, num_fake) < 2 * blocks:
      raise ValueError(
          f"KID cuts {num_real} real and {num_fake} fake samples into {blocks} blocks of "
          f"kid.block_size={self.block_size} at most and needs 2 samples of each set per "
          f"block; raise kid.block_size to at least {max(num_real, num_fake)} or use "
          "sets of more equal size.")

  def compute(self, inputs):
    real, fake = inputs.real.features, inputs.fake.features
    num_real, num_fake = len(real), len(fake)
    if (scores.kid_num_blocks(num_real, num_fake, self.block_size) == 1
        and not self._explained_nan_stderr):
      logging.warning(
          "KID's standard error needs at least 2 blocks of kid.block_size=%d samples; %d "
          "real and %d fake samples make one, so kid_stderr is reported as NaN (use more "
          "samples or a smaller kid.block_size).", self.block_size, num_real, num_fake)
      self._explained_nan_stderr = True  # Once: every repeat and checkpoint is the same.
    kid, stderr = scores.kernel_inception_distance(real, fake, self.block_size)
    return {"kid": kid, "kid_stderr": stderr}


@register
@gin.configurable("prdc")
class PrecisionRecallDensityCoverage(MetricTask):
  """Improved precision / recall (k = `precision_recall_k`, 3 as Kynkaanniemi et al.) and
  density / coverage (k = `density_coverage_k`, 5 as Naeem et al.) on the pool_3 features
  (StudioGAN's choice of features); see manifold.py. The reals' radii are computed once per
  real feature set, not at every checkpoint."""
  name = "prdc"
  needs = frozenset({INCEPTION_FEATURES})

  def __init__(self, precision_recall_k=3, density_coverage_k=5, block_size=2048):
    validate.integer("prdc.precision_recall_k", precision_recall_k, minimum=1)
    validate.integer("prdc.density_coverage_k", density_coverage_k, minimum=1)
    validate.integer("prdc.block_size", block_size, minimum=1)
    self.ks = (precision_recall_k, density_coverage_k)
    self.block_size = block_size
    self._real_radii = (None, None)  # (the real features object, its radii)

  def value_names(self):
    return ("precision", "recall", "density", "coverage")

  def averaged_names(self):
    return self.value_names()

  def check_sizes(self, num_real, num_fake):
    k_pr, k_dc = self.ks
    if num_real < max(self.ks) + 1 or num_fake < k_pr + 1:
      raise ValueError(
          f"prdc needs more than k samples in a set (precision_recall_k={k_pr}, "
          f"density_coverage_k={k_dc}): got {num_real} real and {num_fake} fake.")

  def compute(self, inputs):
    real, fake = inputs.real.features, inputs.fake.features
    if self._real_radii[0] is not real:  # The evaluator reuses one object per real set.
      self._real_radii = (real, manifold.neighbour_radii(real, self.ks, self.block_size))
    result = manifold.precision_recall_density_coverage(
        real, fake, *self.ks, block_size=self.block_size, real_radii=self._real_radii[1])
    return dataclasses.asdict(result)


def make_tasks(task_names, has_logits=True):
  """The gin-configured task objects for `task_names`, in the order given, without those
  that need logits when the extractor has none (said once)."""
  unknown = [name for name in task_names if name not in _REGISTRY]
  if unknown:
    raise ValueError(f"Unknown metrics {unknown}; known: {list(names())}.")
  tasks = [_REGISTRY[name]() for name in task_names]
  dropped = [t.name for t in tasks if INCEPTION_LOGITS in t.needs and not has_logits]
  if dropped:
    logging.warning(
        "%s need the Inception logits, which these weights (the TorchScript port) lack; "
        "computing %s only. For them set inception.InceptionExtractor.weights_source "
        "(compare's --inception_weights) to \"graphdef_2015_12_05\" (TF's 2015-12-05 graph, "
        "fetched into the cache) or to TF's GraphDef .pb.",
        dropped, [t.name for t in tasks if t.name not in dropped])
  return [t for t in tasks if t.name not in dropped]


def needs(tasks):
  """The union of the tasks' needs."""
  return frozenset().union(*(t.needs for t in tasks))


def inception_statistics(batches, extractor, num_samples, tasks, scratch_dir,
                         **extractor_kwargs):
  """statistics.compute_statistics of an image stream with what these tasks need: the
  features kept (in `scratch_dir`) for INCEPTION_FEATURES, IS over InceptionScore's splits."""
  splits = [t.splits for t in tasks if isinstance(t, InceptionScore)]
  features_path = (os.path.join(scratch_dir, "features.npy")
                   if INCEPTION_FEATURES in needs(tasks) else None)
  return statistics.compute_statistics(
      batches, extractor, num_samples, features_path=features_path,
      inception_score_splits=splits[0] if splits else 1, **extractor_kwargs)
