r"""This project's training step against torch-mimicry's, step for step, from the same state.

  python -m benchmarks.peers.mimicry_equivalence --model=uncond --n_dis=5 --g_steps=20

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
from benchmarks.peers import mimicry_differences as diffs
from benchmarks.peers import mimicry_equivalence_report as report
from benchmarks.peers.mimicry_state import load_state
from benchmarks.peers.mimicry_state import meta_of
from benchmarks.peers.mimicry_state import state_pairs

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
                   threads=2, snapshots=(), perturb=0.0, record_updates=0, float64_updates=0):
  """Runs mimicry's side in its own process (this Python); returns the loaded .npz."""
  command = [sys.executable, TORCH_SIDE, f"--model={MODELS[model][0]}", f"--n_dis={n_dis}",
             f"--g_steps={g_steps}", f"--batch_size={batch_size}", f"--ngf={ngf}",
             f"--ndf={ndf}", f"--seed={seed}", f"--lr_decay={lr_decay}",
             f"--threads={threads}", f"--output={path}",
             f"--snapshots={','.join(str(k) for k in snapshots)}", f"--perturb={perturb}",
             f"--record_updates={record_updates}", f"--float64_updates={float64_updates}"]
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
  return dict(np.load(path))

def model_of(arrays):
  """This harness's --model of a torch side run ("uncond" or "ssgan")."""
  return {torch_model: model for model, (torch_model, _) in MODELS.items()}[
      meta_of(arrays)["model"]]

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
        diffs.optimizer_slot(optimizer, pair.variable, slot).assign(value)
      steps = int(state.get(f"opt_{pair.slot_of}/step", 0))
    optimizer.iterations.assign(steps)


def _advance(state, arrays, j):
  """mimicry's state after update j, from its state before it and what update j recorded."""
  for prefix, renamed in ((f"upd{j}/", ""), (f"opt_upd{j}/", "opt_")):
    state.update({renamed + k[len(prefix):]: v for k, v in arrays.items()
                  if k.startswith(prefix)})

