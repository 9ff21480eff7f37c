"""The Inception feature extractor: [0, 1] images -> pool_3 (and logits)."""

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import validate
from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import preprocess


@gin.configurable("inception.InceptionExtractor")
class InceptionExtractor:
  """Runs preprocessing + Inception in fixed-size batches.

  The last partial batch is zero-padded to `batch_size` (rows dropped after),
  so one traced / XLA-compiled function serves every batch of a given image
  size.

  Attributes:
    batch_size: images per forward pass.
    has_logits: whether `logits` (and so the Inception Score) is available;
      only TF's GraphDef weights have them.
    feature_id: SHA-256 of the converted weights, for cache keys.
    provenance: where the weights came from.
  """

  def __init__(self, weights_source=None, batch_size=64, jit_compile=False,
               disable_tf32=True):
    """Builds the network.

    Args:
      weights_source: see `inception_weights.load_inception_weights`.
      batch_size: images per forward pass.
      jit_compile: compile preprocessing + network with XLA.
      disable_tf32: turn off TF32 matmuls/convs (process-wide) so Ampere+
        GPUs give float32-exact features.
    """
    validate.integer("inception.InceptionExtractor.batch_size", batch_size,
                     minimum=1)
    validate.boolean("inception.InceptionExtractor.jit_compile", jit_compile)
    validate.boolean("inception.InceptionExtractor.disable_tf32", disable_tf32)
    if disable_tf32:
      tf.config.experimental.enable_tensor_float_32_execution(False)
    weights, self.provenance = inception_weights.load_inception_weights(
        weights_source)
    self.feature_id = self.provenance["sha256"]
    self.batch_size = batch_size
    self.model = inception_net.build_inception(weights)
    self.has_logits = "logits" in self.model.output
    self._forward = tf.function(self._run, jit_compile=jit_compile)

  def _run(self, images, quantize, clip):
    x = preprocess.preprocess_for_inception(images, quantize=quantize,
                                            clip=clip)
    return self.model(x, training=False)

  def __call__(self, images, quantize=False, clip=False):
    """Features of float [N, H, W, C] images in [0, 1] (C in {1, 3}).

    Returns:
      dict of float32 numpy arrays: `pool_3` [N, 2048] and, with GraphDef
      weights, `logits` [N, 1008].
    """
    images = np.asarray(images, np.float32)
    outputs = []
    for start in range(0, len(images), self.batch_size):
      chunk = images[start:start + self.batch_size]
      size = len(chunk)
      if size < self.batch_size:
        pad = np.zeros((self.batch_size - size,) + chunk.shape[1:], np.float32)
        chunk = np.concatenate([chunk, pad])
      result = self._forward(tf.constant(chunk), bool(quantize), bool(clip))
      outputs.append({k: v.numpy()[:size] for k, v in result.items()})
    if not outputs:
      raise ValueError("No images given.")
    return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
