"""GraphDef reader, checked against TF's own BatchNormWithGlobalNormalization."""

import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.metrics import graphdef_weights
from compare_ssgan.metrics import inception_net

_EPS = 1e-3


def _attr(**kwargs):
  return tf.compat.v1.AttrValue(**kwargs)


_F32 = _attr(type=tf.float32.as_datatype_enum)


def _node(graph_def, name, op, inputs=(), **attrs):
  node = graph_def.node.add(name=name, op=op)
  node.input.extend(inputs)
  for key, value in attrs.items():
    node.attr[key].CopyFrom(value)
  return name


def _const(graph_def, name, value):
  return _node(graph_def, name, "Const", dtype=_F32,
               value=_attr(tensor=tf.make_tensor_proto(value)))


def _conv_unit(graph_def, x, scope, kernel, bn, scale_after_normalization):
  """A conv unit named and built like the 2015 Inception graph."""
  mean, var, beta, gamma = bn
  conv = _node(graph_def, f"{scope}/Conv2D", "Conv2D",
               [x, _const(graph_def, f"{scope}/conv2d_params", kernel)], T=_F32,
               strides=_attr(list=_attr().ListValue(i=[1, 1, 1, 1])),
               padding=_attr(s=b"SAME"))
  gamma_raw = _const(graph_def, f"{scope}/batchnorm/gamma_raw", gamma)
  inputs = [conv,
            _const(graph_def, f"{scope}/batchnorm/moving_mean", mean),
            _const(graph_def, f"{scope}/batchnorm/moving_variance", var),
            _const(graph_def, f"{scope}/batchnorm/beta", beta),
            _node(graph_def, f"{scope}/batchnorm/gamma", "Identity",
                  [gamma_raw], T=_F32)]
  bn_out = _node(graph_def, f"{scope}/batchnorm",
                 "BatchNormWithGlobalNormalization", inputs, T=_F32,
                 variance_epsilon=_attr(f=_EPS),
                 scale_after_normalization=_attr(b=scale_after_normalization))
  return _node(graph_def, scope, "Relu", [bn_out], T=_F32)


def _random_bn(rng, channels):
  return (rng.randn(channels).astype(np.float32),
          (rng.rand(channels) + 0.2).astype(np.float32),
          rng.randn(channels).astype(np.float32),
          (rng.rand(channels) + 0.5).astype(np.float32))


def _tiny_graph_def(rng):
  """Two conv units (one with, one without gamma) and logits constants.

  BatchNormWithGlobalNormalization was removed from GraphDef version 9 on, so
  the graph claims producer version 8, as the 2015 graph does.
  """
  graph_def = tf.compat.v1.GraphDef()
  graph_def.versions.producer = 8
  x = _node(graph_def, "Mul", "Placeholder", dtype=_F32)
  a = _conv_unit(graph_def, x, "conv",
                 rng.randn(3, 3, 3, 4).astype(np.float32), _random_bn(rng, 4),
                 True)
  _conv_unit(graph_def, a, "mixed_9/tower_1/mixed/conv_1",
             rng.randn(3, 1, 4, 2).astype(np.float32), _random_bn(rng, 2),
             False)
  _const(graph_def, "softmax/weights",
         rng.randn(2048, 1008).astype(np.float32) * 0.01)
  _const(graph_def, "softmax/biases", rng.randn(1008).astype(np.float32))
  return graph_def


