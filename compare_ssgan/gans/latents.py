"""The latent prior z (compare_gan's `z` / `eval_z`) and BigGAN's truncation trick."""
import gin
import tensorflow as tf

from compare_ssgan import validate

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
