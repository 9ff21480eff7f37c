"""mimicry's recorded run (the .npz that mimicry_equivalence_torch.py writes): its settings,
and each tensor of its state paired with the variable of this project's G and D that holds it.

A Pair's `to_ours` maps mimicry's layout to this project's (conv OIHW -> HWIO, linear
[out, in] -> [in, out], G's first layer from mimicry's CHW order to HWC, u as a row);
`state_pairs` refuses a map that leaves out a variable here or a tensor there.
"""
import json

import numpy as np


def meta_of(arrays):
  return json.loads(str(arrays["meta"]))



def _conv(w):
  return np.transpose(w, (2, 3, 1, 0))  # OIHW -> HWIO.


def _dense(w):
  return np.transpose(w)  # [out, in] -> [in, out].


def _row(u):
  return np.reshape(u, (1, -1))  # u of size out -> the "right" vector [1, out].


def _same(x):
  return x


def _seed_map(ch):
  """G's first layer: mimicry views its output as [C, 4, 4], this project as [4, 4, C]."""
  def kernel(w):
    nz = w.shape[1]
    return w.reshape(ch, 4, 4, nz).transpose(3, 1, 2, 0).reshape(nz, 16 * ch)

  def bias(b):
    return b.reshape(ch, 4, 4).transpose(1, 2, 0).reshape(-1)
  return kernel, bias


class Pair:
  """One tensor of mimicry's state and its variable here: `to_ours` maps its layout."""

  def __init__(self, theirs, variable, to_ours, kind, slot_of=None):
    self.theirs = theirs        # e.g. "D/block2.c1.weight_orig"
    self.variable = variable
    self.to_ours = to_ours
    self.kind = kind            # One of KINDS.
    self.slot_of = slot_of      # mimicry's parameter name for Adam's state (weights only)


# What the rows compare. "shift": the biases of G's block convs (c1, c2, c_sc). Each adds a
# per-channel constant that reaches only batch norms (directly, or through the next blocks'
# identity / 1x1 / bilinear shortcuts, which keep a constant constant), which subtract it
# again: no output of G in training mode depends on them, their true gradient is 0, and what
# either side computes for it is rounding noise (|g| about 1e-7 of the other gradients),
# which Adam scales up to steps of up to the learning rate. They are compared, but apart:
# `check_shifts_are_invisible` shows that G's output does not see them. The BN running means
# after them follow their noise, and are compared apart too ("bn_mean").
KINDS = ("weight", "shift", "u", "bn_mean", "bn_var")


def _sn_layer(pairs, prefix, layer, arrays, dense=False):
  """A spectrally normalised conv / linear layer: torch's spectral_norm names its parameter
  weight_orig and u weight_u; mimicry's own SNLinear (SSGAN's heads) weight and sn_u."""
  builtin = f"init/{prefix}.weight_orig" in arrays
  weight = f"{prefix}.weight_orig" if builtin else f"{prefix}.weight"
  pairs.append(Pair(weight, layer.kernel, _dense if dense else _conv, "weight", weight))
  pairs.append(Pair(f"{prefix}.bias", layer.bias, _same, "weight", f"{prefix}.bias"))
  pairs.append(Pair(f"{prefix}.weight_u" if builtin else f"{prefix}.sn_u", layer.sn.u, _row,
                    "u"))


def _plain_layer(pairs, prefix, layer, kernel_map=_conv, bias_map=_same, bias_kind="weight"):
  pairs.append(Pair(f"{prefix}.weight", layer.kernel, kernel_map, "weight",
                    f"{prefix}.weight"))
  pairs.append(Pair(f"{prefix}.bias", layer.bias, bias_map, bias_kind, f"{prefix}.bias"))


def _batch_norm(pairs, prefix, layer):
  pairs.append(Pair(f"{prefix}.weight", layer.gamma, _same, "weight", f"{prefix}.weight"))
  pairs.append(Pair(f"{prefix}.bias", layer.beta, _same, "weight", f"{prefix}.bias"))
  pairs.append(Pair(f"{prefix}.running_mean", layer.standardize.moving_mean, _same,
                    "bn_mean"))
  pairs.append(Pair(f"{prefix}.running_var", layer.standardize.moving_variance, _same,
                    "bn_var"))


def state_pairs(gan, arrays):
  """Every tensor of mimicry's G and D (and SSGAN's rotation head) with its variable here."""
  g, d = gan.generator, gan.discriminator
  pairs = []
  kernel, bias = _seed_map(g.fc_noise.units // 16)
  _plain_layer(pairs, "G/l1", g.fc_noise, kernel, bias)
  for theirs, block in zip(("block2", "block3", "block4"), g.blocks):
    _batch_norm(pairs, f"G/{theirs}.b1", block.bn1)
    _plain_layer(pairs, f"G/{theirs}.c1", block.conv1, bias_kind="shift")
    _batch_norm(pairs, f"G/{theirs}.b2", block.bn2)
    _plain_layer(pairs, f"G/{theirs}.c2", block.conv2, bias_kind="shift")
    _plain_layer(pairs, f"G/{theirs}.c_sc", block.shortcut, bias_kind="shift")
  _batch_norm(pairs, "G/b5", g.final_norm)
  _plain_layer(pairs, "G/c5", g.final_conv)
  for theirs, block in zip(("block1", "block2", "block3", "block4"), d.blocks):
    _sn_layer(pairs, f"D/{theirs}.c1", block.conv1, arrays)
    _sn_layer(pairs, f"D/{theirs}.c2", block.conv2, arrays)
    if block.shortcut is not None:
      _sn_layer(pairs, f"D/{theirs}.c_sc", block.shortcut, arrays)
  _sn_layer(pairs, "D/l5", d.final_fc, arrays, dense=True)
  for term in gan.terms:  # SSGAN: mimicry's l_y is the rotation term's head.
    _sn_layer(pairs, "D/l_y", term.head, arrays, dense=True)
  _check_complete(gan, pairs, arrays)
  return pairs


def _check_complete(gan, pairs, arrays):
  """Every variable here and every parameter / buffer of mimicry's is paired, once."""
  ours = {id(v) for v in (gan.generator.variables + gan.discriminator.variables +
                          [v for t in gan.terms for v in t.variables])}
  paired = [id(p.variable) for p in pairs]
  if len(set(paired)) != len(paired) or set(paired) != ours:
    raise ValueError(f"{len(ours)} variables here, {len(set(paired))} paired: the map of "
                     "mimicry's state is incomplete.")
  # Not mirrored here: torch's spectral_norm keeps v (used in inference mode only), mimicry's
  # own SNLinear its last sigma, and BN its batch count (momentum 0.1 ignores it).
  unpaired = sorted(k[len("init/"):] for k in arrays if k.startswith("init/") and
                    not k.endswith(("weight_v", "sn_sigma", "num_batches_tracked")))
  missing = sorted(set(unpaired) - {p.theirs for p in pairs})
  if missing:
    raise ValueError(f"mimicry's tensors with no variable here: {missing}")


def load_state(pairs, arrays):
  for pair in pairs:
    value = pair.to_ours(arrays[f"init/{pair.theirs}"])
    if tuple(value.shape) != tuple(pair.variable.shape):
      raise ValueError(f"{pair.theirs}: mimicry's {value.shape} is {pair.variable.shape} "
                       f"here ({pair.variable.path}).")
    pair.variable.assign(value)
