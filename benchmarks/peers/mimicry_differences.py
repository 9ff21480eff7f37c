"""How far this side's tensors are from mimicry's: per tensor, per kind, per update.

Each measure is of one tensor: the largest absolute difference, "max_rel" = max |ours -
mimicry| / max |mimicry| (one element against the tensor's scale) and "rel_l2" = ||ours -
mimicry|| / ||mimicry|| (the whole tensor). `update_flips` says where one update's difference
comes from: the few elements whose Adam step went another way.
"""
import numpy as np

from benchmarks.peers.mimicry_state import meta_of


def optimizer_slot(optimizer, variable, name):
  index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
  return (optimizer._momentums if name == "exp_avg" else  # pylint: disable=protected-access
          optimizer._velocities)[index]  # pylint: disable=protected-access



def difference(ours, theirs):
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


def worst(differences):
  """The largest of each measure over {name: difference(...)}, with the tensor it is of."""
  out = {}
  for measure in ("max_abs", "max_rel", "rel_l2"):
    name = max(differences, key=lambda n: differences[n][measure])
    out[measure] = differences[name][measure]
    if measure != "max_abs":
      out[f"{measure}_of"] = name
  return out


def final_rows(gan, pairs, arrays, prefix="final"):
  """(tensor, kind, difference) of every tensor and Adam slot against mimicry's `prefix`."""
  rows = []
  for pair in pairs:
    net = pair.theirs[0]
    rows.append((pair.theirs, pair.kind, difference(
        pair.variable.numpy(), pair.to_ours(arrays[f"{prefix}/{pair.theirs}"]))))
    if pair.slot_of is None:
      continue
    optimizer = gan.g_optimizer if net == "G" else gan.d_optimizer
    for slot, kind in (("exp_avg", "adam_m"), ("exp_avg_sq", "adam_v")):
      theirs = pair.to_ours(arrays[f"opt_{prefix}/{pair.slot_of}/{slot}"])
      rows.append((f"{pair.theirs} {kind}", kind + ("_shift" if pair.kind == "shift" else ""),
                   difference(optimizer_slot(optimizer, pair.variable, slot).numpy(), theirs)))
  return rows


def check_update_counts(gan, pairs, arrays):
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
  losses = {"d_loss": difference(d_losses[:, 0], theirs_d.sum(axis=1)),
            "d_adversarial": difference(d_losses[:, 1], theirs_d[:, 0]),
            "g_loss": difference(g_losses[:, 0], theirs_g.sum(axis=1)),
            "g_adversarial": difference(g_losses[:, 1], theirs_g[:, 0])}
  trace = {"d_loss": np.stack([d_losses[:, 0], theirs_d.sum(axis=1)], 1).tolist(),
           "g_loss": np.stack([g_losses[:, 0], theirs_g.sum(axis=1)], 1).tolist()}
  return losses, trace


def by_kind(pairs, ours_of, theirs_of, kinds=("weight", "shift")):
  """{kind: worst over the pairs of that kind} of `ours_of(pair)` against `theirs_of`."""
  out = {}
  for kind in kinds:
    chosen = {p.theirs: difference(ours_of(p), theirs_of(p)) for p in pairs if p.kind == kind}
    if chosen:
      out[kind] = worst(chosen)
  return out


def off_by_steps(pairs, ours_of, theirs_of, lr):
  """How many weights (kind "weight") differ by STEP_FRACTION of a step of rate `lr` or
  more, of how many: the elements whose Adam steps went different ways at some update."""
  chosen = [p for p in pairs if p.kind == "weight"]
  off = sum(int((np.abs(np.asarray(ours_of(p), np.float64) - theirs_of(p)) >=
                 STEP_FRACTION * lr).sum()) for p in chosen)
  return {"off_by_step": off, "elements": sum(int(np.prod(p.variable.shape)) for p in chosen)}


def growth_of(pairs, arrays):
  """An after_step callback and its {G step: weight differences} at mimicry's snapshots
  (with `off_by_steps`: how many weights differ by a tenth of a step or more)."""
  growth = {}
  meta = meta_of(arrays)
  snapshots = set(meta.get("snapshots", []))
  weights = [p for p in pairs if p.slot_of]

  def after_step(step):
    if step in snapshots:
      theirs = lambda p: p.to_ours(arrays[f"step{step}/{p.slot_of}"])
      growth[step] = by_kind(weights, lambda p: p.variable.numpy(), theirs)
      growth[step].update(off_by_steps(weights, lambda p: p.variable.numpy(), theirs,
                                        meta["lr"]))
  return after_step, growth


def noise_floor(pairs, arrays, perturbed):
  """mimicry against itself from an initial state changed by a rounding-sized relative
  amount (`perturbed`: the torch side's run with --perturb): {G step: differences}."""
  weights = [p for p in pairs if p.slot_of]
  floor = {}
  for step in sorted(meta_of(arrays).get("snapshots", [])) + ["final"]:
    key = "final" if step == "final" else f"step{step}"
    ours = lambda p, k=key: perturbed[f"{k}/{p.theirs}"]
    theirs = lambda p, k=key: arrays[f"{k}/{p.theirs}"]
    floor[step] = by_kind(weights, ours, theirs)
    floor[step].update(off_by_steps(weights, ours, theirs, meta_of(arrays)["lr"]))
  return floor


