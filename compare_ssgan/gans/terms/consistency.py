"""Consistency regularization in image space: CR-GAN and bCR.

CR (Zhang et al., ICLR 2020): D's loss += lambda * ||D(x) - D(T(x))||^2 on real x only,
on D's logits, with T = random flip + translation by up to 1/8 of the side, reflect
padding; lambda = 10. G's loss is unchanged.

bCR (Zhao et al., "Improved CR", AAAI 2021): the same T on reals *and* fakes,
lambda_real * ||D(x) - D(T(x))||^2 + lambda_fake * ||D(G(z)) - D(T(G(z)))||^2 in the D
step only; lambda_real = lambda_fake = 10. The squared norm is averaged over the batch
(the logits are [N, 1]). Gradients flow through both D(x) and D(T(x)).

x is the image D judges as real (with augment-both, the augmented one): the pair is the
"real" group's own output D(x) and D(T(x)), so CR asks D to be invariant to T around the
inputs it is trained on, as Zhao et al. define it, not to the gap between two augmentations.
"""
import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans import augmentations
from compare_ssgan.gans.terms import base


def squared_distance(a, b):
  """Batch mean of ||a - b||^2 over the trailing axis."""
  return tf.reduce_mean(tf.reduce_sum(tf.square(a - b), axis=-1))


class ConsistencyTerm(base.AuxiliaryTerm):
  """CR when weight_fake = 0; bCR when weight_fake > 0.

  Args:
    weight_real: lambda (CR) or lambda_real (bCR) on real images.
    weight_fake: lambda_fake (bCR) on generated images; 0 disables it.
    augmentation: T, an `fn(images, seed)` from augmentations.py.
    name: prefix of the D-input groups and metrics.
  """

  optimizer = "discriminator"

  def __init__(self, weight_real, weight_fake, augmentation, name):
    super().__init__(name=name)
    self.weight_real = weight_real
    self.weight_fake = weight_fake
    self.augmentation = augmentation
    self.metric_names = (f"{name}_real",) + ((f"{name}_fake",) if weight_fake else ())

  def add_d_step_inputs(self, ctx, batch):
    batch.add(f"{self.name}_real",
              self.augmentation(ctx.real_images, ctx.seed_for(f"{self.name}/real")),
              ctx.real_labels)
    if self.weight_fake:
      batch.add(f"{self.name}_fake",
                self.augmentation(ctx.fake_images, ctx.seed_for(f"{self.name}/fake")),
                ctx.fake_labels)

  def d_step_loss(self, ctx, outputs):
    real = squared_distance(outputs["real"].logits, outputs[f"{self.name}_real"].logits)
    loss = self.weight_real * real
    metrics = {f"{self.name}_real": real}
    if self.weight_fake:
      fake = squared_distance(outputs["fake"].logits, outputs[f"{self.name}_fake"].logits)
      loss += self.weight_fake * fake
      metrics[f"{self.name}_fake"] = fake
    return loss, metrics


@gin.configurable("consistency")
def consistency(weight=10.0, augmentation=augmentations.flip_and_translate):
  """CR-GAN: lambda = 10 on reals only; metric `cr_real`."""
  validate.number("consistency.weight", weight, minimum=0)
  return ConsistencyTerm(weight, 0.0, augmentation, name="cr")


@gin.configurable("balanced_consistency")
def balanced_consistency(weight_real=10.0, weight_fake=10.0,
                         augmentation=augmentations.flip_and_translate):
  """bCR: lambda_real = lambda_fake = 10 (Improved CR); metrics `bcr_real`, `bcr_fake`."""
  validate.number("balanced_consistency.weight_real", weight_real, minimum=0)
  validate.number("balanced_consistency.weight_fake", weight_fake, minimum=0)
  return ConsistencyTerm(weight_real, weight_fake, augmentation, name="bcr")
