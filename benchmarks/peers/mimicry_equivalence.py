r"""This project's training step against torch-mimicry's, step for step, from the same state.

  python benchmarks/peers/mimicry_equivalence.py --model=uncond --n_dis=5 --g_steps=20

1. mimicry's side (benchmarks/peers/mimicry_equivalence_torch.py, run by this Python in a
   process of its own: TensorFlow and torch are never loaded in one process) builds its
   SNGAN-32 (--model=uncond) or SSGAN-32 (--model=ssgan) from --seed, records the complete
   initial state, trains with mimicry's own Trainer for --g_steps G steps of --n_dis D steps
   on random real images in [-1, 1] (batch --batch_size), and records the latents its G drew,
   every loss, and the final weights, buffers and Adam slots (and the weights after the
   --snapshots G steps).
2. This side parses gin_configs/ssgan_paper/cifar10_{uncond,ssgan}_mimicry.gin (mimicry's
   computations as options of this project), loads mimicry's initial state into
   `sngan_cifar`'s G and D (conv OIHW -> HWIO, linear [out, in] -> [in, out], G's first
   layer from mimicry's CHW order to HWC, each spectral norm's u, BN's gamma / beta / running
   statistics), feeds the same reals and latents, and runs the GAN step as the trainer runs
   it (`strategy.run(gan.train_step)` in a tf.function; `GAN.sample_latents` replaced by the
   recorded latents, nothing else).
3. It compares every D and G loss, then every weight, spectral-norm vector, BN statistic and
   Adam slot after the last step. Per tensor: the largest absolute difference, "max rel" =
   max |ours - mimicry| / max |mimicry| (one element against the tensor's scale) and
   "rel L2" = ||ours - mimicry|| / ||mimicry|| (the whole tensor). Prints the table and one
   JSON line.

--record_updates=N also replays each of mimicry's first N updates (D's and G's) from
mimicry's own state before it (teacher forcing: rounding differences cannot pile up).
--noise_floor=1e-7 also runs mimicry against itself from initial weights changed by that
relative amount: how far two runs of mimicry drift apart from a rounding-sized change.
--control changes one thing on this side (a deliberate mistake) to show the comparison
can fail; --bindings adds gin bindings (e.g. one of the mimicry options set back to this
project's default, to measure what it changes); --lr_decay=linear decays both sides' rates
to 0 over the run (mimicry's `LRScheduler`, this project's `@linear_decay`).

Exit status 1 if the check fails: with --record_updates, the teacher-forced D updates
(w_after - w_before) must agree to --tolerance in relative L2; without, the final weights.
See docs/reproducing_mimicry.md for the measured numbers and why free-running fp32 runs
drift apart.
"""
import json
import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags
import gin
import numpy as np
import tensorflow as tf

import compare_ssgan  # pylint: disable=unused-import  (registers every gin configurable)
from compare_ssgan import gin_files
from compare_ssgan.gans import gan as gan_lib
from compare_ssgan.gans import randomness

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SIDE = os.path.join(HERE, "mimicry_equivalence_torch.py")
# --model -> (mimicry_equivalence_torch.py --model, this project's config).
MODELS = {"uncond": ("sngan", "gin_configs/ssgan_paper/cifar10_uncond_mimicry.gin"),
          "ssgan": ("ssgan", "gin_configs/ssgan_paper/cifar10_ssgan_mimicry.gin")}
# Deliberate mistakes on this side, each a single change.
CONTROLS = {
    "none": [],
    "adam_beta2": ["TorchAdam.beta_2 = 0.999"],
    "non_saturating": ["GAN.loss_fn = @non_saturating"],
}
IMAGE_SHAPE = (32, 32, 3)

FLAGS = flags.FLAGS


def run_torch_side(path, model, n_dis, g_steps, batch_size, ngf, ndf, seed, lr_decay,
                   threads=2, snapshots=(), perturb=0.0, record_updates=0):
  """Runs mimicry's side in its own process (this Python); returns the loaded .npz."""
  command = [sys.executable, TORCH_SIDE, f"--model={MODELS[model][0]}", f"--n_dis={n_dis}",
             f"--g_steps={g_steps}", f"--batch_size={batch_size}", f"--ngf={ngf}",
             f"--ndf={ndf}", f"--seed={seed}", f"--lr_decay={lr_decay}",
             f"--threads={threads}", f"--output={path}",
             f"--snapshots={','.join(str(k) for k in snapshots)}", f"--perturb={perturb}",
             f"--record_updates={record_updates}"]
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
  return dict(np.load(path))


