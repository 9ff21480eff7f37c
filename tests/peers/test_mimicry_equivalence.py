"""The training step against torch-mimicry 0.1.16's, update by update, at a small size.

mimicry's side runs in its own process (benchmarks/peers/mimicry_equivalence_torch.py: torch
and TensorFlow never share one); this side replays it with the mimicry configs
(gin_configs/ssgan_paper/cifar10_{uncond,ssgan}_mimicry.gin) through
benchmarks/peers/mimicry_equivalence.py. Each of the run's updates is also replayed from
mimicry's own state before it (teacher forcing), so that rounding differences cannot pile
up: the D updates then agree to rounding. A control (one deliberate change on this side)
must fail by far more than the tolerance. Small networks (width 32), batch 16, 3 G steps
of 2 D steps: 9 updates.
"""
import json

import numpy as np
import pytest

from benchmarks.peers import mimicry_equivalence as meq
from benchmarks.peers import mimicry_equivalence_report as report

SIZE = {"n_dis": 2, "g_steps": 3, "batch_size": 16, "ngf": 32, "ndf": 32, "seed": 0}
# Teacher-forced D updates: the relative L2 difference of each update w_after - w_before.
TOLERANCE = 1e-3


@pytest.fixture(scope="module", params=[("uncond", "linear", "adam_beta2"),
                                        ("ssgan", "none", "non_saturating")],
                ids=["uncond", "ssgan"])
def recorded(request, tmp_path_factory):
  model, lr_decay, control = request.param
  path = tmp_path_factory.mktemp("mimicry") / f"{model}.npz"
  arrays = meq.run_torch_side(str(path), model, lr_decay=lr_decay, threads=1,
                              record_updates=SIZE["g_steps"] * (SIZE["n_dis"] + 1), **SIZE)
  return arrays, control


def _forced(result):
  return result["teacher_forced"]["worst"]


@pytest.mark.slow
def test_each_update_is_mimicrys_and_a_control_is_not(recorded):
  arrays, control = recorded
  _, ours = meq.equivalence(arrays)
  forced = _forced(ours)
  # From mimicry's state: D's updates, spectral-norm vectors and G's BN statistics agree to
  # rounding; G's weights to the few elements whose Adam step flips (see the docs).
  assert forced["D_delta_rel_l2"] <= TOLERANCE
  assert forced["D_weights_rel_l2"] <= 1e-6
  assert forced["D_grad_rel_l2"] <= 1e-4
  assert forced["G_weights_rel_l2"] <= 1e-3
  assert forced["u"] <= 1e-5 and forced["bn_var"] <= 1e-5
  # Free running, the first D loss is the same computation on the same state.
  first_d = ours["loss_trace"]["d_loss"][0]
  np.testing.assert_allclose(first_d[0], first_d[1], rtol=1e-5)
  assert ours["shift_effect_on_g_output"] < 1e-4  # G's output does not see the shifts.

  _, wrong = meq.equivalence(arrays, control=control)
  assert _forced(wrong)["D_delta_rel_l2"] >= 100 * TOLERANCE

  # The results file's lines (JSON) and their table: one row per run, the control's failing.
  lines = [json.loads(json.dumps(report.compact(r))) for r in (ours, wrong)]
  rows = report.results_table(lines).splitlines()[2:]
  assert [row.split(" | ")[2:4] for row in rows] == [["none", "–"], [control, "–"]]
  assert rows[1].endswith("| no |")


def test_the_state_map_covers_every_tensor_of_both_sides(recorded):
  arrays, _ = recorded
  meta = meq.meta_of(arrays)
  _, gan = meq.build_gan(meq.model_of(arrays), meta["n_dis"], meta["ngf"], meta["ndf"],
                         meta["g_steps"], meta["lr_decay"])
  pairs = meq.state_pairs(gan, arrays)  # Raises if a variable or a tensor is left out.
  meq.load_state(pairs, arrays)
  for pair in pairs:
    np.testing.assert_array_equal(pair.variable.numpy(),
                                  pair.to_ours(arrays[f"init/{pair.theirs}"]))
