"""The Inception feature extractor: [0, 1] images -> pool_3 (and logits)."""

import hashlib

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import preprocess


def feature_id(weights_sha256, resize):
  """Identifies the features of these weights under this resize, for cache keys.

  compare_gan's resize keeps the weights' SHA-256 alone (the id real statistics were cached
  under before the resize was a choice); another resize is the SHA-256 of
  "<weights SHA-256>:<resize>".
  """
  if resize == preprocess.COMPARE_GAN:
    return weights_sha256
  return hashlib.sha256(f"{weights_sha256}:{resize}".encode()).hexdigest()


def _padded(chunk, size):
  """`chunk` with zero images appended up to `size` rows."""
  if len(chunk) == size:
    return chunk
  pad = np.zeros((size - len(chunk),) + chunk.shape[1:], np.float32)
  return np.concatenate([chunk, pad])


@gin.configurable("inception.InceptionExtractor")
class InceptionExtractor:
  """Runs preprocessing + Inception in fixed-size batches.

  The last partial batch is zero-padded to `batch_size` (rows dropped after),
  so one traced / XLA-compiled function serves every batch of a given image
  size.

  Attributes:
    batch_size: images per forward pass.
    resize: the resize protocol, one of preprocess.RESIZES.
    has_logits: whether `logits` (and so the Inception Score) is available;
      only TF's GraphDef weights have them.
    feature_id: identifies the weights and the resize, for cache keys (`feature_id`).
    provenance: where the weights came from.
  """

  def __init__(self, weights_source=None, batch_size=64, jit_compile=False,
               disable_tf32=True, resize=preprocess.COMPARE_GAN):
    """Builds the network.

    Args:
      weights_source: see `inception_weights.load_inception_weights`.
      batch_size: images per forward pass.
      jit_compile: compile the network (and compare_gan's resize) with XLA.
      disable_tf32: turn off TF32 matmuls/convs (process-wide) so Ampere+
        GPUs give float32-exact features.
      resize: "compare_gan" (TF1 legacy bilinear in the graph, compare_gan's) or "clean"
        (clean-fid's PIL bicubic on the host); see `preprocess`.
    """
    validate.integer("inception.InceptionExtractor.batch_size", batch_size,
                     minimum=1)
    validate.boolean("inception.InceptionExtractor.jit_compile", jit_compile)
    validate.boolean("inception.InceptionExtractor.disable_tf32", disable_tf32)
    validate.choice("inception.InceptionExtractor.resize", resize, preprocess.RESIZES)
    if disable_tf32:
      tf.config.experimental.enable_tensor_float_32_execution(False)
    weights, self.provenance = inception_weights.load_inception_weights(
        weights_source)
    self.resize = resize
    self.feature_id = feature_id(self.provenance["sha256"], resize)
    self.batch_size = batch_size
    self.model = inception_net.build_inception(weights)
    self.has_logits = "logits" in self.model.output
    self._forward = tf.function(self._run, jit_compile=jit_compile)

  def _run(self, images, quantize, clip):
    if self.resize == preprocess.CLEAN:  # Resized on the host, in [0, 255].
      x = preprocess.to_inception_range(images)
    else:
      x = preprocess.preprocess_for_inception(images, quantize=quantize, clip=clip)
    return self.model(x, training=False)

  def __call__(self, images, quantize=False, clip=False):
    """Features of float [N, H, W, C] images in [0, 1] (C in {1, 3}).

    Args:
      images: the images.
      quantize: round to 8-bit levels after x255, before the resize.
      clip: clip to [0, 255] after x255, before the resize.

    Returns:
      dict of float32 numpy arrays: `pool_3` [N, 2048] and, with GraphDef
      weights, `logits` [N, 1008].
    """
    images = np.asarray(images, np.float32)
    outputs = []
    for start in range(0, len(images), self.batch_size):
      chunk = images[start:start + self.batch_size]
      size = len(chunk)
      if self.resize == preprocess.CLEAN:
        chunk = preprocess.resize_clean(chunk, quantize=quantize, clip=clip)
      result = self._forward(tf.constant(_padded(chunk, self.batch_size)), bool(quantize),
                             bool(clip))
      outputs.append({k: v.numpy()[:size] for k, v in result.items()})
    if not outputs:
      raise ValueError("No images given.")
    return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
