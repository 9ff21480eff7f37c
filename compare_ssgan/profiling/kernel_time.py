"""Where a TensorFlow computation spends its time, by op type (TensorBoard's profiler).

`profile_op_types(fn)` runs `fn` under `tf.profiler.experimental` (the trace TensorBoard's
Profile tab reads, kept in `logdir` when one is given) and sums the durations of the TF
kernels it executed per op type. Shares are of the kernels' summed time: ops that run
concurrently on the inter-op threads each count in full, and time outside kernels (Python,
the executor) is not in it. The op types are the kernels' (e.g. oneDNN's
`_MklNativeConv2D`, or `_MklNativeFusedConv2D` where a conv, bias and activation were fused).
"""

import collections
import glob
import os
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

# Calls of nested functions: their kernels are listed on their own, so counting the call
# too would count that time twice.
_CONTAINER_SUFFIXES = ("PartitionedCall", "While", "If", "Case")


def _kernel_type(metadata):
  """A kernel event's op type, or None: kernel events are named "<node>:<op type>"."""
  op_type = metadata.display_name
  if not op_type or not metadata.name.endswith(":" + op_type):
    return None
  if op_type.endswith(_CONTAINER_SUFFIXES):
    return None
  return op_type


def op_type_seconds(xspace):
  """{op type: summed kernel seconds} over the host plane of a profiler XSpace."""
  seconds = collections.Counter()
  for plane in xspace.planes:
    if not plane.name.startswith("/host:"):
      continue
    for line in plane.lines:
      for event in line.events:
        op_type = _kernel_type(plane.event_metadata[event.metadata_id])
        if op_type:
          seconds[op_type] += event.duration_ps * 1e-12
  return dict(seconds)


def _read_xspace(logdir):
  paths = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
  if not paths:
    raise FileNotFoundError(f"The profiler wrote no *.xplane.pb under {logdir}.")
  xspace = xplane_pb2.XSpace()
  with open(paths[-1], "rb") as f:
    xspace.ParseFromString(f.read())
  return xspace


def profile_op_types(fn, logdir=None):
  """Runs `fn()` under the profiler; returns {op type: seconds} of its kernels.

  Args:
    fn: what to profile; run it once before, so that tracing is not in the profile.
    logdir: where the trace goes (`tensorboard --logdir` it); default: a temporary one.
  """
  with tempfile.TemporaryDirectory() as scratch:
    logdir = logdir or scratch
    tf.profiler.experimental.start(logdir)
    try:
      fn()
    finally:
      tf.profiler.experimental.stop()
    return op_type_seconds(_read_xspace(logdir))


def shares(seconds, top=None):
  """[(op type, seconds, share of the total)], largest first; the rest as "other"."""
  total = sum(seconds.values())
  if not total:
    raise ValueError("The profile holds no kernel time: did the function run any TF op?")
  ranked = sorted(seconds.items(), key=lambda item: -item[1])
  if top is not None and len(ranked) > top:
    ranked = ranked[:top] + [("other", sum(s for _, s in ranked[top:]))]
  return [(op_type, s, s / total) for op_type, s in ranked]
