"""The harness's printed report: the per-tensor table, the growth per G step, each
teacher-forced update, and the diagnosis in words; and the compact JSON line."""
from benchmarks.peers.mimicry_differences import STEP_FRACTION


def print_table(rows, result):
  print(f"{'tensor':44} {'kind':11} {'max abs diff':>12} {'max rel':>10} {'rel L2':>10}")
  for name, kind, diff in rows + [(k, "loss", v) for k, v in result["losses"].items()]:
    print(f"{name:44} {kind:11} {diff['max_abs']:12.3e} {diff['max_rel']:10.3e} "
          f"{diff['rel_l2']:10.3e}")


def _off(entry):
  return f"{entry['off_by_step']}/{entry['elements']}"


def print_growth(result):
  """The weights' difference after each recorded G step (and mimicry against itself)."""
  floor = (result.get("noise_floor") or {}).get("differences", {})
  print(f"\nGrowth per G step (weights; off: elements {STEP_FRACTION} step or more apart)")
  print(f"{'G step':>6} {'max rel':>10} {'of':34} {'rel L2':>10} {'off':>16}" +
        (f" | mimicry vs itself: {'max rel':>10} {'rel L2':>10} {'off':>16}" if floor else ""))
  steps = sorted(result["growth"]) + ["final"]
  for step in steps:
    entry = result["growth"].get(step) if step != "final" else result.get("final_weights")
    if entry is None:
      continue
    weight = entry["weight"]
    line = (f"{step:>6} {weight['max_rel']:10.3e} {weight['max_rel_of']:34} "
            f"{weight['rel_l2']:10.3e} {_off(entry):>16}")
    other = floor.get(step)
    if other:
      line += (f" | {'':18} {other['weight']['max_rel']:10.3e} "
               f"{other['weight']['rel_l2']:10.3e} {_off(other):>16}")
    print(line)


def print_forced(result):
  """Each teacher-forced update: how far it is from mimicry's, and where that comes from."""
  forced = result["teacher_forced"]["updates"]
  print("\nTeacher forced, each update from mimicry's state before it (update = w_after - "
        "w_before, relative L2;\n rest: without the elements whose update differs by "
        f"{STEP_FRACTION} step or more, the flips; |g|/rms: of the flips' gradients)")
  if any("grad64_rel_l2_ours" in row["flips"] for row in forced):
    print(" grad64 ours / mimicry: each side's fp32 gradient against the float64 gradient of "
          "the same state (relative L2, worst tensor);\n |g64|/err: the flips' largest "
          "|g64| / max(|g_ours - g64|, |g_mimicry - g64|);\n ReLU G,D: inputs of G's and D's "
          "ReLUs (G's when G steps) whose sign differs between mimicry's step in fp32 and "
          "in float64")
  print(f"{'update':>6} {'net':3} {'update':>10} {'rest':>10} {'grad':>10} {'flips':>14} "
        f"{'|g|/rms max':>11} {'grad err/rms':>12} {'u':>9} {'bn var':>9} "
        f"{'grad64 ours':>11} {'mimicry':>9} {'|g64|/err':>9} {'ReLU G,D':>9}")
  for row in forced:
    flips = row["flips"]
    line = (f"{row['index']:>6} {row['net']:3} {row['delta']['weight']['rel_l2']:10.3e} "
            f"{flips['rest_rel_l2']:10.3e} {row['grad']['weight']['rel_l2']:10.3e} "
            f"{flips['flips']:>6}/{flips['elements']:<7} {flips['flip_grad_max']:11.2e} "
            f"{flips['grad_err_max']:12.2e} {row['u']:9.2e} {row['bn_var']:9.2e}")
    if "grad64_rel_l2_ours" in flips:
      line += (f" {flips['grad64_rel_l2_ours']:11.2e} {flips['grad64_rel_l2_mimicry']:9.2e} "
               f"{flips.get('flip_grad64_over_err_max', 0.0):9.2e} "
               f"{','.join(str(x) for x in row['relu_flips64']):>9}")
    print(line)


