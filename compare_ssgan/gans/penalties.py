"""Gradient penalties on D (compare_gan's penalty_lib, plus R1).

A penalty takes `discriminator_logits(images, labels) -> [N, 1]` (or [N, patches] for a patch
critic, whose patch outputs' sum is differentiated), the real and fake batches,
the real labels and a stateless seed, and returns a scalar. The GAN multiplies it by its
`penalty_weight` (compare_gan's `options.lamba`; R1's gamma) and adds it to D's loss only.
"""
import gin
import tensorflow as tf


def _input_gradient_norms(discriminator_logits, images, labels):
  """Per-example L2 norm of d logits / d images, with compare_gan's 1e-4 under the root."""
  with tf.GradientTape() as tape:
    tape.watch(images)
    logits = discriminator_logits(images, labels)
  grads = tape.gradient(logits, images)
  return tf.sqrt(1e-4 + tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))


@gin.configurable("no_penalty", allowlist=[])
def no_penalty(discriminator_logits, real_images, fake_images, real_labels, seed):
  del discriminator_logits, real_images, fake_images, real_labels, seed
  return tf.constant(0.0)


@gin.configurable("wgangp_penalty", allowlist=[])
def wgangp_penalty(discriminator_logits, real_images, fake_images, real_labels, seed):
  """Gulrajani et al.: (||grad D(x_hat)|| - 1)^2 on random interpolates (real labels)."""
  alpha = tf.random.stateless_uniform(
      [tf.shape(real_images)[0], 1, 1, 1], seed, dtype=real_images.dtype)
  interpolates = real_images + alpha * (fake_images - real_images)
  slopes = _input_gradient_norms(discriminator_logits, interpolates, real_labels)
  return tf.reduce_mean(tf.square(slopes - 1.0))


@gin.configurable("dragan_penalty", allowlist=[])
def dragan_penalty(discriminator_logits, real_images, fake_images, real_labels, seed):
  """Kodali et al.: the GP slope term around reals perturbed by the batch's std."""
  del fake_images
  _, variance = tf.nn.moments(real_images, axes=[0, 1, 2, 3])
  noise = tf.random.stateless_uniform(tf.shape(real_images), seed, dtype=real_images.dtype)
  noisy = tf.clip_by_value(real_images + tf.sqrt(variance) * (noise - 0.5), 0.0, 1.0)
  slopes = _input_gradient_norms(discriminator_logits, noisy, real_labels)
  return tf.reduce_mean(tf.square(slopes - 1.0))


@gin.configurable("r1_penalty", allowlist=[])
def r1_penalty(discriminator_logits, real_images, fake_images, real_labels, seed):
  """Mescheder et al. 2018: 0.5 * E||grad D(x)||^2 on reals (zero-centred).

  With `GAN.penalty_weight = gamma` this is the paper's gamma/2 * E||grad||^2.
  """
  del fake_images, seed
  with tf.GradientTape() as tape:
    tape.watch(real_images)
    logits = discriminator_logits(real_images, real_labels)
  grads = tape.gradient(logits, real_images)
  return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
