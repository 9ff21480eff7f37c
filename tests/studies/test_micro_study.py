"""A 2-cell x 2-seed study of tiny networks, end to end: the runner's real
`main --mode=train_and_eval` subprocesses, adoption of a run without study.json, then every
report file."""
import os

import pytest

from compare_ssgan import run_dir
from compare_ssgan.studies import collect
from compare_ssgan.studies import report_files
from compare_ssgan.studies import runner
from compare_ssgan.studies import study_file
from tests import tiny_configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Two G steps, checkpoints at 0 and 2, both with FID/KID (not the demo's every 500 steps and
# probe); FID/KID of 16 samples keeps the Inception cost small.
BUDGET = """
Trainer.training_steps = 2
Trainer.batch_size = 8
Trainer.steps_per_loop = 2
Trainer.save_checkpoints_steps = 100000
GAN.z_dim = 16
rotation.rotated_batch_size = 8
evaluation.num_samples = 16
evaluation.metrics = ["fid", "kid"]
evaluation.inception_metrics_every_steps = None
""" + tiny_configs.tiny_networks()


@pytest.mark.slow
def test_micro_study_runs_end_to_end_and_reports(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)  # The subprocesses import this checkout's compare_ssgan.
  (tmp_path / "budget.gin").write_text(BUDGET)
  (tmp_path / "micro.gin").write_text(f"""
study.name = "micro"
study.seeds = [0, 1]
study.shared_configs = ["{tmp_path / 'budget.gin'}"]
study.cells = [
    {{"name": "uncond", "configs": ["gin_configs/demo/uncond_gan.gin"],
      "tables": {{"t": ("Fashion-MNIST", "Uncond-GAN")}}}},
    {{"name": "ssgan", "configs": ["gin_configs/demo/ssgan.gin"],
      "tables": {{"t": ("Fashion-MNIST", "SS-GAN")}}}},
]
""")
  study = study_file.load(str(tmp_path / "micro.gin"))
  specs = runner.run_specs(study, str(tmp_path / "runs"))
  lines = []
  assert runner.run_study(study, specs, out=lines.append) == [], lines
  assert lines[-1].startswith("[study micro] 4/4 runs done; elapsed ")
  for spec in specs:
    log = open(run_dir.study_log_path(spec.model_dir)).read()
    assert "FID (final)" in log, log[-3000:]  # main's own report table ...
    assert os.path.exists(run_dir.curves_path(spec.model_dir))  # ... and curves.
  study_dir = str(tmp_path / "runs" / "micro")
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(study_dir)],
                              use_study_plan=True)
  for cell in cells:
    assert [(r.seed, sorted(r.values("fid"))) for r in cell.complete()] == [(0, [0, 2]),
                                                                            (1, [0, 2])]
  paths = report_files.write_report(cells, str(tmp_path / "report"))
  for name in (report_files.MARKDOWN, report_files.CSV, report_files.JSON, report_files.LATEX,
               report_files.CURVES, report_files.MONTAGE):
    assert os.path.getsize(tmp_path / "report" / name) > 0, name
  assert os.listdir(paths["hparams"])
  assert "n=" not in open(paths["markdown"]).read().split("### t: FID at the final")[1]
  # A run trained by hand with the same command (no study.json) is adopted: the config.gin
  # the trainer wrote is what the runner expects of the cell.
  os.remove(run_dir.study_run_path(specs[0].model_dir))
  assert runner.check_run_dir(specs[0], study) == "adopt"