def meta_of(arrays):
  return json.loads(str(arrays["meta"]))


def model_of(arrays):
  """This harness's --model of a torch side run ("uncond" or "ssgan")."""
  return {torch_model: model for model, (torch_model, _) in MODELS.items()}[
      meta_of(arrays)["model"]]


# ---------------------------------------------------------------- Layout of mimicry's state.

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


# ------------------------------------------------------------------------- This side's run.

def build_gan(model, n_dis, ngf, ndf, g_steps, lr_decay, bindings=()):
  """The GAN of this project's mimicry config, at these sizes, as the trainer builds it."""
  gin.clear_config()
  sizes = [f"GAN.disc_iters = {n_dis}", f"sngan_cifar.Generator.ch = {ngf}",
           f"sngan_cifar.Discriminator.ch = {ndf}"]
  decay = (["GAN.lr_schedule = None"] if lr_decay == "none" else
           [f"linear_decay.num_steps = {g_steps}"])
  gin_files.parse_gin([MODELS[model][1]], sizes + decay + list(bindings))
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    gan = gan_lib.GAN(image_shape=IMAGE_SHAPE, num_classes=0)
    gan.build_optimizers()
  return strategy, gan


class FedLatents:
  """Stands in for `GAN.sample_latents`: the z of each sub-step, in call order (D steps,
  then G), from a variable the harness fills before each G step."""

  def __init__(self, num_calls, batch_size, z_dim):
    self.z = tf.Variable(tf.zeros([num_calls, batch_size, z_dim]), trainable=False)
    self.calls = 0

  def __call__(self, batch_size, seed):
    del batch_size, seed
    z = self.z[self.calls]
    self.calls += 1
    return z, None


def replay(strategy, gan, arrays, after_step=None):
  """Runs the GAN step on mimicry's reals and latents; returns ([D losses], [G losses]),
  each entry [total, adversarial]. `after_step(k)` runs after G step k (from 1)."""
  meta = meta_of(arrays)
  n_dis, g_steps, batch_size = meta["n_dis"], meta["g_steps"], meta["batch_size"]
  reals = (np.transpose(arrays["reals"], (0, 1, 3, 4, 2)) + 1.0) / 2.0  # [-1, 1] NCHW ->
  latents = arrays["latents"]                                           # [0, 1] NHWC.
  if latents.shape[0] != g_steps * (n_dis + 1):
    raise ValueError(f"mimicry's G ran {latents.shape[0]} times, expected "
                     f"{g_steps * (n_dis + 1)}.")
  fed = FedLatents(n_dis + 1, batch_size, gan.z_dim)
  gan.sample_latents = fed
  recorded = []
  discriminator_step = gan.discriminator_step

  def recording_discriminator_step(images, labels, seed):
    metrics = discriminator_step(images, labels, seed)
    recorded.append(metrics)
    return metrics
  gan.discriminator_step = recording_discriminator_step

  def replica_step(batches, seed):
    fed.calls = 0
    recorded.clear()
    metrics = gan.train_step(batches, seed)
    d = [[m["d_loss"], m["d_loss_real"] + m["d_loss_fake"]] for m in recorded]
    g_adversarial = metrics["g_loss"] - gan.terms[0].weight_g * metrics[
        "rotation_fake_loss"] if gan.terms else metrics["g_loss"]
    return d, [metrics["g_loss"], g_adversarial]

  step = tf.function(lambda batches, seed: strategy.run(replica_step, args=(batches, seed)))
  labels = tf.zeros([batch_size], tf.int32)
  d_losses, g_losses = [], []
  for t in range(g_steps):
    fed.z.assign(latents[t * (n_dis + 1):(t + 1) * (n_dis + 1)])
    batches = [(tf.constant(reals[t * n_dis + i], tf.float32), labels) for i in range(n_dis)]
    batches.append(batches[-1])  # G's step reads no reals under the hinge loss.
    seed = randomness.fold_in(tf.constant([meta["seed"], 0], tf.int32), t)
    d, g = step(batches, seed)
    d_losses += [[float(x) for x in row] for row in d]
    g_losses.append([float(x) for x in g])
    if after_step:
      after_step(t + 1)
  return np.array(d_losses), np.array(g_losses)


