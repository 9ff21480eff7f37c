"""Cosine-similarity loss between generator and critic features (cosine embedding).

G's fakes and the real batch are embedded by D's final features h. With m_r the batch mean
of the real embeddings (a fixed target in each step), and the cosine embedding loss of
PyTorch's `CosineEmbeddingLoss` (target +1: 1 - cos; target -1: max(0, cos - margin)):
  G minimises  weight_g * mean_i (1 - cos(h(G(z_i)), m_r))            (pull fakes to reals)
  D minimises  weight_d * mean_i max(0, cos(h(G(z_i)), m_r) - margin)  (push them apart)
This project's reading of the SimGAN write-up's "features compared by cosine embedding";
it is added on top of the adversarial loss, like any auxiliary term.
"""
import gin
import tensorflow as tf

from compare_ssgan.gans.terms import base


def cosine_to_mean(features, reference):
  """cos(features_i, mean(reference)) per row, with the mean held fixed."""
  target = tf.stop_gradient(tf.reduce_mean(reference, axis=0, keepdims=True))
  return tf.reduce_sum(tf.math.l2_normalize(features, axis=1) *
                       tf.math.l2_normalize(target, axis=1), axis=1)


class CosineSimilarityTerm(base.AuxiliaryTerm):
  """Cosine embedding of fakes against the real feature mean, for G and D."""

  metric_names = ("cosine/d_loss", "cosine/g_loss", "cosine/fake_to_real")

  def __init__(self, weight_g=1.0, weight_d=1.0, margin=0.0):
    super().__init__(name="cosine_similarity")
    self.weight_g = weight_g
    self.weight_d = weight_d
    self.margin = margin

  def d_step_loss(self, ctx, outputs):
    cosine = cosine_to_mean(outputs["fake"].features, outputs["real"].features)
    loss = tf.reduce_mean(tf.nn.relu(cosine - self.margin))
    return self.weight_d * loss, {"cosine/d_loss": loss,
                                  "cosine/fake_to_real": tf.reduce_mean(cosine)}

  def add_g_step_inputs(self, ctx, batch):
    if "real" not in batch.names:
      batch.add("real", ctx.real_images, ctx.real_labels)

  def g_step_loss(self, ctx, outputs):
    cosine = cosine_to_mean(outputs["fake"].features, outputs["real"].features)
    loss = tf.reduce_mean(1.0 - cosine)
    return self.weight_g * loss, {"cosine/g_loss": loss}


@gin.configurable("cosine_similarity_loss")
def cosine_similarity_loss(weight_g=1.0, weight_d=1.0, margin=0.0):
  """The term for `GAN.auxiliary_terms = [@cosine_similarity_loss()]`."""
  return CosineSimilarityTerm(weight_g, weight_d, margin)
