"""A few training steps of the demo variants write their accuracies to TensorBoard."""

import pytest

import compare_ssgan  # pylint: disable=unused-import  (registers every gin configurable)
from compare_ssgan import gin_files
from compare_ssgan.training import strategy as strategy_lib
from compare_ssgan.training import summaries
from compare_ssgan.training import trainer as trainer_lib
from tests import tiny_configs

TINY = (tiny_configs.tiny_trainer(training_steps=2, steps_per_loop=1, summary_steps=1) +
        "rotation.rotated_batch_size = 8\n" + tiny_configs.tiny_networks())


@pytest.mark.parametrize("config, tag", [
    ("gin_configs/demo/ssgan.gin", "rotation_accuracy"),
    ("gin_configs/demo/cntr.gin", "contrastive_accuracy"),
])
def test_accuracy_is_logged_every_summary_step(config, tag, tmp_path):
  """Rising above chance takes hundreds of steps: see benchmarks/variants/variants_demo.py."""
  gin_files.parse_gin([config], [TINY])
  trainer_lib.Trainer(str(tmp_path), strategy_lib.make_strategy()).train()
  logged = summaries.read_scalars(str(tmp_path))
  assert [step for step, _ in logged[tag]] == [1, 2]
  assert all(0.0 <= value <= 1.0 for _, value in logged[tag])
  assert {"d_loss", "g_loss"} <= set(logged)
