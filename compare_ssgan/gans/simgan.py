"""SimGAN ("Similarity GAN"): a cosine-similarity adversarial loss compared within label groups.

A replacement for the adversarial loss, from the blog write-up "GANs: utilization, loss,
training, code and SimGAN" (not Apple's refiner SimGAN), built on PyTorch's
`CosineEmbeddingLoss` with margin 0: a pair (a, b) costs 1 - cos(a, b) with target +1 and
max(0, cos(a, b)) with target -1. The cosines are taken between the critic's per-image
output vectors, so the critic must be a patch critic (`D.patch_output = True`: logits
[N, patches]); a scalar logit has a cosine of +-1 and no gradient, and is rejected. D's
pooled features h are not used: they are the trunk's, not the critic's, output.

The batch is cut into groups of equal label (the whole batch is one group when the GAN is
unconditional); like every loss here it sees one replica's part of the batch. A group counts
only if it has both reals and fakes; every group that counts weighs the same, and with none
the grouped terms are 0. Per group, with m_r and m_f its mean real and mean fake outputs:
  G:  0.5 * (mean_j (1 - cos(m_f, r_j)) + mean_i (1 - cos(f_i, m_r))), reals held fixed;
      g_loss = 0.5 * (average of that over groups + (1 - cos(batch m_f, batch m_r))).
  D:  mean_i max(0, cos(f_i, m_r)) + mean_j max(0, cos(r_j, m_f)), both sides trained;
      averaged over groups (d_fake and d_real are the two parts).
`simgan_loss.critic_loss = None` trains D with that critic loss ("G and D"); any other loss
(e.g. `@hinge`) trains D instead ("G only"), as the write-up uses the G loss with any critic.
"""
import gin
import tensorflow as tf

from compare_ssgan.gans import losses


def _cosine(a, b):
  """Row-wise cos(a_i, b_i); l2_normalize's epsilon makes it 0 for a zero vector."""
  return tf.reduce_sum(tf.math.l2_normalize(a, axis=1) * tf.math.l2_normalize(b, axis=1),
                       axis=1)


def _same_label(a, b):
  return tf.cast(tf.equal(a[:, None], b[None, :]), tf.float32)


def cosines_to_group_means(rows, row_labels, others, other_labels):
  """cos(row_i, mean of the `others` in row_i's group), and row_i's weight.

  The weights are 1 / (rows in row_i's group) where the group has `others`, else 0, so
  that `_group_average` gives every group that counts the same weight.
  """
  to_others = _same_label(row_labels, other_labels)
  others_count = tf.reduce_sum(to_others, axis=1)
  group_means = tf.math.divide_no_nan(tf.matmul(to_others, others), others_count[:, None])
  rows_count = tf.reduce_sum(_same_label(row_labels, row_labels), axis=1)
  weights = tf.where(others_count > 0, 1.0 / rows_count, 0.0)
  return _cosine(rows, group_means), weights


def _group_average(per_row, weights):
  return tf.math.divide_no_nan(tf.reduce_sum(per_row * weights), tf.reduce_sum(weights))


@gin.configurable("simgan_loss")
class SimGANLoss:
  """The loss for `GAN.loss_fn = @simgan_loss()`; see the module docstring.

  Args:
    critic_loss: None: D minimises the SimGAN critic loss. Otherwise a loss of losses.py
      (e.g. `@hinge`) whose d_loss trains D; G always minimises the SimGAN G loss.
  """

  uses_real_logits_in_g_step = True
  uses_labels = True

  def __init__(self, critic_loss=None):
    if critic_loss is not None and (not callable(critic_loss) or
                                    losses.uses_labels(critic_loss)):
      raise ValueError(f"simgan_loss.critic_loss must be None (the SimGAN critic) or a "
                       f"logits-only loss such as @hinge; got {critic_loss!r}.")
    self.critic_loss = critic_loss

  def __call__(self, real_logits, fake_logits, real_labels=None, fake_labels=None):
    for name, logits in (("real_logits", real_logits), ("fake_logits", fake_logits)):
      if logits.shape.rank != 2 or logits.shape[-1] is None or logits.shape[-1] < 2:
        raise ValueError(f"simgan_loss compares critic output vectors; {name} has shape "
                         f"{logits.shape}, not [N, patches]: set D.patch_output = True.")
    if real_labels is None or fake_labels is None:  # Unconditional: one group.
      real_labels = tf.zeros(tf.shape(real_logits)[:1], tf.int32)
      fake_labels = tf.zeros(tf.shape(fake_logits)[:1], tf.int32)
    g_loss = self._generator_loss(tf.stop_gradient(real_logits), fake_logits,
                                  real_labels, fake_labels)
    if self.critic_loss is not None:
      return self.critic_loss(real_logits, fake_logits)._replace(g_loss=g_loss)
    real_cos, real_weights = cosines_to_group_means(real_logits, real_labels,
                                                    fake_logits, fake_labels)
    fake_cos, fake_weights = cosines_to_group_means(fake_logits, fake_labels,
                                                    real_logits, real_labels)
    d_real = _group_average(tf.nn.relu(real_cos), real_weights)
    d_fake = _group_average(tf.nn.relu(fake_cos), fake_weights)
    return losses.AdversarialLoss(d_real + d_fake, d_real, d_fake, g_loss)

  @staticmethod
  def _generator_loss(real, fake, real_labels, fake_labels):
    real_cos, real_weights = cosines_to_group_means(real, real_labels, fake, fake_labels)
    fake_cos, fake_weights = cosines_to_group_means(fake, fake_labels, real, real_labels)
    grouped = 0.5 * (_group_average(1.0 - real_cos, real_weights) +
                     _group_average(1.0 - fake_cos, fake_weights))
    batch = 1.0 - _cosine(tf.reduce_mean(fake, axis=0, keepdims=True),
                          tf.reduce_mean(real, axis=0, keepdims=True))[0]
    return 0.5 * (grouped + batch)