def first_update_floor(pairs, arrays, perturbed):
  """mimicry's first update (D's) from its initial state against the same update from the
  perturbed state (`perturbed` recorded it, and its state after the perturbation,
  "start/..."): `update_flips` of mimicry against itself, the reference for the
  teacher-forced rows (same state up to a rounding-sized change, same computation)."""
  stepped = [p for p in pairs if p.slot_of and p.theirs[0] == "D" and p.kind == "weight"]
  before = {p.theirs: arrays[f"init/{p.theirs}"] for p in stepped}
  start = {p.theirs: perturbed[f"start/{p.theirs}"] for p in stepped}
  # Each side's update from its own start, compared as update_flips compares ours (here:
  # the perturbed run's, shifted onto the unperturbed start) with mimicry's.
  return update_flips(
      stepped, before, lambda p: perturbed[f"upd0/{p.theirs}"] - start[p.theirs] +
      before[p.theirs], lambda p: arrays[f"upd0/{p.theirs}"],
      lambda p: perturbed[f"opt_upd0/{p.slot_of}/exp_avg"],
      lambda p: arrays[f"opt_upd0/{p.slot_of}/exp_avg"])


# An element's update "differs by a step" when ours and mimicry's differ by at least this
# fraction of the update's typical size (the median |w_after - w_before| of mimicry's update
# over the stepped network's weights; Adam's first step moves every weight by the rate).
# Rounding changes an update by ~1e-6 of it; a step that went the other way, by 2 steps.
STEP_FRACTION = 0.1


def update_flips(pairs, before, ours_of, theirs_of, grad_ours_of, grad_theirs_of,
                 grad64_of=None):
  """Where one update's difference comes from: the elements whose update differs by a step.

  Adam's step is m_hat / (sqrt(v_hat) + eps): with beta_1 = 0 it is g / |g| at the first
  update, and g / rms(recent g) later, whatever the gradient's size. Where a gradient is
  within its rounding error of 0, the two sides' steps can then point opposite ways, a
  difference of two steps from a difference of gradients of ~1e-7. Returns, over `pairs`
  (the stepped weights, of one kind): "elements", "flips" (elements whose update differs by
  STEP_FRACTION of a step or more) and "flip_fraction"; "flips_grad_sign_differs" (of those,
  how many have gradients of opposite sign on the two sides); "flip_grad_max": the largest
  |g| / rms(g of its tensor) of a flipped element (small: the flips are where g is near 0);
  "grad_err_max": the largest |g_ours - g_mimicry| / rms(g) of any element (the gradients'
  rounding, for comparison); "rest_rel_l2": the update's relative L2 difference without the
  flipped elements (worst tensor), what remains once the flips are set aside.

  With `grad64_of` (the update's gradient in float64, mimicry's train_step on float64 copies
  of its fp32 state): "grad64_rel_l2_ours" and "grad64_rel_l2_mimicry", each side's fp32
  gradient against it (relative L2, worst tensor: each side's own rounding), and
  "flip_grad64_over_err_max": the largest |g64| / max(|g_ours - g64|, |g_mimicry - g64|) of a
  flipped element (at most ~1: every flip is where a side's rounding error is as large as
  the gradient itself).
  """
  deltas = {p.theirs: theirs_of(p) - before[p.theirs] for p in pairs}
  scale = float(np.median(np.abs(np.concatenate([d.ravel() for d in deltas.values()]))))
  threshold = STEP_FRACTION * scale
  out = {"elements": 0, "flips": 0, "flips_grad_sign_differs": 0, "flip_grad_max": 0.0,
         "grad_err_max": 0.0, "rest_rel_l2": 0.0, "rest_rel_l2_of": None, "step": scale}
  for p in pairs:
    theirs = deltas[p.theirs].astype(np.float64)
    ours = (ours_of(p) - before[p.theirs]).astype(np.float64)
    g_ours = np.asarray(grad_ours_of(p), np.float64)
    g_theirs = np.asarray(grad_theirs_of(p), np.float64)
    rms = float(np.sqrt(np.mean(g_theirs ** 2))) or 1.0
    flipped = np.abs(ours - theirs) >= threshold
    out["elements"] += theirs.size
    out["flips"] += int(flipped.sum())
    out["flips_grad_sign_differs"] += int(
        (flipped & (np.sign(g_ours) != np.sign(g_theirs))).sum())
    if flipped.any():
      out["flip_grad_max"] = max(out["flip_grad_max"],
                                 float(np.abs(g_theirs[flipped]).max()) / rms)
    out["grad_err_max"] = max(out["grad_err_max"],
                              float(np.abs(g_ours - g_theirs).max()) / rms)
    norm = np.linalg.norm(theirs)
    rest = float(np.linalg.norm(np.where(flipped, 0.0, ours - theirs)) / norm) if norm else 0.0
    if rest >= out["rest_rel_l2"]:
      out["rest_rel_l2"], out["rest_rel_l2_of"] = rest, p.theirs
    if grad64_of is not None:
      g64 = np.asarray(grad64_of(p), np.float64)
      norm64 = np.linalg.norm(g64) or 1.0
      for side, g in (("ours", g_ours), ("mimicry", g_theirs)):
        key = f"grad64_rel_l2_{side}"
        out[key] = max(out.get(key, 0.0), float(np.linalg.norm(g - g64) / norm64))
      if flipped.any():
        err = np.maximum(np.abs(g_ours - g64), np.abs(g_theirs - g64))[flipped]
        ratio = float(np.max(np.abs(g64[flipped]) / np.maximum(err, 1e-300)))
        out["flip_grad64_over_err_max"] = max(out.get("flip_grad64_over_err_max", 0.0),
                                              ratio)
  out["flip_fraction"] = out["flips"] / max(out["elements"], 1)
  return out
