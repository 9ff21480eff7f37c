"""SS-GAN's auxiliary rotation loss (Chen et al., CVPR 2019), batched as compare_gan does.

Per replica, the last n = rotated_batch_size / (4 * replicas) images of a group are rotated
(`sources="per_replica"`, compare_gan's per-core batching: which images are rotated, and so
the loss, depends on the number of replicas). With `sources="global_batch"` the rotated
images are the last rotated_batch_size / 4 of the global batch whatever the replica count:
each replica rotates its rows among them, and the loss is their mean over the global batch,
so one process and N replicas compute the same loss. The images are rotated
by 90, 180 and 270 degrees (exact `rot90`, stacked all-90, all-180, all-270) and join the
step's single D call. A 4-way linear head on D's final features (spectrally normalized
when D is) classifies {the n originals: 0, rotations: 1, 2, 3}. D minimises
beta * CE on reals only; G minimises alpha * CE on its fakes only (the rotation task is
collaborative). The GAN loss sees the unrotated images only. The rotated images are those
D judges (with augment-both: the augmented ones), so class 0 and classes 1-3 differ only
by the rotation.

Unlike compare_gan, the rotated fakes of a conditional GAN carry their *sampled* labels
(compare_gan tiles the real labels there), and the D step does not pass rotated fakes
through D: they enter no D loss and would only matter to a batch-normalised D.

`batching="one_way_per_image"` is torch-mimicry's SSGAN batching instead: every image of the
batch is rotated once, row i of the N-image global batch by floor(4 i / N) quarter turns (the
first quarter of the batch upright, the next by 90 degrees, ...: mimicry's `_rotate_batch`,
the same rows every step), and the CE is the mean over those N rotated images alone (the
upright originals are not reused). Pair it with `DiscriminatorBatch.calls = "per_group"` for
mimicry's separate D call on the rotated batch.
"""
import gin
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.architectures import ops
from compare_ssgan.gans.terms import base
from compare_ssgan.gans import randomness

NUM_ROTATIONS = 4


def rot90(images, k):
  """`np.rot90(images, k, axes=(1, 2))`: k quarter turns counter-clockwise, NHWC.

  Written with transpose/reverse: tf.image.rot90 adds runtime asserts and a case op.
  """
  k %= 4
  if k == 1:
    return tf.reverse(tf.transpose(images, [0, 2, 1, 3]), [1])
  if k == 2:
    return tf.reverse(images, [1, 2])
  if k == 3:
    return tf.reverse(tf.transpose(images, [0, 2, 1, 3]), [2])
  return images


def rotate_last(images, labels, n):
  """The last n images rotated by 90, 180, 270 degrees, and their (tiled) labels."""
  source = images[-n:]
  rotated = tf.concat([rot90(source, k) for k in (1, 2, 3)], axis=0)
  rotated_labels = None if labels is None else tf.tile(labels[-n:], [3])
  return rotated, rotated_labels


def rotation_targets(n):
  """Classes of [n originals, n x 90, n x 180, n x 270]: repeat([0, 1, 2, 3], n)."""
  return tf.repeat(tf.range(NUM_ROTATIONS, dtype=tf.int32), n)


SOURCES = ("per_replica", "global_batch")
BATCHINGS = ("four_ways", "one_way_per_image")


def one_way_rotations(local_batch_size):
  """[local_batch_size] int32 rotation classes of this replica's rows for
  `one_way_per_image`: floor(4 * global_row / global_batch_size)."""
  replicas = randomness.num_replicas_in_sync()
  rows = randomness.replica_id() * local_batch_size + tf.range(local_batch_size)
  return (NUM_ROTATIONS * rows) // (replicas * local_batch_size)


def rotate_each(images, rotations):
  """Row i of `images` rotated by rotations[i] quarter turns (an exact selection)."""
  every_way = tf.stack([rot90(images, k) for k in range(NUM_ROTATIONS)], axis=0)
  rows = tf.range(tf.shape(images)[0], dtype=tf.int32)
  return tf.gather_nd(every_way, tf.stack([tf.cast(rotations, tf.int32), rows], axis=1))


