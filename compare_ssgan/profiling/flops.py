"""FLOPs that a traced TensorFlow function executes: convolutions and matrix products
(MatMul, BatchMatMul, Einsum).

Counted from the ops of the function's graph that run: those its outputs or its
stateful ops (variable updates) depend on, which is what TF's function runtime keeps.
So each layer's forward op counts once, and a gradient counts only where something
consumes it: a forward pass whose gradient is not needed (G's forward in a D step)
counts once; the weight gradients of D in a G step, and the input gradient of a
network's first layer, are built by TF but never run, and are not counted. One
multiply-add is 2 FLOPs. Ops of nested function calls are counted too; a loop or a
conditional with convolutions or matrix products inside is refused (how often it runs
is not in the graph), as is a product op this module does not know.
"""

import collections
import statistics
import time

import numpy as np
import tensorflow as tf

_LOOP_OPS = ("While", "StatelessWhile")
_BRANCH_OPS = ("If", "StatelessIf", "Case", "StatelessCase")


def _static_shape(tensor, op):
  shape = tensor.shape
  if shape.rank is None or not shape.is_fully_defined():
    raise ValueError(f"Cannot count the FLOPs of {op.type} op {op.name!r}: shape "
                     f"{shape} of {tensor.name} is not static.")
  return shape.as_list()


def _conv_flops(op):
  """2 x output elements x (kh kw cin): the same for forward and both gradients."""
  if op.type == "Conv2D":
    kernel, out = op.inputs[1], op.outputs[0]
  elif op.type == "Conv2DBackpropInput":  # Also a transposed conv's forward.
    kernel, out = op.inputs[1], op.inputs[2]
  else:  # Conv2DBackpropFilter: the filter gradient has the kernel's shape.
    kernel, out = op.outputs[0], op.inputs[2]
  kh, kw, cin, _ = _static_shape(kernel, op)
  return 2 * int(np.prod(_static_shape(out, op))) * kh * kw * cin


def _matmul_flops(op):
  """2 x output elements x the contracted size."""
  a = _static_shape(op.inputs[0], op)
  if op.type == "MatMul":
    k = a[0] if op.get_attr("transpose_a") else a[1]
  else:
    k = a[-2] if op.get_attr("adj_x") else a[-1]
  return 2 * int(np.prod(_static_shape(op.outputs[0], op))) * k


def _einsum_flops(op):
  """2 x the product of every index's size for two operands (TF's Einsum op takes one or
  two); one operand is a transpose or a sum, no products."""
  equation = op.get_attr("equation").decode()
  terms = equation.split("->")[0].split(",")
  if "." in equation or len(terms) != len(op.inputs):
    raise ValueError(f"Cannot count the FLOPs of Einsum op {op.name!r}: equation "
                     f"{equation!r} (ellipses are not handled).")
  if len(terms) == 1:
    return 0
  sizes = {}
  for term, tensor in zip(terms, op.inputs):
    sizes.update(zip(term, _static_shape(tensor, op)))
  return 2 * int(np.prod(list(sizes.values())))


_COUNTERS = {"Conv2D": _conv_flops, "Conv2DBackpropInput": _conv_flops,
             "Conv2DBackpropFilter": _conv_flops, "Einsum": _einsum_flops,
             "MatMul": _matmul_flops, "BatchMatMul": _matmul_flops, "BatchMatMulV2": _matmul_flops,
             "BatchMatMulV3": _matmul_flops}


def _executed_ops(graph):
  """The ops that the graph's outputs and control outputs depend on."""
  pending = [t.op for t in graph.outputs] + list(graph.control_outputs)
  seen = set()
  while pending:
    op = pending.pop()
    if op.name in seen:
      continue
    seen.add(op.name)
    pending.extend(t.op for t in op.inputs)
    pending.extend(op.control_inputs)
  return [op for op in graph.get_operations() if op.name in seen]


def _function_graphs(graph, op):
  """The graphs of the functions an op calls (attributes holding a function)."""
  graphs = []
  for name, attr in op.node_def.attr.items():
    names = ([attr.func.name] if attr.HasField("func") else
             [f.name for f in attr.list.func])
    for function_name in names:
      if function_name:
        graphs.append((name, graph._get_function(function_name).graph))  # pylint: disable=protected-access
  return graphs


def graph_flops(graph):
  """{op type: FLOPs} of the convolutions and matrix products a FuncGraph runs."""
  counts = collections.Counter()
  for op in _executed_ops(graph):
    if op.type in _COUNTERS:
      counts[op.type] += _COUNTERS[op.type](op)
    elif "Conv" in op.type or "MatMul" in op.type:
      raise ValueError(f"Cannot count the FLOPs of {op.type} op {op.name!r}.")
    for attr, body in _function_graphs(graph, op):
      nested = graph_flops(body)
      if nested and (op.type in _LOOP_OPS or op.type in _BRANCH_OPS):
        raise ValueError(f"{op.type} op {op.name!r} runs {sum(nested.values())} "
                         f"FLOPs in its {attr!r} an unknown number of times.")
      counts.update(nested)
  return dict(counts)


def function_flops(concrete_function):
  """{op type: FLOPs} of one call of a `tf.function`'s concrete function."""
  return graph_flops(concrete_function.graph)


def matmul_gflops(n=2048, repeats=3):
  """The GFLOP/s of an n^3 fp32 matmul here (median of `repeats`): the device's
  practical peak, the yardstick of the benchmarks' achieved GFLOP/s."""
  a = tf.random.stateless_normal([n, n], seed=[0, 1])
  b = tf.random.stateless_normal([n, n], seed=[0, 2])
  product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
  product().numpy()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    product().numpy()
    times.append(time.perf_counter() - start)
  return 2 * n**3 / statistics.median(times) / 1e9