def check_shifts_are_invisible(gan, pairs, z, scale=0.1, seed=0):
  """Largest change of G's training-mode output when every "shift" bias moves by N(0, scale)
  per channel (far more than the two sides' difference): rounding, if they are invisible.
  G's variables (BN statistics included) are restored afterwards."""
  g = gan.generator
  saved = [v.numpy() for v in g.variables]
  before = g(z, training=True).numpy()
  rng = np.random.default_rng(seed)
  for pair in pairs:
    if pair.kind == "shift":
      pair.variable.assign_add(rng.normal(0.0, scale, pair.variable.shape).astype(np.float32))
  after = g(z, training=True).numpy()
  for variable, value in zip(g.variables, saved):
    variable.assign(value)
  return float(np.max(np.abs(after - before)))


def _slot(optimizer, variable, name):
  index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
  return (optimizer._momentums if name == "exp_avg" else  # pylint: disable=protected-access
          optimizer._velocities)[index]  # pylint: disable=protected-access


# ------------------------------------------------------------------------------ Comparison.

def _difference(ours, theirs):
  """Of one tensor: the largest absolute difference, and two relative ones: max |ours -
  mimicry| / max |mimicry| ("max_rel": any single element) and ||ours - mimicry||_2 /
  ||mimicry||_2 ("rel_l2": the whole tensor, what a few elements cannot dominate)."""
  ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
  if not theirs.size:
    return {"max_abs": 0.0, "max_rel": 0.0, "rel_l2": 0.0}
  diff = np.abs(ours - theirs)

  def ratio(a, b):
    return float(a / b) if b else (0.0 if a == 0 else float("inf"))
  return {"max_abs": float(diff.max()), "max_rel": ratio(diff.max(), np.abs(theirs).max()),
          "rel_l2": ratio(np.linalg.norm(diff), np.linalg.norm(theirs))}


def _worst(differences):
  """The largest of each measure over {name: _difference(...)}, with the tensor it is of."""
  out = {}
  for measure in ("max_abs", "max_rel", "rel_l2"):
    name = max(differences, key=lambda n: differences[n][measure])
    out[measure] = differences[name][measure]
    if measure != "max_abs":
      out[f"{measure}_of"] = name
  return out


def final_rows(gan, pairs, arrays, prefix="final"):
  """(tensor, kind, _difference) of every tensor and Adam slot against mimicry's `prefix`."""
  rows = []
  for pair in pairs:
    net = pair.theirs[0]
    rows.append((pair.theirs, pair.kind, _difference(
        pair.variable.numpy(), pair.to_ours(arrays[f"{prefix}/{pair.theirs}"]))))
    if pair.slot_of is None:
      continue
    optimizer = gan.g_optimizer if net == "G" else gan.d_optimizer
    for slot, kind in (("exp_avg", "adam_m"), ("exp_avg_sq", "adam_v")):
      theirs = pair.to_ours(arrays[f"opt_{prefix}/{pair.slot_of}/{slot}"])
      rows.append((f"{pair.theirs} {kind}", kind + ("_shift" if pair.kind == "shift" else ""),
                   _difference(_slot(optimizer, pair.variable, slot).numpy(), theirs)))
  return rows


def _check_update_counts(gan, pairs, arrays):
  ours = {"D": int(gan.d_optimizer.iterations.numpy()),
          "G": int(gan.g_optimizer.iterations.numpy())}
  first = {p.theirs[0]: p.slot_of for p in reversed(pairs) if p.slot_of}
  theirs = {net: int(arrays[f"opt_final/{first[net]}/step"]) for net in ("D", "G")}
  if ours != theirs:
    raise ValueError(f"Optimizer updates here {ours}, mimicry's {theirs}.")


def loss_differences(d_losses, g_losses, arrays):
  """Every D and G loss against mimicry's (total, and the adversarial part), and the trace
  [ours, mimicry's] per D step and per G step."""
  theirs_d, theirs_g = arrays["d_losses"], arrays["g_losses"]
  losses = {"d_loss": _difference(d_losses[:, 0], theirs_d.sum(axis=1)),
            "d_adversarial": _difference(d_losses[:, 1], theirs_d[:, 0]),
            "g_loss": _difference(g_losses[:, 0], theirs_g.sum(axis=1)),
            "g_adversarial": _difference(g_losses[:, 1], theirs_g[:, 0])}
  trace = {"d_loss": np.stack([d_losses[:, 0], theirs_d.sum(axis=1)], 1).tolist(),
           "g_loss": np.stack([g_losses[:, 0], theirs_g.sum(axis=1)], 1).tolist()}
  return losses, trace


