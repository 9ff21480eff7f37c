"""Cntr-GAN: a SimCLR contrastive loss on D (Zhao et al. 2020, "Image Augmentations for
GAN Training").

Each image gets two SimCLR views; a projection head on D's penultimate features maps them
to embeddings; NT-Xent (Chen et al. 2020) pulls the two views of an image together against
all other views of the *global* batch (gathered across replicas). It is computed on reals
and, separately, on (stop-gradient) fakes (unless `include_fakes` is False: then the fakes'
views are not even added to D's call) and added to D's loss. G gets no term either way: the
loss only shapes D's representation, so dropping the fakes changes what D learns from, not
what G is asked. The views are of the images D judges (with augment-both: SimCLR's views of
the augmented images, the distribution D is trained on).

The GAN paper's appendix (head, temperature, weight, augmentation strengths) could not be
retrieved; the defaults are SimCLR's CIFAR-10 settings (temperature 0.5, colour strength
0.5, no blur, a one-hidden-layer MLP head with 128-d output) and weight 1: this project's
choices, not the paper's (see gin_configs/README.md).
"""
import gin
import keras
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import ops
from compare_ssgan.gans import simclr_augmentations
from compare_ssgan.gans.terms import base

_LARGE = 1e9


def nt_xent(view1, view2, temperature):
  """NT-Xent of local views [n, d] against all 2N views of the global batch.

  Views are L2-normalised; anchor k's positive is its other view, its negatives the other
  2N - 2 views (the CS231n / SimCLR layout [view1; view2], positives (k, k + N)). Returns
  the mean loss over this replica's 2n anchors and the top-1 accuracy of picking the
  positive (chance 1 / (2N - 1)).
  """
  view1 = tf.math.l2_normalize(tf.cast(view1, tf.float32), axis=-1)
  view2 = tf.math.l2_normalize(tf.cast(view2, tf.float32), axis=-1)
  n = tf.shape(view1)[0]
  ctx = tf.distribute.get_replica_context()
  if ctx is not None and ctx.num_replicas_in_sync > 1:
    all1, all2 = ctx.all_gather([view1, view2], axis=0)
    offset = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * n
  else:
    all1, all2, offset = view1, view2, 0
  global_n = tf.shape(all1)[0]
  anchors = tf.concat([view1, view2], axis=0)
  logits = tf.matmul(anchors, tf.concat([all1, all2], axis=0), transpose_b=True)
  logits /= temperature
  local = tf.range(n) + offset
  itself = tf.concat([local, local + global_n], axis=0)
  positive = tf.concat([local + global_n, local], axis=0)
  logits -= _LARGE * tf.one_hot(itself, 2 * global_n)
  loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(positive, logits))
  correct = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), positive)
  return loss, tf.reduce_mean(tf.cast(correct, tf.float32))


class ProjectionHead(keras.layers.Layer):
  """SimCLR's g(h) = W2 relu(W1 h) (no batch norm), optionally spectrally normalised."""

  def __init__(self, hidden_dim, output_dim, use_sn, **kwargs):
    super().__init__(**kwargs)
    self.hidden = ops.Dense(hidden_dim, use_sn=use_sn, name="hidden")
    self.output_layer = ops.Dense(output_dim, use_sn=use_sn, name="output")

  def call(self, features):
    return self.output_layer(tf.nn.relu(self.hidden(features)))


class ContrastiveTerm(base.AuxiliaryTerm):
  """weight * (NT-Xent on two views of the reals [+ the same on two views of the fakes])."""

  optimizer = "discriminator"

  def __init__(self, weight, temperature, hidden_dim, output_dim, use_sn, augmentation,
               include_fakes):
    super().__init__(name="contrastive")
    validate.number("contrastive.weight", weight, minimum=0)
    validate.number("contrastive.temperature", temperature, minimum=0, min_inclusive=False)
    if hidden_dim is not None:
      validate.integer("contrastive.hidden_dim", hidden_dim, minimum=1)
    validate.integer("contrastive.output_dim", output_dim, minimum=1)
    validate.boolean("contrastive.use_sn", use_sn)
    validate.boolean("contrastive.include_fakes", include_fakes)
    self.weight = weight
    self.temperature = temperature
    self.hidden_dim = hidden_dim
    self.output_dim = output_dim
    self.use_sn = use_sn
    self.augmentation = augmentation
    self.sides = ("real", "fake") if include_fakes else ("real",)
    self.metric_names = (tuple(f"contrastive_{side}_loss" for side in self.sides)
                         + ("contrastive_accuracy",))
    self.head = None

  def build_heads(self, discriminator, generator):
    del generator
    self.head = ProjectionHead(self.hidden_dim or discriminator.feature_dim,
                               self.output_dim, self.use_sn, name="projection")
    self.head(tf.zeros([1, discriminator.feature_dim]))

  def add_d_step_inputs(self, ctx, batch):
    groups = {"real": (ctx.real_images, ctx.real_labels),
              "fake": (ctx.fake_images, ctx.fake_labels)}
    for side in self.sides:
      images, labels = groups[side]
      for view in (1, 2):
        seed = ctx.seed_for(f"contrastive/{side}/{view}")
        batch.add(f"contrastive_{side}_{view}", self.augmentation(images, seed), labels)

  def d_step_loss(self, ctx, outputs):
    losses, accuracies = {}, {}
    for side in self.sides:
      views = [self.head(outputs[f"contrastive_{side}_{view}"].features) for view in (1, 2)]
      losses[side], accuracies[side] = nt_xent(*views, self.temperature)
    metrics = {f"contrastive_{side}_loss": losses[side] for side in self.sides}
    metrics["contrastive_accuracy"] = accuracies["real"]
    return self.weight * tf.add_n(list(losses.values())), metrics


@gin.configurable("contrastive")
def contrastive(weight=1.0, temperature=0.5, hidden_dim=None, output_dim=128,
                use_sn=False, augmentation=simclr_augmentations.simclr_augment,
                include_fakes=True):
  """The Cntr-GAN term (`GAN.auxiliary_terms = [@contrastive()]`).

  Args:
    weight: lambda on the summed real (and fake) NT-Xent losses.
    temperature: NT-Xent's tau (SimCLR CIFAR-10: 0.5).
    hidden_dim: the head's hidden width; None uses D's feature size (SimCLR's choice).
    output_dim: embedding size (SimCLR: 128).
    use_sn: spectral norm in the head (off: it is not part of the real/fake critic).
    augmentation: the view generator, `fn(images, seed)`.
    include_fakes: whether D's contrastive loss also sees the (stop-gradient) fakes' views
      (Zhao et al.'s Cntr-GAN; True) or only the reals' (False: the fakes never join the
      contrastive part of D's call, and `contrastive_fake_loss` is not reported). G gets no
      contrastive term in either case.
  """
  return ContrastiveTerm(weight, temperature, hidden_dim, output_dim, use_sn, augmentation,
                         include_fakes)