def test_folded_weights_reproduce_tf_batchnorm_op():
  rng = np.random.RandomState(0)
  graph_def = _tiny_graph_def(rng)
  images = rng.randn(2, 5, 5, 3).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    tf.graph_util.import_graph_def(graph_def, name="")
  with tf.compat.v1.Session(graph=graph) as sess:
    want_a, want_b, want_bias = sess.run(
        ["conv:0", "mixed_9/tower_1/mixed/conv_1:0", "softmax/biases:0"],
        {"Mul:0": images})
  weights = graphdef_weights.weights_from_graph_def(
      graph_def.SerializeToString())
  assert sorted(weights) == sorted([
      "conv/kernel", "conv/bias", "mixed_9/tower_1_mixed_conv_1/kernel",
      "mixed_9/tower_1_mixed_conv_1/bias", "logits/kernel", "logits/bias"])

  def unit(inp, path):
    return tf.nn.relu(tf.nn.conv2d(inp, weights[f"{path}/kernel"], 1, "SAME")
                      + weights[f"{path}/bias"])
  got_a = unit(images, "conv")
  np.testing.assert_allclose(got_a, want_a, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(unit(want_a, "mixed_9/tower_1_mixed_conv_1"),
                             want_b, rtol=1e-4, atol=1e-4)
  assert weights["logits/kernel"].shape == (2048, 1008)
  np.testing.assert_array_equal(weights["logits/bias"], want_bias)


def test_reads_pb_from_tarball(tmp_path):
  pb = _tiny_graph_def(np.random.RandomState(1)).SerializeToString()
  (tmp_path / "classify_image_graph_def.pb").write_bytes(pb)
  with tarfile.open(tmp_path / "inception-2015-12-05.tgz", "w:gz") as tar:
    tar.add(tmp_path / "classify_image_graph_def.pb",
            arcname="classify_image_graph_def.pb")
  assert graphdef_weights.graph_def_bytes_from_file(
      str(tmp_path / "inception-2015-12-05.tgz")) == pb


@pytest.mark.parametrize("tf_name,torch_path", [
    ("mixed_4/tower_1/conv_2", "mixed_4/tower_1/conv_2"),
    ("mixed_8/tower/conv_1", "mixed_8/tower/conv_1"),
    ("mixed_9/tower/mixed/conv", "mixed_9/tower_mixed_conv"),
    ("mixed_10/tower_1/mixed/conv_1", "mixed_10/tower_1_mixed_conv_1"),
    ("mixed_10/tower_2/conv", "mixed_10/tower_2_conv"),
    ("mixed_10/conv", "mixed_10/conv"),
])
def test_tf_names_map_to_module_paths(tf_name, torch_path):
  assert graphdef_weights.torch_path(tf_name) == torch_path


def test_bad_graphs_raise():
  with pytest.raises(ValueError, match="Not a readable GraphDef"):
    graphdef_weights.weights_from_graph_def(b"\x00garbage\xff" * 10)
  graph_def = tf.compat.v1.GraphDef()
  _const(graph_def, "conv/conv2d_params", np.zeros((1, 1, 3, 4), np.float32))
  with pytest.raises(ValueError, match="conv/batchnorm"):
    graphdef_weights.weights_from_graph_def(graph_def.SerializeToString())
  with pytest.raises(ValueError, match="Unknown conv"):
    graphdef_weights.torch_path("mixed_9/tower_3/conv")


def test_block_e_names_match_the_keras_model():
  """mixed_9/10 convs of the Keras model are exactly the mapped TF scopes."""
  model = inception_net.build_inception()
  names = [l.name for l in model.layers if isinstance(l, keras.layers.Conv2D)]
  assert len(names) == 94
  for block in ("mixed_9", "mixed_10"):
    ours = {n.split(".", 1)[1] for n in names if n.startswith(block + ".")}
    assert ours == set(graphdef_weights._BLOCK_E_NAMES.values())


def _logits_graph_def(rng):
  """The 2015 graph's logits nodes (MatMul of softmax/weights, read through an Identity,
  then BiasAdd of softmax/biases) beside decoy Consts of the same shapes."""
  graph_def = tf.compat.v1.GraphDef()
  pool = _node(graph_def, "pool_3/_reshape", "Placeholder", dtype=_F32)
  raw = _const(graph_def, "softmax/weights_raw",
               rng.randn(2048, 1008).astype(np.float32) * 0.05)
  weights = _node(graph_def, "softmax/weights", "Identity", [raw], T=_F32)
  _const(graph_def, "decoy/weights", rng.randn(2048, 1008).astype(np.float32))
  _const(graph_def, "decoy/biases", rng.randn(1008).astype(np.float32))
  matmul = _node(graph_def, "softmax/logits/MatMul", "MatMul", [pool, weights], T=_F32)
  biases = _const(graph_def, "softmax/biases", rng.randn(1008).astype(np.float32))
  _node(graph_def, "softmax/logits", "BiasAdd", [matmul, biases], T=_F32)
  return graph_def


def test_logits_are_the_matmul_weights_with_or_without_the_bias():
  """The weights are the ones the logits MatMul reads (not a Const of the same shape), and
  logits_bias=False gives the MatMul's output, the original IS code's logits."""
  rng = np.random.RandomState(2)
  graph_def = _logits_graph_def(rng)
  pool = np.maximum(rng.randn(3, 2048), 0).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    tf.graph_util.import_graph_def(graph_def, name="")
  with tf.compat.v1.Session(graph=graph) as sess:
    unbiased, biased = sess.run(["softmax/logits/MatMul:0", "softmax/logits:0"],
                                {"pool_3/_reshape:0": pool})
  pb = graph_def.SerializeToString()
  for logits_bias, want in ((True, biased), (False, unbiased)):
    weights = graphdef_weights.weights_from_graph_def(pb, logits_bias=logits_bias)
    got = pool @ weights["logits/kernel"] + weights["logits/bias"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  assert np.abs(biased - unbiased).max() > 0.1  # The bias matters.
  np.testing.assert_array_equal(
      graphdef_weights.weights_from_graph_def(pb, logits_bias=False)["logits/bias"], 0)
