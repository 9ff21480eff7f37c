"""The interface of auxiliary terms (rotation, consistency, contrastive, InfoGAN, ...).

A GAN variant is the shared step plus a list of terms. Each D or G sub-step builds one
`StepContext`, lets every term add named image groups to a single batched D call
(`DiscriminatorBatch`), runs D once, then asks each term for its loss on the named outputs.
A term is a Keras layer so that the heads it owns are tracked, checkpointed and trained by
the optimizer named in `optimizer` ("discriminator" or "generator").
"""
import collections

import keras
import tensorflow as tf

from compare_ssgan.gans import randomness

DiscriminatorOutput = collections.namedtuple("DiscriminatorOutput", ["logits", "features"])


class StepContext:
  """What one sub-step sees: reals, latents, fakes, a seed and the networks.

  `fake_images` carry gradients to G in the G step and are stop-gradient in the D step.
  """

  def __init__(self, gan, real_images, real_labels, z, fake_labels, fake_images, seed):
    self.gan = gan
    self.real_images = real_images
    self.real_labels = real_labels
    self.z = z
    self.fake_labels = fake_labels
    self.fake_images = fake_images
    self.seed = seed

  @property
  def local_batch_size(self):
    return tf.shape(self.real_images)[0]

  def seed_for(self, purpose):
    """A seed private to `purpose` (a term's name), reproducible across restarts."""
    return randomness.fold_in(self.seed, purpose)

  def generate(self, z, labels):
    return self.gan.generator(z, labels, training=True)


class DiscriminatorBatch:
  """Collects named (images, labels) groups and runs D on all of them in one call.

  One call keeps compare_gan's semantics: one SN power iteration and, if D has BN,
  statistics over everything D sees in the step.
  """

  def __init__(self, conditional):
    self._conditional = conditional
    self._groups = collections.OrderedDict()

  @property
  def names(self):
    return tuple(self._groups)

  def add(self, name, images, labels=None):
    if name in self._groups:
      raise ValueError(f"Discriminator input group {name!r} was added twice.")
    if self._conditional and labels is None:
      raise ValueError(f"Group {name!r} needs labels: the discriminator is conditional.")
    self._groups[name] = (images, labels)

  def run(self, discriminator):
    images = tf.concat([g[0] for g in self._groups.values()], axis=0)
    labels = None
    if self._conditional:
      labels = tf.concat([g[1] for g in self._groups.values()], axis=0)
    logits, features = discriminator(images, labels, training=True)
    sizes = [tf.shape(g[0])[0] for g in self._groups.values()]
    split_logits = tf.split(logits, sizes, axis=0)
    split_features = tf.split(features, sizes, axis=0)
    return {name: DiscriminatorOutput(l, f)
            for name, l, f in zip(self._groups, split_logits, split_features)}


class AuxiliaryTerm(keras.layers.Layer):
  """Base class: a term adds D inputs and returns (loss, metrics) for the D and G steps.

  Subclasses override what they need; the defaults add nothing. Metric names must be
  listed in `metric_names` so the trainer can create their trackers up front.
  """

  optimizer = "discriminator"
  metric_names = ()

  def build_heads(self, discriminator, generator):
    """Creates the term's variables (called once, under the strategy's scope)."""

  def transform_latents(self, z, seed):
    """Lets a term put structure into z (InfoGAN's codes). Identity by default."""
    del seed
    return z

  def transform_discriminator_inputs(self, ctx, images, labels, group):
    """Changes what D judges as `group` ("real" / "fake") in both steps. Identity here;
    augment-both overrides it. The penalty sees the transformed images too."""
    del ctx, group
    return images, labels

  def add_d_step_inputs(self, ctx, batch):
    """Adds groups to the D step's discriminator call."""

  def d_step_loss(self, ctx, outputs):
    del ctx, outputs
    return tf.constant(0.0), {}

  def add_g_step_inputs(self, ctx, batch):
    """Adds groups to the G step's discriminator call."""

  def g_step_loss(self, ctx, outputs):
    del ctx, outputs
    return tf.constant(0.0), {}