def _kind_differences(pairs, ours_of, theirs_of, kinds=("weight", "shift")):
  """{kind: _worst over the pairs of that kind} of `ours_of(pair)` against `theirs_of`."""
  out = {}
  for kind in kinds:
    chosen = {p.theirs: _difference(ours_of(p), theirs_of(p)) for p in pairs if p.kind == kind}
    if chosen:
      out[kind] = _worst(chosen)
  return out


def growth_of(pairs, arrays):
  """An after_step callback and its {G step: weight differences} at mimicry's snapshots."""
  growth = {}
  snapshots = set(meta_of(arrays).get("snapshots", []))
  weights = [p for p in pairs if p.slot_of]

  def after_step(step):
    if step in snapshots:
      growth[step] = _kind_differences(
          weights, lambda p: p.variable.numpy(),
          lambda p: p.to_ours(arrays[f"step{step}/{p.slot_of}"]))
  return after_step, growth


def noise_floor(pairs, arrays, perturbed):
  """mimicry against itself from an initial state changed by a rounding-sized relative
  amount (`perturbed`: the torch side's run with --perturb): {G step: differences}."""
  weights = [p for p in pairs if p.slot_of]
  floor = {}
  for step in sorted(meta_of(arrays).get("snapshots", [])) + ["final"]:
    key = "final" if step == "final" else f"step{step}"
    floor[step] = _kind_differences(weights, lambda p, k=key: perturbed[f"{k}/{p.theirs}"],
                                    lambda p, k=key: arrays[f"{k}/{p.theirs}"])
  return floor


def _set_optimizer_state(gan, pairs, state):
  """Adam's slots and update count from `state` (mimicry's naming; zeros / 0 if absent)."""
  for net, optimizer in (("G", gan.g_optimizer), ("D", gan.d_optimizer)):
    steps = 0
    for pair in pairs:
      if not pair.slot_of or pair.theirs[0] != net:
        continue
      for slot in ("exp_avg", "exp_avg_sq"):
        key = f"opt_{pair.slot_of}/{slot}"
        value = (pair.to_ours(state[key]) if key in state else
                 np.zeros(pair.variable.shape, np.float32))
        _slot(optimizer, pair.variable, slot).assign(value)
      steps = int(state.get(f"opt_{pair.slot_of}/step", 0))
    optimizer.iterations.assign(steps)


def _advance(state, arrays, j):
  """mimicry's state after update j, from its state before it and what update j recorded."""
  for prefix, renamed in ((f"upd{j}/", ""), (f"opt_upd{j}/", "opt_")):
    state.update({renamed + k[len(prefix):]: v for k, v in arrays.items()
                  if k.startswith(prefix)})


def teacher_forced(strategy, gan, pairs, arrays):
  """Every recorded update from mimicry's own state before it.

  Loads mimicry's complete state after update j - 1 (weights, u, BN statistics, Adam's
  slots and count), runs this project's D or G sub-step of the GAN step
  (`gan.discriminator_step` / `generator_step`, which `train_step` runs in turn) on the same
  reals and latents, and compares with mimicry's state after update j. One row per update:
  for the stepped network's weights ("weight", and "shift" apart) the difference of the
  weights, of the update itself w_after - w_before ("delta": a wrong gradient or optimizer
  changes it by O(1)) and of the gradient (Adam's m: with beta_1 = 0 it is the gradient);
  and of the spectral-norm vectors and BN variances (max_rel).
  """
  meta = meta_of(arrays)
  n_dis, batch_size = meta["n_dis"], meta["batch_size"]
  reals = (np.transpose(arrays["reals"], (0, 1, 3, 4, 2)) + 1.0) / 2.0
  fed = FedLatents(1, batch_size, gan.z_dim)
  gan.sample_latents = fed

  def sub_step(step_fn):
    def run(images, labels, seed):
      fed.calls = 0
      return step_fn(images, labels, seed)
    return tf.function(lambda *args: strategy.run(run, args=args))
  steps = {"D": sub_step(gan.discriminator_step), "G": sub_step(gan.generator_step)}
  labels = tf.zeros([batch_size], tf.int32)
  seed = tf.constant([meta["seed"], 0], tf.int32)
  state = {k[len("init/"):]: v for k, v in arrays.items() if k.startswith("init/")}
  rows = []
  for j in range(meta["record_updates"]):
    t, i = divmod(j, n_dis + 1)
    net = "D" if i < n_dis else "G"
    load_state(pairs, {f"init/{k}": v for k, v in state.items()})
    _set_optimizer_state(gan, pairs, state)
    stepped = [p for p in pairs if p.slot_of and p.theirs[0] == net]
    before = {p.theirs: p.variable.numpy() for p in stepped}
    fed.z.assign(arrays["latents"][j][None])
    steps[net](tf.constant(reals[t * n_dis + min(i, n_dis - 1)], tf.float32), labels, seed)
    _advance(state, arrays, j)
    optimizer = gan.d_optimizer if net == "D" else gan.g_optimizer
    theirs = lambda p: p.to_ours(state[p.theirs])
    row = {"index": j, "net": net,
           "weights": _kind_differences(stepped, lambda p: p.variable.numpy(), theirs),
           "delta": _kind_differences(stepped, lambda p: p.variable.numpy() - before[p.theirs],
                                      lambda p: theirs(p) - before[p.theirs]),
           "grad": _kind_differences(
               stepped, lambda p: _slot(optimizer, p.variable, "exp_avg").numpy(),
               lambda p: p.to_ours(state[f"opt_{p.slot_of}/exp_avg"]))}
    for kind in ("u", "bn_var"):
      row[kind] = max(_difference(p.variable.numpy(), theirs(p))["max_rel"]
                      for p in pairs if p.kind == kind)
    rows.append(row)
  return rows


