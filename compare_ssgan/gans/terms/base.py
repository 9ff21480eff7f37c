"""The interface of auxiliary terms (rotation, consistency, contrastive, InfoGAN, ...).

A GAN variant is the shared step plus a list of terms. Each D or G sub-step builds one
`StepContext` (which holds the images D judges), `discriminator_outputs` lets every term add
named image groups to a single batched D call (`DiscriminatorBatch`) and runs D once, then
`terms_loss` asks each term for its loss on the named outputs. The GAN step, the term
tests (tests/gans/terms/, through tests/gans/term_testing.py) and the forgetting
experiment (a D step of reals alone: `StepContext.reals_only`) share these two functions.
A term is a Keras layer so that the heads it owns are tracked, checkpointed and trained by
the optimizer named in `optimizer` ("discriminator" or "generator").
"""
import collections

import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.gans import randomness

STEPS = ("discriminator", "generator")

DiscriminatorOutput = collections.namedtuple("DiscriminatorOutput", ["logits", "features"])

# What a StepContext needs of its GAN (a `GAN` has these attributes too).
StepNetworks = collections.namedtuple(
    "StepNetworks", ["discriminator", "generator", "conditional", "terms"])


class StepContext:
  """What one sub-step sees: the judged reals and fakes, latents, a seed and the networks.

  `real_images` / `fake_images` (and their labels) are what D judges as "real" / "fake":
  the data batch and G's output after every term's `transform_discriminator_inputs`
  (augment-both). Terms build their views from these, so a view and its group's own D
  output start from the same image (with augment-both + rotation, classes 0-3 are the
  augmented image and its rotations, not a shortcut). `generated_images` is G's raw output,
  for losses in image space. Fakes carry gradients to G in the G step; the D step passes
  stop-gradient fakes. `gan` needs `terms`, `generator`, `discriminator`, `conditional`
  (a `GAN`, or `StepNetworks`). Without `generated_images` the context has no fakes (see
  `reals_only`).
  """

  def __init__(self, gan, real_images, real_labels, z, fake_labels, generated_images,
               seed):
    self.gan = gan
    self.z = z
    self.seed = seed
    self.generated_images = generated_images
    self.real_images, self.real_labels = self.judge(real_images, real_labels, "real")
    if generated_images is None:
      self.fake_images, self.fake_labels = None, None
    else:
      self.fake_images, self.fake_labels = self.judge(generated_images, fake_labels, "fake")

  @classmethod
  def reals_only(cls, discriminator, terms, real_images, real_labels=None, seed=None):
    """A D-step context of `terms` with reals and no generator: no latents, no fakes.

    `discriminator_outputs(ctx, "discriminator")` then runs D once on "real" and the
    terms' D-step groups (e.g. rotation's rotated reals), and `terms_loss` gives their D
    losses: a classifier trained with the terms of a D step (the forgetting experiment).
    D is conditional when `real_labels` are given. `seed` is needed only by terms that
    draw random numbers (`seed_for`).
    """
    networks = StepNetworks(discriminator=discriminator, generator=None,
                            conditional=real_labels is not None, terms=tuple(terms))
    return cls(networks, real_images, real_labels, z=None, fake_labels=None,
               generated_images=None, seed=seed)

  @property
  def local_batch_size(self):
    return tf.shape(self.real_images)[0]

  def seed_for(self, purpose):
    """A seed private to `purpose` (a term's name), reproducible across restarts."""
    return randomness.fold_in(self.seed, purpose)

  def generate(self, z, labels):
    return self.gan.generator(z, labels, training=True)

  def judge(self, images, labels, group):
    """`images` as D judges them in `group` ("real" / "fake"): every term's transform, with
    this step's seeds, so a batch of the same shape gets the same per-row transform."""
    for term in self.gan.terms:
      images, labels = term.transform_discriminator_inputs(self, images, labels, group)
    return images, labels


DISCRIMINATOR_CALLS = ("one", "per_group")


@gin.configurable("DiscriminatorBatch", allowlist=["calls"])
class DiscriminatorBatch:
  """Collects named (images, labels) groups and runs D on all of them in one call.

  One call keeps compare_gan's semantics: one SN power iteration and, if D has BN,
  statistics over everything D sees in the step. `calls = "per_group"` runs D once per
  group instead, in the order the groups were added (real, fake, then the terms'), as
  torch-mimicry does: each call runs its own power iteration (so u advances once per
  group) and, with BN in D, normalises its group by its own statistics.
  """

  def __init__(self, conditional, calls="one"):
    validate.choice("DiscriminatorBatch.calls", calls, DISCRIMINATOR_CALLS)
    self._conditional = conditional
    self._calls = calls
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
    if self._calls == "per_group":
      outputs = {}
      for name, (images, labels) in self._groups.items():
        logits, features = discriminator(images, labels if self._conditional else None,
                                         training=True)
        outputs[name] = DiscriminatorOutput(logits, features)
      return outputs
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


def _check_step(step):
  if step not in STEPS:
    raise ValueError(f"Unknown step {step!r}; expected one of {STEPS}.")


def discriminator_outputs(ctx, step, with_real=True):
  """The sub-step's single D call: "real" (unless not `with_real`), "fake" (if the context
  has fakes), then every term's groups for `step` ("discriminator" / "generator").
  Returns {group: output}."""
  _check_step(step)
  batch = DiscriminatorBatch(ctx.gan.conditional)
  if with_real:
    batch.add("real", ctx.real_images, ctx.real_labels)
  if ctx.fake_images is not None:
    batch.add("fake", ctx.fake_images, ctx.fake_labels)
  for term in ctx.gan.terms:
    if step == "discriminator":
      term.add_d_step_inputs(ctx, batch)
    else:
      term.add_g_step_inputs(ctx, batch)
  return batch.run(ctx.gan.discriminator)


def terms_loss(ctx, outputs, step):
  """The sum of every term's loss for `step` on `outputs`, and all their metrics."""
  _check_step(step)
  loss, metrics = tf.constant(0.0), {}
  for term in ctx.gan.terms:
    step_loss = term.d_step_loss if step == "discriminator" else term.g_step_loss
    term_loss, term_metrics = step_loss(ctx, outputs)
    loss += term_loss
    metrics.update(term_metrics)
  return loss, metrics


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
    augment-both overrides it. The penalty and every term's views see the transformed
    images too (`StepContext.real_images`). `ctx` has its seed, not yet its images."""
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
