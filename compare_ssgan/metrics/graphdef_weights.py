"""Reads the Inception weights (with logits) from TF's frozen GraphDef.

Accepts `classify_image_graph_def.pb` (inception-2015-12-05.tgz) or TF-GAN's
`inceptionv1_for_inception_score.pb`, as a file or inside its tarball. The
GraphDef is only parsed, never imported or executed. Each conv unit is
`<name>/conv2d_params` (HWIO) feeding a `<name>/batchnorm`
BatchNormWithGlobalNormalization whose inputs are (t, mean, var, beta, gamma);
the logits are the graph's [2048, 1008] MatMul weights and [1008] biases
(`weights_from_graph_def(logits_bias=False)` drops the biases, as the original IS code).
"""

import re
import tarfile

import numpy as np
import tensorflow as tf

from compare_ssgan.metrics import inception_net

PB_NAMES = ("inceptionv1_for_inception_score.pb", "classify_image_graph_def.pb")
_KERNEL_SUFFIX = "/conv2d_params"
_BN_OP = "BatchNormWithGlobalNormalization"
# The logits MatMul of classify_image_graph_def.pb, whose weights the original IS code reads.
_MATMUL = "softmax/logits/MatMul"
# TF scopes inside mixed_9/mixed_10 -> the TorchScript's flattened names.
_BLOCK_E_NAMES = {
    "tower/conv": "tower_conv", "tower/mixed/conv": "tower_mixed_conv",
    "tower/mixed/conv_1": "tower_mixed_conv_1", "tower_1/conv": "tower_1_conv",
    "tower_1/conv_1": "tower_1_conv_1",
    "tower_1/mixed/conv": "tower_1_mixed_conv",
    "tower_1/mixed/conv_1": "tower_1_mixed_conv_1",
    "tower_2/conv": "tower_2_conv", "conv": "conv",
}


def torch_path(tf_name):
  """TF conv scope (e.g. `mixed_9/tower_1/mixed/conv`) -> module path."""
  match = re.fullmatch(r"(mixed_(?:9|10))/(.+)", tf_name)
  if match is None:
    return tf_name
  if match.group(2) not in _BLOCK_E_NAMES:
    raise ValueError(f"Unknown conv {tf_name} in the Inception GraphDef.")
  return f"{match.group(1)}/{_BLOCK_E_NAMES[match.group(2)]}"


def graph_def_bytes_from_file(path):
  """Bytes of the .pb, given the .pb or a tarball that contains one."""
  if path.endswith((".tgz", ".tar.gz", ".tar")):
    try:
      with tarfile.open(path) as tar:
        for member in tar.getmembers():
          if member.isfile() and member.name.split("/")[-1] in PB_NAMES:
            return tar.extractfile(member).read()
    except (tarfile.TarError, EOFError) as e:
      raise ValueError(f"{path} is not a readable tarball: {e}") from e
    raise ValueError(f"{path} contains none of {PB_NAMES}.")
  with open(path, "rb") as f:
    return f.read()


def _parse(pb_bytes):
  graph_def = tf.compat.v1.GraphDef()
  try:
    graph_def.ParseFromString(pb_bytes)
  except Exception as e:  # protobuf raises its own DecodeError type.
    raise ValueError(f"Not a readable GraphDef ({len(pb_bytes)} bytes): "
                     f"{e}") from e
  return {node.name: node for node in graph_def.node}


def _const(nodes, name):
  """Value of the Const behind `name`, following Identity nodes."""
  name = name.lstrip("^").split(":")[0]
  for _ in range(8):
    node = nodes.get(name)
    if node is None:
      raise ValueError(f"Inception GraphDef has no node {name!r}.")
    if node.op == "Const":
      return tf.make_ndarray(node.attr["value"].tensor)
    if node.op != "Identity":
      raise ValueError(f"Node {name!r} is a {node.op}, expected a Const.")
    name = node.input[0].split(":")[0]
  raise ValueError(f"Identity chain too long at {name!r}.")


def _const_of_shape(nodes, shape):
  """The name of the one Const of `shape` (ValueError if not exactly one)."""
  names = [node.name for node in nodes.values() if node.op == "Const" and tuple(
      d.size for d in node.attr["value"].tensor.tensor_shape.dim) == shape]
  if len(names) != 1:
    raise ValueError(f"Cannot identify the logits weights/biases: Consts of shape {shape}: "
                     f"{names}.")
  return names[0]


def _logits(nodes):
  """The [2048, 1008] weights and [1008] biases of the logits layer.

  In `classify_image_graph_def.pb` the weights are the second input of
  `softmax/logits/MatMul` (what the original IS code reads) and the biases the other input
  of the bias add after it; otherwise, the one Const of each shape.
  """
  weights_shape = (inception_net.POOL_DIM, inception_net.NUM_LOGITS)
  bias_shape = (inception_net.NUM_LOGITS,)
  matmul = nodes.get(_MATMUL)
  if matmul is not None and matmul.op == "MatMul" and len(matmul.input) == 2:
    kernel = _const(nodes, matmul.input[1])
    add = nodes.get(_MATMUL.rsplit("/", 1)[0])
    others = [i for i in add.input if i.split(":")[0] != _MATMUL] if add is not None else []
    if add is not None and add.op in ("Add", "AddV2", "BiasAdd") and len(others) == 1:
      bias = _const(nodes, others[0])
    else:
      bias = _const(nodes, _const_of_shape(nodes, bias_shape))
  else:
    kernel = _const(nodes, _const_of_shape(nodes, weights_shape))
    bias = _const(nodes, _const_of_shape(nodes, bias_shape))
  if kernel.shape != weights_shape or bias.shape != bias_shape:
    raise ValueError(f"Logits weights/biases have shapes {kernel.shape}/{bias.shape}, "
                     f"expected {weights_shape}/{bias_shape}.")
  return kernel, bias


def weights_from_graph_def(pb_bytes, logits_bias=True):
  """BN-folded Keras weights incl. `logits/*` (see `build_inception`).

  Args:
    pb_bytes: the serialized GraphDef.
    logits_bias: keep the graph's logits biases; False zeroes them, so that the logits
      are pool_3 times `softmax/weights` alone, as the original IS code computes them
      (Salimans et al. 2016, arXiv 1606.03498, code `inception_score/model.py`).
  """
  nodes = _parse(pb_bytes)
  weights = {}
  for name in nodes:
    if not name.endswith(_KERNEL_SUFFIX):
      continue
    scope = name[:-len(_KERNEL_SUFFIX)]
    bn = nodes.get(f"{scope}/batchnorm")
    if bn is None or bn.op != _BN_OP or len(bn.input) != 5:
      raise ValueError(f"Expected a {_BN_OP} node {scope}/batchnorm.")
    mean, var, beta, gamma = (_const(nodes, i) for i in bn.input[1:])
    kernel, bias = inception_net.fold_batch_norm(
        _const(nodes, name), beta, mean, var, bn.attr["variance_epsilon"].f,
        gamma if bn.attr["scale_after_normalization"].b else None)
    path = torch_path(scope)
    weights[f"{path}/kernel"] = kernel
    weights[f"{path}/bias"] = bias
  kernel, bias = _logits(nodes)
  weights[f"{inception_net.LOGITS_LAYER}/kernel"] = kernel.astype(np.float32)
  weights[f"{inception_net.LOGITS_LAYER}/bias"] = (
      bias.astype(np.float32) if logits_bias else np.zeros_like(bias, np.float32))
  return weights
