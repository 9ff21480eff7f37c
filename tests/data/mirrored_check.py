"""Run by test_data_mirrored.py through tests/multi_replica.py: 2 logical CPU replicas.

Checks that MirroredStrategy's two replicas together see, at every step, the
examples a single replica sees with the doubled batch (also when resuming),
and that an indivisible global batch is refused.
"""
import sys

from tests import multi_replica

STRATEGY = multi_replica.mirrored_cpus(2)

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from compare_ssgan.data import datasets  # pylint: disable=g-import-not-at-top


def main(npz_path, strategy):
  ds = datasets.get_dataset("npz", data_dir=npz_path)
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
  multi_replica.report(strategy)


if __name__ == "__main__":
  main(sys.argv[1], STRATEGY)