def diagnosis(result):
  """Where the free-running difference comes from, in words, from the measurements."""
  lines = []
  weights = result["weights"]
  lines.append(f"Free running: after {result['g_steps']} G steps ({result['d_updates']} D "
               f"updates) the weights differ by at most {weights['max_rel']:.2e} of their "
               f"tensor's scale ({weights['max_rel_of']}), {weights['rel_l2']:.2e} in relative "
               f"L2; {_off(result['final_weights'])} weights are {STEP_FRACTION} step or more "
               "apart.")
  if "teacher_forced" in result:
    worst = result["teacher_forced"]["worst"]
    for net in ("D", "G"):
      if f"{net}_flips" not in worst:
        continue
      lines.append(
          f"Teacher forced, {net}: each update agrees to {worst[f'{net}_rest_rel_l2']:.2e} "
          f"(relative L2, worst update) once {worst[f'{net}_flips']} elements in "
          f"{worst[f'{net}_flip_updates']} updates (at most {worst[f'{net}_flip_fraction']:.1e} "
          "of an update's weights) are set aside, whose Adam step went another way: their "
          f"gradients are within {worst[f'{net}_flip_grad_max']:.1e} x rms(g) of 0, where the "
          f"two sides' gradients differ by up to {worst[f'{net}_grad_err_max']:.1e} x rms(g). "
          "Adam's step m_hat / (sqrt(v_hat) + eps) (beta_1 = 0) has the size of the rate "
          "whatever |g|, so a rounding-level difference of a near-zero gradient becomes a "
          "difference of up to two steps.")
      if f"{net}_grad64_rel_l2_ours" in worst:
        lines.append(
            f"  Against the float64 gradient of the same state ({net}, the updates computed "
            f"in float64): this side's fp32 gradient is within "
            f"{worst[f'{net}_grad64_rel_l2_ours']:.2e}, mimicry's within "
            f"{worst[f'{net}_grad64_rel_l2_mimicry']:.2e} (relative L2, worst tensor); at "
            f"every flip |g64| <= {worst.get(f'{net}_flip_grad64_over_err_max', 0.0):.2g} x "
            "the larger side's fp32 error there.")
      if f"{net}_relu_flips64" in worst:
        without = worst.get(f"{net}_grad64_rel_l2_mimicry_without_relu_flips")
        with_ = worst.get(f"{net}_grad64_rel_l2_mimicry_with_relu_flips")
        lines.append(
            f"  In those {worst[f'{net}_float64_updates']} {net} updates, "
            f"{worst[f'{net}_relu_flips64']} ReLU inputs have opposite signs in fp32 and "
            "float64 (mimicry's step); mimicry's fp32 gradient is within " +
            (f"{without:.2e} of float64 in the updates without such a ReLU input"
             if without is not None else "(no update without such a ReLU input)") +
            (f", {with_:.2e} in those with" if with_ is not None else "") +
            f" (its fp32 replay is its recorded step to {worst['replay32_err']:.1e}).")
  floor = result.get("noise_floor")
  if floor:
    final = floor["differences"]["final"]["weight"]
    first = floor.get("first_update")
    lines.append(
        f"mimicry against itself (initial weights changed by {floor['perturb']:g} relative): "
        f"final weights {final['max_rel']:.2e} max rel, {final['rel_l2']:.2e} rel L2" +
        (f"; its first D update has {first['flips']} flips (|g|/rms <= "
         f"{first['flip_grad_max']:.1e}), rest {first['rest_rel_l2']:.2e}" if first else "")
        + ".")
  return lines


def compact(result):
  """The JSON summary without the per-tensor rows, the per-update rows cut to their main
  numbers: one line of a few kB for a results file."""
  out = {k: v for k, v in result.items() if k != "tensors"}
  if "teacher_forced" in result:
    out["teacher_forced"] = {
        "worst": result["teacher_forced"]["worst"],
        "updates": [[row["index"], row["net"], row["delta"]["weight"]["rel_l2"],
                     row["flips"]["rest_rel_l2"], row["grad"]["weight"]["rel_l2"],
                     row["flips"]["flips"], row["flips"]["flip_grad_max"]]
                    for row in result["teacher_forced"]["updates"]],
        "updates_columns": ["index", "net", "update_rel_l2", "rest_rel_l2", "grad_rel_l2",
                            "flips", "flip_grad_max"]}
  return out


def _e(x):
  return "–" if x is None else f"{x:.1e}"


def results_table(results):
  """A markdown table of `compact` results (one per run), one row per run."""
  lines = [
      "| model | n_dis | control | extra bindings | D updates | first D loss, rel. | free running: weights "
      "rel L2 / max rel | mimicry vs itself (1e-7): rel L2 / max rel | teacher forced: D "
      "update rel L2 (flips set aside) | D weights after an update, rel L2 | G update rel "
      "L2 (flips set aside) | flipped elements D / G | fp32 gradient against float64, D: this "
      "side / mimicry | the same, G | D update within tolerance |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in results:
    first = r["loss_trace"]["d_loss"][0]
    floor = (r.get("noise_floor") or {}).get("differences", {}).get("final", {}).get("weight")
    worst = r.get("teacher_forced", {}).get("worst", {})
    lines.append(
        f"| {r['model']} | {r['n_dis']} | {r['control']} | "
        f"{'; '.join(f'`{b}`' for b in r['bindings']) or '–'} | {r['d_updates']} | "
        f"{_e(abs(first[0] - first[1]) / abs(first[1]))} | "
        f"{_e(r['weights']['rel_l2'])} / {_e(r['weights']['max_rel'])} | "
        + (f"{_e(floor['rel_l2'])} / {_e(floor['max_rel'])}" if floor else "not run")
        + f" | {_e(worst.get('D_delta_rel_l2'))} ({_e(worst.get('D_rest_rel_l2'))}) | "
        f"{_e(worst.get('D_weights_rel_l2'))} | {_e(worst.get('G_delta_rel_l2'))} "
        f"({_e(worst.get('G_rest_rel_l2'))}) | {worst.get('D_flips', '–')} / "
        f"{worst.get('G_flips', '–')} | {_e(worst.get('D_grad64_rel_l2_ours'))} / "
        f"{_e(worst.get('D_grad64_rel_l2_mimicry'))} | {_e(worst.get('G_grad64_rel_l2_ours'))} / "
        f"{_e(worst.get('G_grad64_rel_l2_mimicry'))} | {'yes' if r['passed'] else 'no'} |")
  return "\n".join(lines)
