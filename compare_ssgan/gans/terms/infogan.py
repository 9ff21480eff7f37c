"""InfoGAN latent codes (Chen et al., "InfoGAN: Interpretable Representation Learning by
Information Maximizing Generative Adversarial Nets", arXiv 1606.03657), on any architecture.

The last `code_dim` entries of z are replaced by codes c: one-hot categorical codes and
continuous codes ~ U(-1, 1), so G's input size does not change. A Q head on D's final
features predicts c; the variational mutual-information bound gives
  L_I = sum_k CE(c_k, Q_k) + continuous_weight * sum_j 0.5 (c_j - mu_j)^2
(a factored Gaussian with unit variance; constants dropped). Both players minimise
weight * L_I: in the D step (fakes stop-gradient) it trains D's body and Q, which the D
optimizer owns; in the G step it trains G through D and Q. weight = 1 is the lambda the
paper recommends for discrete codes.
"""
import math

import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import ops
from compare_ssgan.gans.terms import base
from compare_ssgan.gans import randomness

LAYOUTS = ("random", "rows")


@gin.configurable("infogan_codes", allowlist=["layout"])
def sample_codes(batch_size, seed, categorical_dims, num_continuous, layout="random"):
  """Codes [batch, sum(categorical_dims) + num_continuous].

  layout="rows" (bind it under the `eval` scope for the sample grid) gives image i of a
  square grid with ceil(sqrt(batch)) columns the category (i // columns) mod dim for every
  categorical code and 0 for continuous codes: each grid row shows one category.
  """
  validate.choice("infogan_codes.layout", layout, LAYOUTS)
  codes = []
  for index, dim in enumerate(categorical_dims):
    if layout == "rows":
      columns = math.ceil(math.sqrt(batch_size)) if isinstance(batch_size, int) else (
          tf.cast(tf.math.ceil(tf.sqrt(tf.cast(batch_size, tf.float32))), tf.int32))
      ids = (tf.range(batch_size) // columns) % dim
    else:
      ids = tf.random.stateless_uniform([batch_size], randomness.fold_in(seed, index),
                                        0, dim, tf.int32)
    codes.append(tf.one_hot(ids, dim))
  if num_continuous:
    shape = [batch_size, num_continuous]
    codes.append(tf.zeros(shape) if layout == "rows" else tf.random.stateless_uniform(
        shape, randomness.fold_in(seed, "continuous"), -1.0, 1.0))
  return tf.concat(codes, axis=1)


class InfoGANTerm(base.AuxiliaryTerm):
  """Codes in z, a Q head on D's features, and the MI loss for D/Q and for G."""

  optimizer = "discriminator"

  def __init__(self, categorical_dims, num_continuous, weight, continuous_weight,
               hidden_dim):
    super().__init__(name="infogan")
    self.categorical_dims = tuple(
        validate.integer(f"infogan.categorical_dims[{index}]", dim, minimum=2)
        for index, dim in enumerate(categorical_dims))
    validate.integer("infogan.num_continuous", num_continuous, minimum=0)
    validate.number("infogan.weight", weight, minimum=0)
    validate.number("infogan.continuous_weight", continuous_weight, minimum=0)
    validate.integer("infogan.hidden_dim", hidden_dim, minimum=0)
    if not self.categorical_dims and not num_continuous:
      raise ValueError("infogan needs at least one categorical or continuous code.")
    self.num_continuous = int(num_continuous)
    self.code_dim = sum(self.categorical_dims) + self.num_continuous
    self.weight = weight
    self.continuous_weight = continuous_weight
    self.hidden_dim = hidden_dim
    self.metric_names = (("info_categorical_loss", "info_categorical_accuracy")
                         if self.categorical_dims else ()) + (
                             ("info_continuous_loss",) if self.num_continuous else ())
    self.hidden = self.output_layer = None

  def build_heads(self, discriminator, generator):
    if generator.z_dim <= self.code_dim:
      raise ValueError(f"infogan: z_dim={generator.z_dim} leaves no noise next to "
                       f"{self.code_dim} code dimensions; raise GAN.z_dim.")
    sn = discriminator.spectral_norm
    self.hidden = (ops.Dense(self.hidden_dim, use_sn=sn, name="q_hidden")
                   if self.hidden_dim else None)
    self.output_layer = ops.Dense(self.code_dim, use_sn=sn, name="q_output")
    self._predict(tf.zeros([1, discriminator.feature_dim]))

  def _predict(self, features):
    h = features
    if self.hidden is not None:
      h = tf.nn.leaky_relu(self.hidden(h), 0.1)
    return tf.cast(self.output_layer(h), tf.float32)

  def transform_latents(self, z, seed):
    codes = randomness.replica_slice(
        lambda n, s: sample_codes(n, s, self.categorical_dims, self.num_continuous),
        tf.shape(z)[0], seed)
    return tf.concat([z[:, :-self.code_dim], tf.cast(codes, z.dtype)], axis=1)

  def mutual_information_loss(self, features, z):
    """weight * L_I and its parts, for fakes with D features `features` made from `z`."""
    predicted = tf.split(self._predict(features),
                         list(self.categorical_dims) + [self.num_continuous], axis=1)
    codes = tf.split(z[:, -self.code_dim:], list(self.categorical_dims) +
                     [self.num_continuous], axis=1)
    loss, metrics = tf.constant(0.0), {}
    if self.categorical_dims:
      ce, correct = [], []
      for logits, one_hot in zip(predicted[:-1], codes[:-1]):
        ce.append(tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(one_hot, logits)))
        correct.append(tf.equal(tf.argmax(logits, -1), tf.argmax(one_hot, -1)))
      metrics["info_categorical_loss"] = tf.add_n(ce)
      metrics["info_categorical_accuracy"] = tf.reduce_mean(tf.cast(correct, tf.float32))
      loss += metrics["info_categorical_loss"]
    if self.num_continuous:
      nll = tf.reduce_mean(tf.reduce_sum(0.5 * tf.square(codes[-1] - predicted[-1]), -1))
      metrics["info_continuous_loss"] = nll
      loss += self.continuous_weight * nll
    return self.weight * loss, metrics

  def d_step_loss(self, ctx, outputs):
    return self.mutual_information_loss(outputs["fake"].features, ctx.z)

  def g_step_loss(self, ctx, outputs):
    loss, _ = self.mutual_information_loss(outputs["fake"].features, ctx.z)
    return loss, {}


@gin.configurable("infogan")
def infogan(categorical_dims=(10,), num_continuous=0, weight=1.0, continuous_weight=1.0,
            hidden_dim=128):
  """The InfoGAN term (`GAN.auxiliary_terms = [@infogan()]`).

  Args:
    categorical_dims: the number of categories of each categorical code.
    num_continuous: how many U(-1, 1) continuous codes.
    weight: lambda on L_I, in both D's and G's loss.
    continuous_weight: extra factor on the continuous codes' Gaussian NLL.
    hidden_dim: Q's hidden layer (lrelu) width; 0 for a linear Q.
  """
  return InfoGANTerm(categorical_dims, num_continuous, weight, continuous_weight,
                     hidden_dim)
