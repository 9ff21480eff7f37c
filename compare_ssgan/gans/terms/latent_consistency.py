"""zCR: latent consistency regularization (Zhao et al., "Improved Consistency
Regularization for GANs", arXiv 2002.04724).

With z' = z + dz, dz ~ N(0, sigma^2 I):
  D minimises weight_d * ||D(G(z)) - D(G(z'))||^2   (D insensitive to the perturbation),
  G minimises -weight_g * ||G(z) - G(z')||^2        (G sensitive to it).
Defaults lambda_dis = 5, lambda_gen = 0.5, sigma = 0.03 (as two third-party
implementations set them; StudioGAN uses 20 / 0.5 / 0.05). Distances are means over the batch of the
squared L2 norm on D's logits, and means over all pixels for images (MSE, as those
implementations do, which keeps lambda_gen on the scale of the GAN loss). The fakes G(z')
get the same labels as G(z). D judges G(z') as it judges the "fake" group (with
augment-both: the same per-row transform), so only the latent perturbation differs.
"""
import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import consistency
from compare_ssgan.gans import randomness

GROUP = "zcr_fake"


class LatentConsistencyTerm(base.AuxiliaryTerm):
  """zCR; `optimizer` is D's, but the G-step term trains G through G(z) and G(z')."""

  optimizer = "discriminator"

  def __init__(self, weight_d, weight_g, sigma):
    super().__init__(name="zcr")
    validate.number("latent_consistency.weight_d", weight_d, minimum=0)
    validate.number("latent_consistency.weight_g", weight_g, minimum=0)
    validate.number("latent_consistency.sigma", sigma, minimum=0, min_inclusive=False)
    self.weight_d = weight_d
    self.weight_g = weight_g
    self.sigma = sigma
    self.metric_names = (("zcr_d",) if weight_d else ()) + (("zcr_g",) if weight_g else ())

  def perturbed_fakes(self, ctx):
    """G(z + dz) with the step's fake labels; dz is drawn for the global batch."""
    noise = randomness.replica_slice(
        lambda n, s: tf.random.stateless_normal([n, ctx.z.shape[-1]], s),
        ctx.local_batch_size, ctx.seed_for(self.name))
    return ctx.generate(ctx.z + self.sigma * noise, ctx.fake_labels)

  def add_d_step_inputs(self, ctx, batch):
    if self.weight_d:
      batch.add(GROUP, *ctx.judge(tf.stop_gradient(self.perturbed_fakes(ctx)),
                                  ctx.fake_labels, "fake"))

  def d_step_loss(self, ctx, outputs):
    if not self.weight_d:
      return tf.constant(0.0), {}
    distance = consistency.squared_distance(outputs["fake"].logits, outputs[GROUP].logits)
    return self.weight_d * distance, {"zcr_d": distance}

  def g_step_loss(self, ctx, outputs):
    if not self.weight_g:
      return tf.constant(0.0), {}
    distance = tf.reduce_mean(tf.square(ctx.generated_images - self.perturbed_fakes(ctx)))
    return -self.weight_g * distance, {"zcr_g": distance}


@gin.configurable("latent_consistency")
def latent_consistency(weight_d=5.0, weight_g=0.5, sigma=0.03):
  """The zCR term (`GAN.auxiliary_terms = [@latent_consistency()]`)."""
  return LatentConsistencyTerm(weight_d, weight_g, sigma)
