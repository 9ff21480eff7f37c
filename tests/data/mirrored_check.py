"""Run by test_data_mirrored.py in a fresh process: 2 logical CPU replicas.

Checks that MirroredStrategy's two replicas together see, at every step, the
examples a single replica sees with the doubled batch (also when resuming),
and that an indivisible global batch is refused. Prints "OK" on success.
"""
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from compare_ssgan.data import datasets  # pylint: disable=g-import-not-at-top


def main(npz_path):
  ds = datasets.get_dataset("npz", data_dir=npz_path)
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  assert strategy.num_replicas_in_sync == 2
  for start in (0, 3):
    single = list(ds.train_input_fn(None, 6, seed=8, start_batch=start).take(4))
    dist = datasets.distributed_train_dataset(strategy, ds, 6, seed=8,
                                              start_batch=start)
    for step, (images, labels) in zip(range(4), dist):
      parts = strategy.experimental_local_results(images)
      assert [p.shape[0] for p in parts] == [3, 3], parts
      np.testing.assert_array_equal(tf.concat(parts, 0), single[step][0])
      np.testing.assert_array_equal(
          tf.concat(strategy.experimental_local_results(labels), 0),
          single[step][1])
  try:
    datasets.distributed_train_dataset(strategy, ds, 5, seed=8)
  except ValueError as e:
    assert "divisible" in str(e), e
  else:
    raise AssertionError("global batch 5 on 2 replicas was accepted")
  print("OK")


if __name__ == "__main__":
  main(sys.argv[1])
