"""The executed-FLOP counter against counts worked out by hand on tiny networks."""
import pytest
import tensorflow as tf

from compare_ssgan.profiling import flops

N = 2


def _variable(*shape):
  return tf.Variable(tf.random.normal(shape))


def test_training_step_counts_only_what_runs():
  frozen = _variable(6, 5 * 5 * 2)  # Like G in a D step: forward only.
  conv = _variable(3, 3, 2, 4)
  dense = _variable(5 * 5 * 4, 3)

  @tf.function
  def step(z):
    x = tf.reshape(tf.matmul(z, frozen), [N, 5, 5, 2])
    with tf.GradientTape() as tape:
      h = tf.nn.relu(tf.nn.conv2d(x, conv, 1, "SAME"))
      loss = tf.reduce_sum(tf.matmul(tf.reshape(h, [N, -1]), dense))
    for v, g in zip((conv, dense), tape.gradient(loss, [conv, dense])):
      v.assign_sub(0.1 * g)
    return loss  # Reported, so the last forward op runs (its gradient needs no output).

  counts = flops.function_flops(step.get_concrete_function(tf.zeros([N, 6])))
  conv_pass = 2 * (N * 5 * 5 * 4) * (3 * 3 * 2)  # 2 x outputs x MACs per output.
  dense_pass = 2 * N * (5 * 5 * 4) * 3
  frozen_pass = 2 * N * 6 * (5 * 5 * 2)
  # conv: forward + filter gradient, no input gradient (nothing upstream trains);
  # dense: forward + weight gradient + input gradient (the conv's gradient needs it).
  assert counts == {"Conv2D": conv_pass, "Conv2DBackpropFilter": conv_pass,
                    "MatMul": frozen_pass + 3 * dense_pass}


def test_einsum_counts_every_index_combination_once():
  a, b = _variable(N, 3, 4), _variable(N, 4, 5, 2)

  @tf.function
  def product():
    # Like the augmentations' per-image interpolation; a transpose runs no products.
    return tf.einsum("nij,njkc->nikc", a, b), tf.einsum("nij->nji", a)

  counts = flops.function_flops(product.get_concrete_function())
  assert counts == {"Einsum": 2 * N * 3 * 4 * 5 * 2}  # 2 x (n, i, j, k, c) combinations.


def test_nested_calls_are_counted_and_loops_refused():
  w = _variable(4, 4)
  inner = tf.function(lambda x: tf.matmul(x, w))

  @tf.function
  def nested(x):
    return inner(x)

  assert flops.function_flops(nested.get_concrete_function(tf.zeros([N, 4]))) == {
      "MatMul": 2 * N * 4 * 4}

  @tf.function
  def loop(x):
    for _ in tf.range(3):
      x = tf.matmul(x, w)
    return x

  with pytest.raises(ValueError, match="unknown number of times"):
    flops.function_flops(loop.get_concrete_function(tf.zeros([N, 4])))
