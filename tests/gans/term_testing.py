"""Tiny networks and a step context for testing auxiliary terms alone, with numpy mirrors.

`run_d_step` / `run_g_step` are the GAN step's own assembly (`base.discriminator_outputs`,
`base.terms_loss`) without the adversarial loss. A term test:

  term = my_term.my_term(weight=0.5)
  term.build_heads(term_testing.TinyDiscriminator(), term_testing.TinyGenerator())
  ctx = term_testing.make_context(reals, fakes, terms=[term])
  (loss, metrics), outputs = term_testing.run_d_step(ctx)  # run_g_step(ctx): G's side.
  np.testing.assert_allclose(loss, <the same loss in numpy>, rtol=1e-5)
"""
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan.gans.terms import base


def quadrant_means(images):
  """numpy: [N, H, W, C] -> [N, 4] means of channel 0 over the TL, TR, BL, BR quadrants."""
  images = np.asarray(images)
  h, w = images.shape[1] // 2, images.shape[2] // 2
  x = images[..., 0]
  return np.stack([x[:, :h, :w].mean((1, 2)), x[:, :h, w:].mean((1, 2)),
                   x[:, h:, :w].mean((1, 2)), x[:, h:, w:].mean((1, 2))], axis=1)


class TinyDiscriminator(keras.Model):
  """features = scale * quadrant means (changes under rotation); logits = features @ w."""

  spectral_norm = False
  feature_dim = 4

  def __init__(self):
    super().__init__(name="discriminator")
    self.scale = self.add_weight(name="scale", shape=(4,), initializer="ones")
    self.w = self.add_weight(name="w", shape=(4, 1),
                             initializer=keras.initializers.Constant([[1.0], [-2.0],
                                                                      [3.0], [0.5]]))

  def call(self, images, labels=None, training=False):
    del training
    self.seen = {"images": images, "labels": labels}  # The last call's inputs (eager).
    h, w = images.shape[1] // 2, images.shape[2] // 2
    x = images[..., 0]
    quadrants = tf.stack([tf.reduce_mean(x[:, :h, :w], [1, 2]),
                          tf.reduce_mean(x[:, :h, w:], [1, 2]),
                          tf.reduce_mean(x[:, h:, :w], [1, 2]),
                          tf.reduce_mean(x[:, h:, w:], [1, 2])], axis=1)
    features = quadrants * self.scale
    return tf.matmul(features, self.w), features

  def numpy_logits(self, images):
    return quadrant_means(images) * self.scale.numpy() @ self.w.numpy()


class TinyGenerator(keras.Model):
  """images = sigmoid(z @ kernel) reshaped to [N, size, size, 1]."""

  def __init__(self, z_dim=6, size=4):
    super().__init__(name="generator")
    self.z_dim = z_dim
    self.size = size
    self.kernel = self.add_weight(name="kernel", shape=(z_dim, size * size),
                                  initializer=keras.initializers.RandomNormal(seed=1))

  def call(self, z, labels=None, training=False):
    del labels, training
    return tf.reshape(tf.sigmoid(tf.matmul(z, self.kernel)), [-1, self.size, self.size, 1])


def make_context(real_images, fake_images=None, real_labels=None, fake_labels=None,
                 z=None, seed=(3, 4), discriminator=None, generator=None,
                 conditional=False, terms=()):
  """A StepContext of `terms` over tiny networks (tensors as given; nothing is generated).

  As in the GAN step, the context's real and fake images are the given ones after the
  terms' `transform_discriminator_inputs`. Without `fake_images` it has no fakes (for a
  D step of reals alone and no generator: `base.StepContext.reals_only`).
  """
  gan = base.StepNetworks(discriminator=discriminator or TinyDiscriminator(),
                         generator=generator or TinyGenerator(), conditional=conditional,
                         terms=tuple(terms))
  as_tensor = lambda x: None if x is None else tf.convert_to_tensor(x)
  return base.StepContext(gan, as_tensor(real_images), as_tensor(real_labels),
                          as_tensor(z), as_tensor(fake_labels), as_tensor(fake_images),
                          tf.constant(seed, tf.int32))


def run_d_step(ctx):
  """The GAN's D step without the adversarial loss: one D call on "real", "fake" and the
  terms' groups. Returns ((summed term loss, metrics), {group: D output})."""
  outputs = base.discriminator_outputs(ctx, "discriminator")
  return base.terms_loss(ctx, outputs, "discriminator"), outputs


def run_g_step(ctx, with_real=False):
  """The GAN's G step without the adversarial loss ("real" only if `with_real`)."""
  outputs = base.discriminator_outputs(ctx, "generator", with_real)
  return base.terms_loss(ctx, outputs, "generator"), outputs


def softmax_cross_entropy(logits, targets):
  """numpy: mean of -log softmax(logits)[target]."""
  logits = logits - logits.max(axis=1, keepdims=True)
  log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
  return -log_probs[np.arange(len(targets)), targets].mean()
