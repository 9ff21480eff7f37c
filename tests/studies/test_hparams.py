"""The report's TensorBoard HParams: read back with TensorBoard's own loader."""
import os

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2
import tensorflow as tf

from compare_ssgan.studies import collect
from compare_ssgan.studies import hparams
from tests.studies import synthetic


def _loaded(directory):
  accumulator = event_accumulator.EventAccumulator(directory)
  accumulator.Reload()
  return accumulator


def test_each_complete_run_is_a_session_in_one_fixed_name_file(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "study"))
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  log_dir = hparams.write(cells, str(tmp_path / "hparams"))
  files = sorted(os.path.relpath(os.path.join(d, name), log_dir)
                 for d, _, names in os.walk(log_dir) for name in names)
  assert files == [hparams.EVENTS_FILE] + [  # No host name, pid or time in a file's name.
      f"{cell}/seed_{seed}/{hparams.EVENTS_FILE}" for cell, seed in
      [("ssgan", 0), ("ssgan", 1), ("uncond", 0), ("uncond", 1), ("uncond", 2)]]
  experiment = plugin_data_pb2.HParamsPluginData.FromString(
      _loaded(log_dir).PluginTagToContent("hparams")["_hparams_/experiment"]).experiment
  assert {"fid_final", "kid_best", "probe_top1_block1_final"} <= {
      m.name.tag for m in experiment.metric_infos}
  session = _loaded(os.path.join(log_dir, "uncond", "seed_1"))
  start = plugin_data_pb2.HParamsPluginData.FromString(session.PluginTagToContent(
      "hparams")["_hparams_/session_start_info"]).session_start_info
  assert start.group_name == "uncond/seed_1"
  assert start.hparams["cell"].string_value == "uncond"
  (fid,) = session.Tensors("fid_final")
  assert (fid.step, float(tf.make_ndarray(fid.tensor_proto))) == (20, 30.0)
