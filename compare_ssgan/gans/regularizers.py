"""Weight regularizers: BigGAN's orthogonal regularization."""
import tensorflow as tf


def orthogonal_regularization(variables, beta):
  """Brock et al. 2019: beta * ||W^T W * (1 - I)||_F^2 summed over kernels.

  Only off-diagonal terms are penalised (the BigGAN variant), so filter norms stay free.
  Kernels are flattened to [fan_in, out]; biases, gains and 1-D variables are skipped.
  """
  total = tf.constant(0.0)
  for var in variables:
    if var.shape.rank is None or var.shape.rank < 2:
      continue
    w = tf.reshape(tf.cast(var, tf.float32), [-1, var.shape[-1]])
    gram = tf.matmul(w, w, transpose_a=True)
    off_diagonal = gram * (1.0 - tf.eye(var.shape[-1]))
    total += tf.reduce_sum(tf.square(off_diagonal))
  return beta * total
