"""The GAN: G + D + adversarial loss + penalty + auxiliary terms, and its train step.

This is compare_gan's ModularGAN, composed rather than subclassed: Uncond-GAN, Cond-GAN,
SS-GAN, CR-GAN and Cntr-GAN differ only in gin bindings (`GAN.conditional`,
`GAN.auxiliary_terms`, the architecture's normalisation), never in this file.
Everything here runs per replica inside `strategy.run`; nothing leaves the device.
"""
from absl import logging
import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import registry
from compare_ssgan.gans.terms import base
from compare_ssgan.gans import ema as ema_lib
from compare_ssgan.gans import latents
from compare_ssgan.gans import losses
from compare_ssgan.gans import penalties
from compare_ssgan.gans import randomness
from compare_ssgan.gans import regularizers

# Bound in configs as `keras.optimizers.Adam.beta_1 = ...`, like compare_gan's AdamOptimizer.
ADAM = gin.external_configurable(keras.optimizers.Adam, module="keras.optimizers")

CORE_METRICS = ("d_loss", "g_loss", "d_loss_real", "d_loss_fake", "penalty",
                "d_real_logits", "d_fake_logits")


@gin.configurable("GAN", denylist=["image_shape", "num_classes"])
class GAN(tf.Module):
  """Builds the networks and optimizers; `train_step` does disc_iters D steps and one G step.

  Args:
    image_shape: (H, W, C) of the data.
    num_classes: classes in the data (0 if unlabelled).
    architecture: a name known to `architectures.registry`.
    conditional: Cond-GAN (labels to G and a projection D); needs a labelled dataset.
    z_dim: latent size (compare_gan's `options.z_dim`).
    loss_fn / penalty_fn / penalty_weight: see losses.py / penalties.py.
    adversarial_weight: weight of loss_fn's terms in D's and G's losses; 0 trains D by
      its auxiliary terms alone (SS-GAN's rotation-only ablation). Not the penalty's.
      At 0 the losses still reach the logits, so every variable gets a (zero) gradient.
    auxiliary_terms: `AuxiliaryTerm`s added to D's and G's losses (SS-GAN, CR, ...).
    disc_iters: D steps per G step, each on a fresh real batch and fresh z.
    g_lr / d_lr: Adam learning rates (d_lr None means g_lr, as compare_gan).
    lr_schedule: None (constant rates, compare_gan) or `schedule(initial_learning_rate,
      updates_per_step)` -> a Keras LearningRateSchedule of the optimizer's update count,
      e.g. `@linear_decay` (torch-mimicry's); D's optimizer makes disc_iters updates per
      G step.
    g_optimizer_fn / d_optimizer_fn: optimizer classes (beta_1/beta_2 bound via gin):
      Keras' Adam, or `@TorchAdam` (PyTorch's epsilon placement, optimizers.py).
    g_use_ema: keep an EMA generator (decay, start step: `ema.*`).
    fit_label_distribution: conditional fakes use the real batch's labels, not uniform ones.
    g_orthogonal_weight / d_orthogonal_weight: BigGAN orthogonal regularization.
  """

  def __init__(self, image_shape, num_classes, architecture="resnet_cifar",
               conditional=False, z_dim=128, loss_fn=losses.hinge, adversarial_weight=1.0,
               penalty_fn=penalties.no_penalty, penalty_weight=1.0, auxiliary_terms=(),
               disc_iters=1, g_lr=2e-4, d_lr=None, lr_schedule=None, g_optimizer_fn=ADAM,
               d_optimizer_fn=None, g_use_ema=False, fit_label_distribution=False,
               g_orthogonal_weight=0.0, d_orthogonal_weight=0.0):
    super().__init__(name="gan")
    validate.boolean("GAN.conditional", conditional)
    validate.integer("GAN.z_dim", z_dim, minimum=1)
    validate.number("GAN.adversarial_weight", adversarial_weight, minimum=0)
    validate.number("GAN.penalty_weight", penalty_weight, minimum=0)
    validate.integer("GAN.disc_iters", disc_iters, minimum=1)
    validate.number("GAN.g_lr", g_lr, minimum=0, min_inclusive=False)
    if d_lr is not None:
      validate.number("GAN.d_lr", d_lr, minimum=0, min_inclusive=False)
    validate.boolean("GAN.g_use_ema", g_use_ema)
    validate.boolean("GAN.fit_label_distribution", fit_label_distribution)
    validate.number("GAN.g_orthogonal_weight", g_orthogonal_weight, minimum=0)
    validate.number("GAN.d_orthogonal_weight", d_orthogonal_weight, minimum=0)
    if conditional and not num_classes:
      raise ValueError("GAN.conditional=True needs a labelled dataset; this one has no "
                       "classes (num_classes=0). Use an unconditional config.")
    self.image_shape = tuple(image_shape)
    self.num_classes = num_classes if conditional else 0
    self.conditional = conditional
    self.z_dim = z_dim
    self.loss_fn = loss_fn
    self.adversarial_weight = adversarial_weight
    self.penalty_fn = penalty_fn
    self.penalty_weight = penalty_weight
    self.terms = list(auxiliary_terms)
    self.disc_iters = disc_iters
    self.fit_label_distribution = fit_label_distribution
    self.g_orthogonal_weight = g_orthogonal_weight
    self.d_orthogonal_weight = d_orthogonal_weight

    # The registry returns the networks with all their variables created.
    self.generator = registry.make_generator(architecture, self.image_shape, z_dim,
                                             self.num_classes)
    self.discriminator = registry.make_discriminator(architecture, self.image_shape,
                                                     self.num_classes)
    if conditional and not (self.discriminator.project_y or
                            self.generator.batch_norm == "conditional_batch_norm"):
      logging.warning("GAN.conditional=True, but neither G (G.batch_norm=%r) nor D "
                      "(project_y=False) uses the labels: this trains an unconditional "
                      "model. Cond-GAN is G.batch_norm='conditional_batch_norm' plus "
                      "<architecture>.Discriminator.project_y=True.",
                      self.generator.batch_norm)
    for term in self.terms:
      term.build_heads(self.discriminator, self.generator)
    self.ema = None
    if g_use_ema:
      ema_generator = registry.make_generator(architecture, self.image_shape, z_dim,
                                              self.num_classes)
      for avg, var in zip(ema_generator.variables, self.generator.variables):
        avg.assign(var)
      self.ema = ema_lib.GeneratorEMA(self.generator, ema_generator)

    d_lr = g_lr if d_lr is None else d_lr
    if lr_schedule is not None:
      g_lr = lr_schedule(g_lr, updates_per_step=1)
      d_lr = lr_schedule(d_lr, updates_per_step=disc_iters)
    self.g_optimizer = g_optimizer_fn(learning_rate=g_lr, name="g_opt")
    self.d_optimizer = (d_optimizer_fn or g_optimizer_fn)(learning_rate=d_lr, name="d_opt")
    self.metric_names = CORE_METRICS + tuple(
        name for term in self.terms for name in term.metric_names)

  def build_optimizers(self):
    """Creates the optimizer slots now, under the strategy's scope: Keras would create
    them lazily inside the first replica step, which mirrored/TPU variables forbid."""
    self.g_optimizer.build(self.g_variables)
    self.d_optimizer.build(self.d_variables)

  @property
  def ema_generator(self):
    return self.ema.ema_generator if self.ema else None

  @property
  def d_variables(self):
    owned = [v for t in self.terms if t.optimizer == "discriminator"
             for v in t.trainable_variables]
    return self.discriminator.trainable_variables + owned

  @property
  def g_variables(self):
    owned = [v for t in self.terms if t.optimizer == "generator"
             for v in t.trainable_variables]
    return self.generator.trainable_variables + owned

  def sample_latents(self, batch_size, seed):
    """z and fake labels for this replica's rows of the global batch."""
    z = randomness.replica_slice(
        lambda n, s: latents.sample_z(n, self.z_dim, s), batch_size,
        randomness.fold_in(seed, "z"))
    z = self.transform_latents(z, seed)
    labels = None
    if self.conditional:
      labels = randomness.replica_slice(
          lambda n, s: latents.sample_labels(n, self.num_classes, s), batch_size,
          randomness.fold_in(seed, "labels"))
    return z, labels

  def transform_latents(self, z, seed):
    """z with the structure the terms put into it (InfoGAN's codes); `seed` is the batch's."""
    for index, term in enumerate(self.terms):
      z = term.transform_latents(z, randomness.fold_in(seed, f"latents{index}"))
    return z

  def latent_terms(self):
    """Names of the terms that put structure into z (none: z is drawn from the prior)."""
    return [term.name for term in self.terms if type(term).transform_latents
            is not base.AuxiliaryTerm.transform_latents]

  def _context(self, images, labels, seed, step):
    """The sub-step's StepContext; the D step's fakes are stop-gradient."""
    labels = labels if self.conditional else None
    z, fake_labels = self.sample_latents(tf.shape(images)[0], seed)
    if self.conditional and self.fit_label_distribution:
      fake_labels = labels
    fakes = self.generator(z, fake_labels, training=True)
    if step == "discriminator":
      fakes = tf.stop_gradient(fakes)
    return base.StepContext(self, images, labels, z, fake_labels, fakes, seed)

  def _discriminator_logits(self, images, labels):
    return self.discriminator(images, labels, training=True)[0]

  def _scale(self, loss, optimizer):
    """Per-replica loss scaled so that summed replica gradients are the global mean.

    Must run inside the tape; float16 runs also apply the dynamic loss scale.
    """
    scaled = loss / randomness.num_replicas_in_sync()
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
      scaled = optimizer.scale_loss(scaled)
    return scaled

  def _apply(self, optimizer, scaled_loss, variables, tape):
    grads = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(grads, variables))

  @staticmethod
  def _orthogonal_regularization(variables, weight):
    if not weight:
      return 0.0
    return regularizers.orthogonal_regularization(variables, beta=weight)

  def discriminator_step(self, images, labels, seed):
    ctx = self._context(images, labels, seed, "discriminator")
    with tf.GradientTape() as tape:
      outputs = base.discriminator_outputs(ctx, "discriminator")
      adversarial = losses.adversarial_loss(self.loss_fn, outputs["real"].logits,
                                            outputs["fake"].logits, ctx.real_labels,
                                            ctx.fake_labels)
      penalty = self.penalty_fn(self._discriminator_logits, ctx.real_images,
                                ctx.fake_images, ctx.real_labels,
                                randomness.fold_in(seed, "penalty"))
      terms_loss, metrics = base.terms_loss(ctx, outputs, "discriminator")
      loss = (self.adversarial_weight * adversarial.d_loss +
              self.penalty_weight * penalty + terms_loss +
              self._orthogonal_regularization(self.discriminator.trainable_variables,
                                              self.d_orthogonal_weight))
      metrics.update({"d_loss": loss, "d_loss_real": adversarial.d_real,
                      "d_loss_fake": adversarial.d_fake, "penalty": penalty,
                      "d_real_logits": tf.reduce_mean(outputs["real"].logits),
                      "d_fake_logits": tf.reduce_mean(outputs["fake"].logits)})
      scaled_loss = self._scale(loss, self.d_optimizer)
    self._apply(self.d_optimizer, scaled_loss, self.d_variables, tape)
    return metrics

  def generator_step(self, images, labels, seed):
    with tf.GradientTape() as tape:
      ctx = self._context(images, labels, seed, "generator")
      # Non-relativistic losses ignore the real logits in their G term.
      with_real = losses.uses_real_logits_in_g_step(self.loss_fn)
      outputs = base.discriminator_outputs(ctx, "generator", with_real)
      real_logits = outputs["real"].logits if with_real else outputs["fake"].logits
      terms_loss, metrics = base.terms_loss(ctx, outputs, "generator")
      adversarial = losses.adversarial_loss(self.loss_fn, real_logits, outputs["fake"].logits,
                                            ctx.real_labels, ctx.fake_labels)
      loss = (self.adversarial_weight * adversarial.g_loss + terms_loss +
              self._orthogonal_regularization(self.generator.trainable_variables,
                                              self.g_orthogonal_weight))
      metrics["g_loss"] = loss
      scaled_loss = self._scale(loss, self.g_optimizer)
    self._apply(self.g_optimizer, scaled_loss, self.g_variables, tape)
    return metrics

  def train_step(self, batches, seed):
    """One G step: `disc_iters` D steps on batches[:-1], then G on batches[-1].

    Like compare_gan's TPU loop, every sub-step has its own reals and z.
    """
    metrics = {}
    for index in range(self.disc_iters):
      images, labels = batches[index]
      metrics.update(self.discriminator_step(images, labels,
                                             randomness.fold_in(seed, index)))
    images, labels = batches[-1]
    metrics.update(self.generator_step(images, labels,
                                       randomness.fold_in(seed, self.disc_iters)))
    return metrics
