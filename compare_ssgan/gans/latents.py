"""The latent prior z (compare_gan's `z` / `eval_z`), BigGAN's truncation trick, and the
seeded draws of fakes for evaluation and sampling."""
import dataclasses
from typing import Optional

import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans import randomness

PRIORS = ("uniform", "normal")


@gin.configurable("z")
def sample_z(batch_size, z_dim, seed, distribution="uniform", truncation=None):
  """Draws z ~ U[-1, 1]^d (compare_gan's default) or N(0, I) (BigGAN).

  With `truncation` t, a normal z is drawn from N(0, I) truncated to [-t, t] by inverse-CDF
  sampling (exact, stateless, no rejection loop); a uniform z is drawn from U[-t, t].
  """
  validate.choice("z.distribution", distribution, PRIORS)
  if truncation is not None:
    validate.number("z.truncation", truncation, minimum=0, min_inclusive=False)
  shape = [batch_size, z_dim]
  if distribution == "uniform":
    bound = 1.0 if truncation is None else float(truncation)
    return tf.random.stateless_uniform(shape, seed, minval=-bound, maxval=bound)
  if truncation is None:
    return tf.random.stateless_normal(shape, seed)
  cdf_bound = 0.5 * (1.0 + tf.math.erf(truncation / tf.sqrt(2.0)))
  u = tf.random.stateless_uniform(shape, seed, minval=1.0 - cdf_bound, maxval=cdf_bound)
  return tf.math.ndtri(u)


def sample_labels(batch_size, num_classes, seed):
  """Uniform class ids for conditional fakes."""
  return tf.random.stateless_uniform(
      [batch_size], seed, minval=0, maxval=num_classes, dtype=tf.int32)


@dataclasses.dataclass(frozen=True)
class LatentPrior:
  """How a run's fakes are drawn: z's prior and, for a conditional G, its classes.

  `num_classes` is 0 for an unconditional generator.
  """
  z_dim: int
  distribution: str = "uniform"
  truncation: Optional[float] = None
  num_classes: int = 0


def eval_prior(z_dim, num_classes):
  """The LatentPrior the evaluator draws with: gin's `z.*` under the scope `eval`, so that
  `eval/z.truncation = 0.5` applies to evaluation and sampling only."""
  with gin.config_scope("eval"):
    bindings = gin.get_bindings(sample_z)
  return LatentPrior(z_dim, bindings.get("distribution", "uniform"),
                     bindings.get("truncation"), num_classes)


# The streams of evaluation and sampling draws, apart from training's (seed, step) draws:
# the fakes, and the batches that set G's standing BN statistics before them.
_SAMPLING_STREAM = 7
STANDING_STATISTICS_STREAM = 11


def seeded_latents(prior, num_examples, seed, batch_size, stream=_SAMPLING_STREAM):
  """Yields (batch_seed, z, labels or None) batches, `num_examples` in total.

  The one convention for drawing fakes outside training: the evaluator, the sample mode and
  exports all draw batch i from `fold_in([seed, 7], i)`, z from its "z" fold and labels
  (uniform classes, as in compare_gan) from its "labels" fold. So seed s gives the same
  images wherever they are drawn, for every batch size that divides the count alike.
  `stream` STANDING_STATISTICS_STREAM draws the batches of standing BN statistics instead.
  """
  base = tf.constant([seed, stream], tf.int32)
  for index, start in enumerate(range(0, num_examples, batch_size)):
    size = min(batch_size, num_examples - start)
    batch_seed = randomness.fold_in(base, index)
    z = sample_z(size, prior.z_dim, randomness.fold_in(batch_seed, "z"),
                 distribution=prior.distribution, truncation=prior.truncation)
    labels = None
    if prior.num_classes:
      labels = sample_labels(size, prior.num_classes,
                             randomness.fold_in(batch_seed, "labels"))
    yield batch_seed, z, labels