def teacher_forced(strategy, gan, pairs, arrays, limit=None):
  """Every recorded update from mimicry's own state before it.

  Loads mimicry's complete state after update j - 1 (weights, u, BN statistics, Adam's
  slots and count), runs this project's D or G sub-step of the GAN step
  (`gan.discriminator_step` / `generator_step`, which `train_step` runs in turn) on the same
  reals and latents, and compares with mimicry's state after update j. One row per update:
  for the stepped network's weights ("weight", and "shift" apart) the difference of the
  weights, of the update itself w_after - w_before ("delta": a wrong gradient or optimizer
  changes it by O(1)) and of the gradient (Adam's m: with beta_1 = 0 it is the gradient);
  and of the spectral-norm vectors and BN variances (max_rel); and `update_flips` of the
  stepped weights ("flips"; G's "shift" biases, whose true gradient is 0, apart).
  `limit`: replay only the first `limit` recorded updates.
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
  for j in range(meta["record_updates"] if limit is None else
                 min(limit, meta["record_updates"])):
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
    # With beta_1 = 0, Adam's m after the update is the update's gradient.
    grad_ours = lambda p: diffs.optimizer_slot(optimizer, p.variable, "exp_avg").numpy()
    grad_theirs = lambda p: p.to_ours(state[f"opt_{p.slot_of}/exp_avg"])
    row = {"index": j, "net": net,
           "weights": diffs.by_kind(stepped, lambda p: p.variable.numpy(), theirs),
           "delta": diffs.by_kind(stepped, lambda p: p.variable.numpy() - before[p.theirs],
                                  lambda p: theirs(p) - before[p.theirs]),
           "grad": diffs.by_kind(stepped, grad_ours, grad_theirs)}
    for kind in ("u", "bn_var"):
      row[kind] = max(diffs.difference(p.variable.numpy(), theirs(p))["max_rel"]
                      for p in pairs if p.kind == kind)
    grad64 = None
    if f"grad64_upd{j}/{stepped[0].slot_of}" in arrays:
      grad64 = lambda p, j=j: p.to_ours(arrays[f"grad64_upd{j}/{p.slot_of}"])
    for kind, name in (("weight", "flips"), ("shift", "flips_shift")):
      chosen = [p for p in stepped if p.kind == kind]
      if chosen:
        row[name] = diffs.update_flips(chosen, before, lambda p: p.variable.numpy(), theirs,
                                 grad_ours, grad_theirs, grad64 if kind == "weight" else None)
    if grad64 is not None:
      row["replay32_err"] = float(arrays[f"replay32_err_upd{j}"])
      row["relu_flips64"] = [int(x) for x in arrays[f"relu_flips64_upd{j}"]]
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
    flips = row["flips"]
    net = row["net"]
    worst[f"{net}_flips"] = worst.get(f"{net}_flips", 0) + flips["flips"]
    worst[f"{net}_flip_updates"] = worst.get(f"{net}_flip_updates", 0) + bool(flips["flips"])
    for key in ("flip_fraction", "flip_grad_max", "grad_err_max", "rest_rel_l2",
                "grad64_rel_l2_ours", "grad64_rel_l2_mimicry", "flip_grad64_over_err_max"):
      if key in flips:
        worst[f"{net}_{key}"] = max(worst.get(f"{net}_{key}", 0.0), flips[key])
    if "relu_flips64" in row:
      worst["replay32_err"] = max(worst.get("replay32_err", 0.0), row["replay32_err"])
      worst[f"{net}_float64_updates"] = worst.get(f"{net}_float64_updates", 0) + 1
      relu = sum(row["relu_flips64"])
      worst[f"{net}_relu_flips64"] = worst.get(f"{net}_relu_flips64", 0) + relu
      # mimicry's gradient against float64 in the updates without and with a ReLU flip.
      key = f"{net}_grad64_rel_l2_mimicry_{'with' if relu else 'without'}_relu_flips"
      worst[key] = max(worst.get(key, 0.0), flips["grad64_rel_l2_mimicry"])
  return worst


def summary(rows, losses, meta, control, bindings, tolerance):
  """The JSON summary: the largest differences per kind; passed: the weights' largest
  relative L2 difference is within `tolerance`."""
  def worst(kinds):
    return diffs.worst({name: diff for name, kind, diff in rows if kind in kinds})
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


def equivalence(arrays, control="none", bindings=(), tolerance=1e-4, forced_limit=None):
  """This side's run from mimicry's recorded run; returns (rows, summary dict)."""
  meta = meta_of(arrays)
  strategy, gan = build_gan(model_of(arrays), meta["n_dis"], meta["ngf"], meta["ndf"],
                            meta["g_steps"], meta["lr_decay"],
                            CONTROLS[control] + list(bindings))
  pairs = state_pairs(gan, arrays)
  load_state(pairs, arrays)
  after_step, growth = diffs.growth_of(pairs, arrays)
  d_losses, g_losses = replay(strategy, gan, arrays, after_step)
  diffs.check_update_counts(gan, pairs, arrays)
  rows = diffs.final_rows(gan, pairs, arrays)
  losses, trace = diffs.loss_differences(d_losses, g_losses, arrays)
  result = summary(rows, losses, meta, control, bindings, tolerance)
  result["loss_trace"] = trace
  result["growth"] = growth
  weights = [p for p in pairs if p.slot_of]
  result["final_weights"] = diffs.by_kind(weights, lambda p: p.variable.numpy(),
                                              lambda p: p.to_ours(arrays[f"final/{p.theirs}"]))
  result["final_weights"].update(diffs.off_by_steps(
      weights, lambda p: p.variable.numpy(), lambda p: p.to_ours(arrays[f"final/{p.theirs}"]),
      meta["lr"]))
  result["shift_effect_on_g_output"] = check_shifts_are_invisible(
      gan, pairs, tf.constant(arrays["latents"][-1]))
  if meta.get("record_updates"):
    forced = teacher_forced(strategy, gan, pairs, arrays, forced_limit)
    result["teacher_forced"] = {"updates": forced, "worst": forced_summary(forced)}
  return rows, result

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
  flags.DEFINE_list("snapshots", ["all"], "G steps after which the weights are compared too "
                    "(those beyond --g_steps are ignored); \"all\": after every G step.")
  flags.DEFINE_integer("record_updates", 0, "Teacher forcing: replay each of mimicry's first "
                       "N updates (D's and G's, in order) from mimicry's own state before "
                       "it.", lower_bound=0)
  flags.DEFINE_integer("float64_updates", 0, "With --record_updates: also compute the "
                       "gradient of each of the first N recorded updates in float64 (mimicry's "
                       "train_step on float64 copies of its state) and compare each side's "
                       "fp32 gradient with it.", lower_bound=0)
  flags.DEFINE_float("noise_floor", 0.0, "If > 0: also run mimicry against itself with every "
                     "initial weight changed by this relative amount (N(0, 1) each; 1e-7 is "
                     "fp32 rounding) and report how far apart those runs end.", lower_bound=0)
  flags.DEFINE_string("results_jsonl", None, "Also append the JSON line, without the "
                      "per-tensor rows and with the per-update rows cut short, to this file.")
  flags.DEFINE_string("table", None, "Only print the markdown table of a --results_jsonl "
                      "file (one row per run) and exit.")
  flags.DEFINE_string("torch_npz", None, "Reuse the .npz of an earlier mimicry side run (its "
                      "settings override the flags above) instead of running it.")


def main(argv):
  del argv
  if FLAGS.table:
    try:
      with open(FLAGS.table) as f:
        results = [json.loads(line) for line in f if line.strip()]
      print(report.results_table(results))
    except (OSError, ValueError, KeyError, TypeError) as e:
      raise app.UsageError(f"--table={FLAGS.table}: not a --results_jsonl file of this "
                           f"harness ({type(e).__name__}: {e}).") from e
    return
  tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
  if FLAGS.snapshots == ["all"]:
    snapshots = list(range(1, FLAGS.g_steps + 1))
  else:
    try:
      snapshots = sorted({int(k) for k in FLAGS.snapshots if 1 <= int(k) <= FLAGS.g_steps})
    except ValueError as e:
      raise app.UsageError(f"--snapshots must be G steps or \"all\", got "
                           f"{FLAGS.snapshots}.") from e
  settings = (FLAGS.model, FLAGS.n_dis, FLAGS.g_steps, FLAGS.batch_size, FLAGS.ngf,
              FLAGS.ndf, FLAGS.seed, FLAGS.lr_decay, FLAGS.threads, snapshots, 0.0,
              FLAGS.record_updates, min(FLAGS.float64_updates, FLAGS.record_updates))
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
          meta["lr_decay"], FLAGS.threads, meta.get("snapshots", []), FLAGS.noise_floor,
          record_updates=1)
  # With --torch_npz, --record_updates > 0 replays only that many of the recorded updates.
  forced_limit = FLAGS.record_updates if FLAGS.torch_npz and FLAGS.record_updates else None
  rows, result = equivalence(arrays, FLAGS.control, FLAGS.bindings, FLAGS.tolerance,
                             forced_limit)
  if perturbed is not None:
    _, gan = build_gan(model_of(arrays), result["n_dis"], result["ngf"], result["ndf"],
                       result["g_steps"], result["lr_decay"])
    pairs = state_pairs(gan, arrays)
    result["noise_floor"] = {"perturb": FLAGS.noise_floor,
                             "differences": diffs.noise_floor(pairs, arrays, perturbed)}
    if meta_of(arrays).get("record_updates"):
      result["noise_floor"]["first_update"] = diffs.first_update_floor(pairs, arrays, perturbed)
  if "teacher_forced" in result:
    result["passed"] = result["teacher_forced"]["worst"]["D_delta_rel_l2"] <= FLAGS.tolerance
  report.print_table(rows, result)
  report.print_growth(result)
  if "teacher_forced" in result:
    report.print_forced(result)
  print()
  for line in report.diagnosis(result):
    print(line)
  print(json.dumps(result), flush=True)
  if FLAGS.results_jsonl:
    with open(FLAGS.results_jsonl, "a") as f:
      f.write(json.dumps(report.compact(result)) + "\n")
  if not result["passed"]:
    sys.exit(1)


if __name__ == "__main__":
  define_flags()
  app.run(main)