def forced_summary(forced):
  """The largest teacher-forced differences over the updates, per quantity and network."""
  worst = {}
  for row in forced:
    for name in ("weights", "delta", "grad"):
      for kind, measures in row[name].items():
        for measure in ("max_rel", "rel_l2"):
          key = f"{row['net']}_{name}{'' if kind == 'weight' else '_' + kind}_{measure}"
          worst[key] = max(worst.get(key, 0.0), measures[measure])
    for name in ("u", "bn_var"):
      worst[name] = max(worst.get(name, 0.0), row[name])
  return worst


def summary(rows, losses, meta, control, bindings, tolerance):
  """The JSON summary: the largest differences per kind; passed: the weights' largest
  relative L2 difference is within `tolerance`."""
  def worst(kinds):
    return _worst({name: diff for name, kind, diff in rows if kind in kinds})
  weights = worst({"weight"})
  return {
      "peer": "torch-mimicry", "model": meta["model"], "n_dis": meta["n_dis"],
      "g_steps": meta["g_steps"], "d_updates": meta["n_dis"] * meta["g_steps"],
      "batch_size": meta["batch_size"], "ngf": meta["ngf"], "ndf": meta["ndf"],
      "seed": meta["seed"], "lr_decay": meta["lr_decay"], "control": control,
      "bindings": list(bindings), "losses": losses,
      "weights": weights, "shift": worst({"shift"}), "u": worst({"u"}),
      "bn_var": worst({"bn_var"}), "bn_mean": worst({"bn_mean"}),
      "adam": worst({"adam_m", "adam_v"}), "adam_shift": worst({"adam_m_shift",
                                                                 "adam_v_shift"}),
      "tolerance": tolerance, "passed": weights["rel_l2"] <= tolerance,
      "tensors": {name: diff for name, _, diff in rows},
  }


def equivalence(arrays, control="none", bindings=(), tolerance=1e-4):
  """This side's run from mimicry's recorded run; returns (rows, summary dict)."""
  meta = meta_of(arrays)
  strategy, gan = build_gan(model_of(arrays), meta["n_dis"], meta["ngf"], meta["ndf"],
                            meta["g_steps"], meta["lr_decay"],
                            CONTROLS[control] + list(bindings))
  pairs = state_pairs(gan, arrays)
  load_state(pairs, arrays)
  after_step, growth = growth_of(pairs, arrays)
  d_losses, g_losses = replay(strategy, gan, arrays, after_step)
  _check_update_counts(gan, pairs, arrays)
  rows = final_rows(gan, pairs, arrays)
  losses, trace = loss_differences(d_losses, g_losses, arrays)
  result = summary(rows, losses, meta, control, bindings, tolerance)
  result["loss_trace"] = trace
  result["growth"] = growth
  result["shift_effect_on_g_output"] = check_shifts_are_invisible(
      gan, pairs, tf.constant(arrays["latents"][-1]))
  if meta.get("record_updates"):
    forced = teacher_forced(strategy, gan, pairs, arrays)
    result["teacher_forced"] = {"updates": forced, "worst": forced_summary(forced)}
  return rows, result


def print_table(rows, result):
  print(f"{'tensor':44} {'kind':11} {'max abs diff':>12} {'max rel':>10} {'rel L2':>10}")
  for name, kind, diff in rows + [(k, "loss", v) for k, v in result["losses"].items()]:
    print(f"{name:44} {kind:11} {diff['max_abs']:12.3e} {diff['max_rel']:10.3e} "
          f"{diff['rel_l2']:10.3e}")


