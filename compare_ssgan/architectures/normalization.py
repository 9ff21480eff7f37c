"""Batch normalization family sharing compare_gan's `standardize_batch` core.

All layers have the call signature `(x, z=None, y=None, training=False)` so a
network can swap them by name: `z` is the latent code (self-modulated BN), `y`
the conditioning vector (conditional BN). Inputs are [N, H, W, C] or [N, C];
statistics are taken over every axis but the last. Statistics and the affine
step run in float32; the output is cast back to the layer's compute dtype.
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import ops

NORMALIZATIONS = ("none", "batch_norm", "conditional_batch_norm",
                  "self_modulated_batch_norm")
CONDITIONAL_GAINS = ("one_plus_linear", "linear")
MOMENTS = ("one_pass", "two_pass")


class StandardizeBatch(keras.layers.Layer):
  """Normalizes by batch moments (training) or moving averages (inference).

  Written out rather than taken from keras.layers.BatchNormalization to keep
  compare_gan's knobs and to give the moving averages a replica-context
  aggregation. Moving averages start at 0 / 1 and follow
  m <- decay * m + (1 - decay) * batch_moment (no zero-debiasing).

  Args:
    decay: Moving-average decay. compare_gan's default is 0.999 but every one
      of its configs uses 0.9, which is the default here.
    epsilon: Added to the variance (compare_gan default 1e-3, configs 1e-5).
    use_cross_replica_mean: None (auto) or True: synchronized
      ("cross-replica") moments whenever running in a replica context with
      more than one replica; False: each replica uses its own batch.
    unbiased_moving_variance: The moving variance follows the unbiased batch
      variance (times n / (n - 1), n values per channel), as PyTorch's
      BatchNorm does; the batch is always normalised by the biased one.
    moments: "one_pass" (compare_gan's: var = E[x^2] - E[x]^2, one all-reduce of
      both across replicas) or "two_pass" (var = E[(x - E[x])^2], as PyTorch's
      BatchNorm: a second all-reduce across replicas, and no cancellation in
      fp32 when a channel's mean is large against its spread). Equal in exact
      arithmetic; they differ in rounding only.
  """

  def __init__(self, decay, epsilon, use_cross_replica_mean,
               unbiased_moving_variance=False, moments="one_pass", **kwargs):
    super().__init__(**kwargs)
    self.decay = decay
    self.epsilon = epsilon
    self.use_cross_replica_mean = use_cross_replica_mean
    self.unbiased_moving_variance = unbiased_moving_variance
    self.moments = moments
    self.accumulated = None  # Batches averaged so far while accumulating (see below).

  def build(self, input_shape):
    c = int(input_shape[-1])
    # "mean": with synchronized moments every replica writes the same value;
    # with local moments the replicas' updates are averaged (the update is
    # linear in the moments). Either way it is a valid replica-context update
    # under MirroredStrategy and TPUStrategy.
    self.moving_mean = self.add_weight(
        name="moving_mean", shape=(c,), initializer="zeros",
        trainable=False, autocast=False, aggregation="mean")
    self.moving_variance = self.add_weight(
        name="moving_variance", shape=(c,), initializer="ones",
        trainable=False, autocast=False, aggregation="mean")

  def _synchronized(self):
    """The replica context if the moments are taken across replicas, else None."""
    ctx = tf.distribute.get_replica_context()  # None in cross-replica ctx.
    replicas = ctx.num_replicas_in_sync if ctx is not None else 1
    if replicas > 1 and self.use_cross_replica_mean is not False:
      return ctx
    return None

  def _batch_moments(self, x):
    axes = list(range(len(x.shape) - 1))
    mean = tf.reduce_mean(x, axis=axes)
    ctx = self._synchronized()
    if self.moments == "two_pass":
      if ctx is not None:
        mean = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, mean)
      variance = tf.reduce_mean(tf.square(x - mean), axis=axes)
      if ctx is not None:
        variance = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, variance)
      return mean, variance
    mean_sq = tf.reduce_mean(tf.square(x), axis=axes)
    if ctx is not None:
      # The "parallel" formula: global E[x] and E[x^2] as the mean over
      # replicas (equal per-replica batches), var = E[x^2] - E[x]^2.
      mean, mean_sq = ctx.all_reduce(tf.distribute.ReduceOp.MEAN,
                                     [mean, mean_sq])
    # The one-pass formula can go slightly negative through rounding.
    return mean, tf.maximum(mean_sq - tf.square(mean), 0.0)

  def _moving_variance_target(self, x, variance):
    """The batch variance the moving average follows (unbiased if so configured)."""
    if not self.unbiased_moving_variance:
      return variance
    n = x.shape[:-1].num_elements()
    ctx = self._synchronized()
    if ctx is not None:
      n *= ctx.num_replicas_in_sync
    if n is None or n < 2:
      raise ValueError("standardize_batch.unbiased_moving_variance needs a static batch of "
                       f"at least 2 values per channel; got input shape {x.shape}.")
    return variance * (n / (n - 1.0))

  def call(self, x, training=False):
    x = tf.cast(x, tf.float32)
    if training:
      mean, variance = self._batch_moments(x)
      d = self.decay
      self.moving_mean.assign(d * self.moving_mean + (1.0 - d) * mean)
      self.moving_variance.assign(
          d * self.moving_variance +
          (1.0 - d) * self._moving_variance_target(x, variance))
    elif self.accumulated is not None:  # standing_statistics: eager calls only.
      mean, variance = self._batch_moments(x)
      t = float(self.accumulated)
      self.moving_mean.assign((t * self.moving_mean + mean) / (t + 1.0))
      self.moving_variance.assign((t * self.moving_variance + variance) / (t + 1.0))
      self.accumulated += 1
      # The average so far, this batch included, normalizes (compare_gan's accumulators).
      mean = tf.convert_to_tensor(self.moving_mean)
      variance = tf.convert_to_tensor(self.moving_variance)
    else:
      mean = tf.convert_to_tensor(self.moving_mean)
      variance = tf.convert_to_tensor(self.moving_variance)
    return (x - mean) * tf.math.rsqrt(variance + self.epsilon)


def standing_statistics(network, inputs):
  """Replaces the moving averages of every BN core in `network` by "standing statistics".

  compare_gan's accumulators (its `use_moving_averages=False`, used for BigGAN's evaluation):
  the network runs in inference mode on each of `inputs` ((z, y) batches) while every core
  averages its batch moments over the batches so far and normalizes with that average, this
  batch included. Afterwards each core's moving mean and variance are the mean of its batch
  moments over all the batches. Runs eagerly. Returns the number of cores (0: no BN).
  """
  cores = [layer for layer in network._flatten_layers(include_self=False)  # pylint: disable=protected-access
           if isinstance(layer, StandardizeBatch)]
  for core in cores:
    core.accumulated = 0
  try:
    for z, y in inputs:
      network(z, y, training=False)
  finally:
    for core in cores:
      core.accumulated = None
  return len(cores)


@gin.configurable("standardize_batch",
                  allowlist=["decay", "epsilon", "use_cross_replica_mean",
                             "unbiased_moving_variance", "moments"])
def make_standardize_batch(decay=0.9, epsilon=1e-5,
                           use_cross_replica_mean=None,
                           unbiased_moving_variance=False, moments="one_pass",
                           name="standardize"):
  """The BN core with the gin-configured settings (see StandardizeBatch)."""
  validate.number("standardize_batch.decay", decay, minimum=0, maximum=1, max_inclusive=False)
  validate.number("standardize_batch.epsilon", epsilon, minimum=0, min_inclusive=False)
  validate.boolean("standardize_batch.unbiased_moving_variance", unbiased_moving_variance)
  validate.choice("standardize_batch.moments", moments, MOMENTS)
  return StandardizeBatch(decay, epsilon, use_cross_replica_mean,
                          unbiased_moving_variance, moments, name=name)


def _per_example(t, rank):
  """Reshapes per-example [N, C] parameters to broadcast over [N, H, W, C]."""
  t = tf.cast(t, tf.float32)
  return t[:, None, None, :] if rank == 4 else t


class NoNorm(keras.layers.Layer):
  """Identity with the normalization call signature ("none")."""

  def call(self, x, z=None, y=None, training=False):
    del z, y, training
    return x


class BatchNorm(keras.layers.Layer):
  """Standardize, then per-channel trainable gamma (1) and beta (0)."""

  def __init__(self, num_channels, **kwargs):
    super().__init__(**kwargs)
    self.num_channels = num_channels
    self.standardize = make_standardize_batch()

  def build(self, input_shape):
    del input_shape
    self.gamma = self.add_weight(name="gamma", shape=(self.num_channels,),
                                 initializer="ones", autocast=False)
    self.beta = self.add_weight(name="beta", shape=(self.num_channels,),
                                initializer="zeros", autocast=False)

  def call(self, x, z=None, y=None, training=False):
    del z, y
    out = self.standardize(x, training=training) * self.gamma + self.beta
    return tf.cast(out, self.compute_dtype)


class ConditionalBatchNorm(ops.BuildsOnFirstCall, keras.layers.Layer):
  """Standardize, then gamma = 1 + W_g y (or W_g y) and beta = W_b y (no biases).

  The "+1" centres the initial gain at 1; compare_gan omits it, which makes the
  gains start near 0 under N(0, 0.02) init. `gain` selects:
  "one_plus_linear" (1 + W_g y, the fix) or "linear" (W_g y, compare_gan's).
  """

  def __init__(self, num_channels, use_sn=False, gain="one_plus_linear",
               **kwargs):
    super().__init__(**kwargs)
    validate.choice("conditional_batch_norm.gain", gain, CONDITIONAL_GAINS)
    self.gain_offset = 1.0 if gain == "one_plus_linear" else 0.0
    self.standardize = make_standardize_batch()
    self.gamma = ops.Dense(num_channels, use_bias=False, use_sn=use_sn,
                           name="gamma")
    self.beta = ops.Dense(num_channels, use_bias=False, use_sn=use_sn,
                          name="beta")

  def call(self, x, z=None, y=None, training=False):
    del z
    if y is None:
      raise ValueError("conditional_batch_norm needs the conditioning y.")
    rank = len(x.shape)
    gamma = self.gain_offset + _per_example(self.gamma(y), rank)
    beta = _per_example(self.beta(y), rank)
    out = self.standardize(x, training=training) * gamma + beta
    return tf.cast(out, self.compute_dtype)


@gin.configurable("conditional_batch_norm", allowlist=["gain"])
def make_conditional_batch_norm(num_channels, use_sn, name,
                                gain="one_plus_linear"):
  """cBN with gin `conditional_batch_norm.gain` (see ConditionalBatchNorm)."""
  return ConditionalBatchNorm(num_channels, use_sn=use_sn, gain=gain,
                              name=name)


class SelfModulatedBatchNorm(ops.BuildsOnFirstCall, keras.layers.Layer):
  """Self-modulation (Chen et al., 2018): gamma and beta are MLPs of z.

  h = relu(W_h z + b_h) (skipped when num_hidden == 0); gamma = W_g h + b_g
  with b_g initialised to 1; beta = W_b h + b_b.
  """

  def __init__(self, num_channels, use_sn, num_hidden, **kwargs):
    super().__init__(**kwargs)
    self.standardize = make_standardize_batch()
    self.hidden = (ops.Dense(num_hidden, use_sn=use_sn, name="hidden")
                   if num_hidden > 0 else None)
    self.gamma = ops.Dense(num_channels, use_sn=use_sn, bias_start=1.0,
                           name="gamma")
    self.beta = ops.Dense(num_channels, use_sn=use_sn, name="beta")

  def call(self, x, z=None, y=None, training=False):
    del y
    if z is None:
      raise ValueError("self_modulated_batch_norm needs the latent z.")
    h = tf.nn.relu(self.hidden(z)) if self.hidden is not None else z
    rank = len(x.shape)
    gamma = _per_example(self.gamma(h), rank)
    beta = _per_example(self.beta(h), rank)
    out = self.standardize(x, training=training) * gamma + beta
    return tf.cast(out, self.compute_dtype)


@gin.configurable("self_modulated_batch_norm", allowlist=["num_hidden"])
def make_self_modulated_batch_norm(num_channels, use_sn, name, num_hidden=32):
  """sBN with gin `self_modulated_batch_norm.num_hidden` (compare_gan: 32)."""
  validate.integer("self_modulated_batch_norm.num_hidden", num_hidden, minimum=0)
  return SelfModulatedBatchNorm(num_channels, use_sn, num_hidden, name=name)


def make_norm(kind, num_channels, use_sn=False, name=None):
  """Returns the normalization layer named `kind` (one of NORMALIZATIONS)."""
  if kind == "none":
    return NoNorm(name=name)
  if kind == "batch_norm":
    return BatchNorm(num_channels, name=name)
  if kind == "conditional_batch_norm":
    return make_conditional_batch_norm(num_channels, use_sn, name)
  if kind == "self_modulated_batch_norm":
    return make_self_modulated_batch_norm(num_channels, use_sn, name)
  raise ValueError(f"Unknown batch norm {kind!r}; expected one of "
                   f"{NORMALIZATIONS}.")
