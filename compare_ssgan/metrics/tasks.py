"""Each metric as one small object (compare_gan's EvalTask).

A task says what it needs and what it reports, and computes its values from the
real and the fake `statistics.FeatureStatistics`. The evaluator and the two-set
command loop over the configured tasks, so a new metric is one class here plus
its entry in `make_tasks`.
"""

from absl import logging

from compare_ssgan.metrics import scores


class MetricTask:
  """Base class. `name` is what `evaluation.metrics` and `--metrics` accept.

  Attributes:
    keeps_features: needs all pool_3 features of both sets, not just moments.
    needs_logits: needs the Inception logits (only TF's GraphDef weights).
  """
  name = None
  keeps_features = False
  needs_logits = False

  def value_names(self):
    """Names of the values `compute` returns, in order."""
    return (self.name,)

  def averaged_names(self):
    """Values that get mean/std rows over repeats (not per-set error bars)."""
    return (self.name,)

  def compute(self, real, fake):
    """{value name: float} from real and fake statistics."""
    raise NotImplementedError


class FrechetInceptionDistance(MetricTask):
  name = "fid"

  def compute(self, real, fake):
    return {"fid": scores.frechet_distance(real.mu, real.sigma, fake.mu,
                                           fake.sigma)}


class InceptionScore(MetricTask):
  """IS of the fake set; with splits > 1 also the std over splits."""
  name = "inception_score"
  needs_logits = True

  def __init__(self, splits=1):
    self.splits = splits

  def value_names(self):
    if self.splits > 1:
      return ("inception_score", "inception_score_std")
    return ("inception_score",)

  def compute(self, real, fake):
    del real
    values = {"inception_score": fake.inception_score}
    if self.splits > 1:
      values["inception_score_std"] = fake.inception_score_std
    return values


class KernelInceptionDistance(MetricTask):
  """KID and its standard error over blocks of `block_size`."""
  name = "kid"
  keeps_features = True

  def __init__(self, block_size=1024):
    self.block_size = block_size
    self._explained_nan_stderr = False

  def value_names(self):
    return ("kid", "kid_stderr")

  def compute(self, real, fake):
    num_real, num_fake = len(real.features), len(fake.features)
    if (scores.kid_num_blocks(num_real, num_fake, self.block_size) == 1
        and not self._explained_nan_stderr):
      logging.warning(
          "KID's standard error needs at least 2 blocks of kid_block_size=%d samples; %d "
          "real and %d fake samples make one, so kid_stderr is reported as NaN (use more "
          "samples or a smaller kid_block_size).", self.block_size, num_real, num_fake)
      self._explained_nan_stderr = True  # Once: every repeat and checkpoint is the same.
    kid, stderr = scores.kernel_inception_distance(
        real.features, fake.features, self.block_size)
    return {"kid": kid, "kid_stderr": stderr}


NAMES = ("fid", "inception_score", "kid")


def check_names(names):
  unknown = set(names) - set(NAMES)
  if unknown:
    raise ValueError(f"Unknown metrics {sorted(unknown)}; known: {NAMES}.")


def make_tasks(names, inception_score_splits=1, kid_block_size=1024):
  """Task objects for metric names (a subset of NAMES), in the order given."""
  check_names(names)
  factories = {
      "fid": FrechetInceptionDistance,
      "inception_score": lambda: InceptionScore(inception_score_splits),
      "kid": lambda: KernelInceptionDistance(kid_block_size),
  }
  return [factories[name]() for name in names]


def available(tasks, has_logits):
  """The tasks an extractor can serve; warns once about any it drops."""
  dropped = [t.name for t in tasks if t.needs_logits and not has_logits]
  if dropped:
    logging.warning(
        "%s need the Inception logits, which these weights (the TorchScript "
        "port) lack; computing %s only. Use TF's GraphDef .pb as the Inception "
        "weights (inception.InceptionExtractor.weights_source, or compare's "
        "--inception_weights) for them.",
        dropped, [t.name for t in tasks if t.name not in dropped])
  return [t for t in tasks if t.name not in dropped]


def keeps_features(tasks):
  """Whether any task needs the pool_3 features kept."""
  return any(t.keeps_features for t in tasks)