class RotationTerm(base.AuxiliaryTerm):
  """SS-GAN: `weight_d` (beta) on reals in D's loss, `weight_g` (alpha) on fakes in G's."""

  optimizer = "discriminator"
  metric_names = ("rotation_real_loss", "rotation_fake_loss", "rotation_accuracy")

  def __init__(self, rotated_batch_size, weight_d, weight_g, sources="per_replica",
               batching="four_ways"):
    super().__init__(name="rotation")
    validate.choice("rotation.batching", batching, BATCHINGS)
    self.batching = batching
    validate.integer("rotation.rotated_batch_size", rotated_batch_size, minimum=1)
    if rotated_batch_size % NUM_ROTATIONS:
      raise ValueError(f"rotation.rotated_batch_size must be a positive multiple of 4; "
                       f"got {rotated_batch_size}.")
    validate.number("rotation.weight_d", weight_d, minimum=0)
    validate.number("rotation.weight_g", weight_g, minimum=0)
    validate.choice("rotation.sources", sources, SOURCES)
    self.rotated_batch_size = rotated_batch_size
    self.weight_d = weight_d
    self.weight_g = weight_g
    self.sources = sources
    self.head = None

  def build_heads(self, discriminator, generator):
    del generator
    self.head = ops.Dense(NUM_ROTATIONS, use_sn=discriminator.spectral_norm,
                          name="score_classify")
    self.head(tf.zeros([1, discriminator.feature_dim]))

  def num_sources(self, local_batch_size):
    """n: the last images of this replica's batch that are rotated."""
    replicas = randomness.num_replicas_in_sync()
    if self.sources == "global_batch":
      # Under multi_worker the replica batch has no static size: then a tensor.
      return (min(local_batch_size, self.rotated_batch_size // NUM_ROTATIONS)
              if isinstance(local_batch_size, int)
              else tf.minimum(local_batch_size, self.rotated_batch_size // NUM_ROTATIONS))
    if self.rotated_batch_size % (NUM_ROTATIONS * replicas):
      raise ValueError(f"rotation.rotated_batch_size={self.rotated_batch_size} must be a "
                       f"multiple of 4 x {replicas} replicas.")
    n = self.rotated_batch_size // (NUM_ROTATIONS * replicas)
    if local_batch_size is not None and n > local_batch_size:
      raise ValueError(f"rotation.rotated_batch_size={self.rotated_batch_size} needs {n} "
                       f"source images per replica but the replica batch has "
                       f"{local_batch_size}.")
    return n

  def _source_weights(self, local_batch_size, n):
    """[n] 1.0 for this replica's last n images that are among the last
    rotated_batch_size / 4 of the global batch (replica r holds its rows r*b ... r*b+b-1),
    else 0.0; scaled so that the replicas' mean of the weighted means is the global mean."""
    replicas = randomness.num_replicas_in_sync()
    global_sources = self.rotated_batch_size // NUM_ROTATIONS
    first_row = randomness.replica_id() * local_batch_size + local_batch_size - n
    rows = first_row + tf.range(n, dtype=tf.int32)
    in_tail = rows >= replicas * local_batch_size - global_sources
    return tf.cast(in_tail, tf.float32) * (
        replicas * tf.cast(n, tf.float32) / global_sources)

  def _batch_size(self, x):
    """x's static batch size, or (global_batch sources, unknown statically) its tensor."""
    if x.shape[0] is None and self.sources == "global_batch":
      return tf.shape(x)[0]
    return x.shape[0]

  def _add(self, batch, group, images, labels):
    if self.batching == "one_way_per_image":
      batch.add(group, rotate_each(images, one_way_rotations(tf.shape(images)[0])), labels)
      return
    n = self.num_sources(self._batch_size(images))
    rotated, rotated_labels = rotate_last(images, labels, n)
    batch.add(group, rotated, rotated_labels)

  def _one_way_loss(self, outputs, group):
    """mimicry's: CE and accuracy over the batch rotated one way per image (its mean over
    this replica's rows, whose mean over the replicas is the global mean).

    mimicry's D computes its rotation logits in every call, so with spectral norm the head's
    u advances once per D call: the head runs on every group's features, in D's call order,
    and only the rotated group's logits enter the loss."""
    for name, output in outputs.items():
      head_logits = self.head(output.features)
      if name == "rot_" + group:
        features, logits = output.features, tf.cast(head_logits, tf.float32)
    targets = one_way_rotations(tf.shape(features)[0])
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
    correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), targets),
                      tf.float32)
    return tf.reduce_mean(losses), tf.reduce_mean(correct)

  def _loss(self, outputs, group):
    """CE and accuracy over the n originals (last of `group`) and their rotations: their
    mean, or with `sources="global_batch"` this replica's share of the global mean."""
    if self.batching == "one_way_per_image":
      return self._one_way_loss(outputs, group)
    local_batch_size = self._batch_size(outputs[group].features)
    n = self.num_sources(local_batch_size)
    features = tf.concat([outputs[group].features[-n:], outputs["rot_" + group].features],
                         axis=0)
    logits = tf.cast(self.head(features), tf.float32)
    targets = rotation_targets(n)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
    correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), targets),
                      tf.float32)
    if self.sources == "global_batch":
      weights = tf.tile(self._source_weights(local_batch_size, n), [NUM_ROTATIONS])
      losses, correct = losses * weights, correct * weights
    return tf.reduce_mean(losses), tf.reduce_mean(correct)

  def add_d_step_inputs(self, ctx, batch):
    self._add(batch, "rot_real", ctx.real_images, ctx.real_labels)

  def d_step_loss(self, ctx, outputs):
    loss, accuracy = self._loss(outputs, "real")
    return self.weight_d * loss, {"rotation_real_loss": loss, "rotation_accuracy": accuracy}

  def add_g_step_inputs(self, ctx, batch):
    # Sampled labels, not the real ones (compare_gan's conditional bug).
    self._add(batch, "rot_fake", ctx.fake_images, ctx.fake_labels)

  def g_step_loss(self, ctx, outputs):
    loss, _ = self._loss(outputs, "fake")
    return self.weight_g * loss, {"rotation_fake_loss": loss}


@gin.configurable("rotation")
def rotation(rotated_batch_size=gin.REQUIRED, weight_d=1.0, weight_g=0.2,
             sources="per_replica", batching="four_ways"):
  """The SS-GAN term (`GAN.auxiliary_terms = [@rotation()]`).

  Args:
    rotated_batch_size: compare_gan's global count of images in each side's rotation loss
      (n originals + 3n rotations), a multiple of 4 x replicas. The paper's batch 64 with
      16 images rotated 4 ways is rotated_batch_size=64.
    weight_d: beta, compare_gan's weight_rotation_loss_d (1.0).
    weight_g: alpha, compare_gan's weight_rotation_loss_g (0.2).
    sources: which images are rotated: "per_replica" (compare_gan: the last of each
      replica's batch, so the loss depends on the replica count) or "global_batch" (the
      last of the global batch, the same loss for any replica count; this project's option).
    batching: "four_ways" (compare_gan's: n images and their 3 rotations) or
      "one_way_per_image" (torch-mimicry's SSGAN: every image rotated once, by its row's
      quarter of the global batch; rotated_batch_size and sources then play no part).
  """
  return RotationTerm(rotated_batch_size, weight_d, weight_g, sources, batching)
