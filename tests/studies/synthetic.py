"""A synthetic study tree with known numbers (no training), for the report tests."""
import json
import os

import numpy as np
from PIL import Image

from compare_ssgan import run_dir
from compare_ssgan.evaluation import results

STUDY = {"name": "synthetic", "seeds": [0, 1, 2],
         "cells": {"uncond": {"t1": ["C10", "Uncond"]}, "ssgan": {"t1": ["C10", "SS-GAN"]},
                   "cond": {"t1": ["C10", "Cond"]}}}
# {(cell, seed): (complete, {metric: {step: value}})}; "cond" has no run directory at all.
RUNS = {
    ("uncond", 0): (True, {"fid": {0: 100.0, 10: 40.0, 20: 50.0},
                           "kid": {0: 0.5, 10: 0.1, 20: 0.2},
                           "probe_top1_block0": {0: 0.5, 20: 0.6},
                           "probe_top1_block1": {0: 0.6, 20: 0.8}}),
    ("uncond", 1): (True, {"fid": {0: 90.0, 10: 45.0, 20: 30.0},
                           "kid": {0: 0.4, 10: 0.2, 20: 0.1},
                           "probe_top1_block0": {0: 0.5, 20: 0.4},
                           "probe_top1_block1": {0: 0.6, 20: 0.7}}),
    ("uncond", 2): (True, {"fid": {0: 80.0, 10: 35.0, 20: 40.0},
                           "kid": {0: 0.3, 10: 0.15, 20: 0.3},
                           "probe_top1_block0": {0: 0.5, 20: 0.5},
                           "probe_top1_block1": {0: 0.6, 20: 0.9}}),
    ("ssgan", 0): (True, {"fid": {0: 90.0, 20: 20.0}, "kid": {0: 0.3, 20: 0.02},
                          "kid_stderr": {20: 0.003}}),
    ("ssgan", 1): (True, {"fid": {0: 90.0, 20: 24.0}, "kid": {0: 0.3, 20: 0.04}}),
    # Scored at step 20 but TRAIN_DONE missing: still running, so not averaged.
    ("ssgan", 2): (False, {"fid": {0: 90.0, 20: 1.0}, "kid": {0: 0.3, 20: 0.001}}),
}


def write_tree(root, runs=None, study=None, records=True):
  """Writes the runs (default RUNS) under root/<cell>/seed_<seed>; returns root.

  `records`: with each run's study.json (as the runner writes it), else without (a run the
  runner has not started yet).
  """
  study = study or STUDY
  for (cell, seed), (complete, series) in (runs or RUNS).items():
    model_dir = os.path.join(root, cell, f"seed_{seed}")
    os.makedirs(model_dir)
    record = {"study": study, "cell": cell, "seed": seed, "tables": study["cells"][cell],
              "configs": ["gin_configs/demo/uncond_gan.gin"],
              "bindings": ["GAN.z_dim = 16", f"Trainer.seed={seed}"], "command": [],
              "done": complete}
    if records:
      with open(run_dir.study_run_path(model_dir), "w") as f:
        json.dump(record, f)
    else:  # What a trainer started by hand leaves.
      with open(run_dir.config_path(model_dir), "w") as f:
        f.write(f"Trainer.seed = {seed}\n")
    steps = sorted({step for values in series.values() for step in values})
    for step in steps:
      open(run_dir.checkpoint_prefix(model_dir, step) + ".index", "w").close()
    if complete:
      run_dir.mark_training_done(model_dir)
    grid = np.full([8, 8], 40 * (seed + 1) % 256, np.uint8)
    Image.fromarray(grid).save(run_dir.samples_path(model_dir, steps[-1]))
    results.ResultsFile(run_dir.results_path(model_dir, "csv")).add([
        {"step": step, "metric": metric, "value": value, "n": 100, "seed": 42, "repeat": 0,
         "use_ema": False, "wall_time": 0.0, "eval_secs": 1.0, "checkpoint": "",
         "protocol": results.DEFAULT_PROTOCOL, "resize": results.DEFAULT_RESIZE}
        for metric, values in series.items() for step, value in values.items()])
  return root