def define_flags():
  """The command line (defined only when run as a script: the tests import this module)."""
  flags.DEFINE_enum("model", "uncond", sorted(MODELS), "mimicry's SNGAN-32 or SSGAN-32.")
  flags.DEFINE_integer("n_dis", 5, "D steps per G step.", lower_bound=1)
  flags.DEFINE_integer("g_steps", 20, "G steps.", lower_bound=1)
  flags.DEFINE_integer("batch_size", 64, "Batch of every D and G step.", lower_bound=1)
  flags.DEFINE_integer("ngf", 256, "G's width (mimicry's ngf, sngan_cifar.Generator.ch).",
                       lower_bound=1)
  flags.DEFINE_integer("ndf", 128, "D's width (mimicry's ndf, sngan_cifar.Discriminator.ch).",
                       lower_bound=1)
  flags.DEFINE_integer("seed", 0, "mimicry's torch seed (weights, u vectors, reals, latents).",
                       lower_bound=0)
  flags.DEFINE_enum("lr_decay", "none", ["none", "linear"], "Learning-rate decay, both sides.")
  flags.DEFINE_enum("control", "none", sorted(CONTROLS), "A deliberate change on this side.")
  flags.DEFINE_multi_string("bindings", [], "Extra gin bindings on this side.")
  flags.DEFINE_float("tolerance", 1e-4, "Largest relative L2 difference that passes (see the "
                     "exit status above).")
  flags.DEFINE_integer("threads", 2, "Intra-op threads on each side.", lower_bound=1)
  flags.DEFINE_list("snapshots", ["1", "2", "5", "10"], "G steps after which the weights "
                    "are compared too (those beyond --g_steps are ignored).")
  flags.DEFINE_integer("record_updates", 0, "Teacher forcing: replay each of mimicry's first "
                       "N updates (D's and G's, in order) from mimicry's own state before "
                       "it.", lower_bound=0)
  flags.DEFINE_float("noise_floor", 0.0, "If > 0: also run mimicry against itself with every "
                     "initial weight changed by this relative amount (N(0, 1) each; 1e-7 is "
                     "fp32 rounding) and report how far apart those runs end.", lower_bound=0)
  flags.DEFINE_string("torch_npz", None, "Reuse the .npz of an earlier mimicry side run (its "
                      "settings override the flags above) instead of running it.")


def main(argv):
  del argv
  tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
  snapshots = sorted({int(k) for k in FLAGS.snapshots if 1 <= int(k) <= FLAGS.g_steps})
  settings = (FLAGS.model, FLAGS.n_dis, FLAGS.g_steps, FLAGS.batch_size, FLAGS.ngf,
              FLAGS.ndf, FLAGS.seed, FLAGS.lr_decay, FLAGS.threads, snapshots, 0.0,
              FLAGS.record_updates)
  with tempfile.TemporaryDirectory() as scratch:
    if FLAGS.torch_npz:
      arrays = dict(np.load(FLAGS.torch_npz))
    else:
      arrays = run_torch_side(os.path.join(scratch, "mimicry.npz"), *settings)
    perturbed = None
    if FLAGS.noise_floor:
      meta = meta_of(arrays)
      perturbed = run_torch_side(
          os.path.join(scratch, "perturbed.npz"), model_of(arrays), meta["n_dis"],
          meta["g_steps"], meta["batch_size"], meta["ngf"], meta["ndf"], meta["seed"],
          meta["lr_decay"], FLAGS.threads, meta.get("snapshots", []), FLAGS.noise_floor)
  rows, result = equivalence(arrays, FLAGS.control, FLAGS.bindings, FLAGS.tolerance)
  if perturbed is not None:
    _, gan = build_gan(model_of(arrays), result["n_dis"], result["ngf"], result["ndf"],
                       result["g_steps"], result["lr_decay"])
    result["noise_floor"] = {"perturb": FLAGS.noise_floor,
                             "differences": noise_floor(state_pairs(gan, arrays), arrays,
                                                        perturbed)}
  if "teacher_forced" in result:
    result["passed"] = result["teacher_forced"]["worst"]["D_delta_rel_l2"] <= FLAGS.tolerance
  print_table(rows, result)
  print(json.dumps(result), flush=True)
  if not result["passed"]:
    sys.exit(1)


if __name__ == "__main__":
  define_flags()
  app.run(main)
