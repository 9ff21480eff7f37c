"""The op-type profile: real kernels of a known function, grouped and ranked."""

import pytest
import tensorflow as tf

from compare_ssgan.profiling import kernel_time


def test_a_convolution_dominates_a_profile_of_conv_then_cheap_ops(tmp_path):
  images = tf.random.stateless_normal([16, 64, 64, 32], seed=[1, 2])
  kernel = tf.random.stateless_normal([3, 3, 32, 64], seed=[3, 4])
  step = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(images, kernel, 1, "SAME") * 2.0))
  step()  # Traced outside the profile.

  seconds = kernel_time.profile_op_types(lambda: [step().numpy() for _ in range(3)],
                                        logdir=str(tmp_path))

  convs = {t: s for t, s in seconds.items() if "Conv2D" in t}
  assert convs, f"no convolution kernel in {seconds}"
  assert sum(convs.values()) > 0.5 * sum(seconds.values())
  assert not any(t.endswith("PartitionedCall") for t in seconds)
  assert list(tmp_path.glob("plugins/profile/*/*.xplane.pb"))  # TensorBoard can read it.


def test_shares_rank_and_group_the_rest():
  table = kernel_time.shares({"a": 1.0, "b": 6.0, "c": 2.0, "d": 1.0}, top=2)
  assert [row[0] for row in table] == ["b", "c", "other"]
  assert table[-1][1] == pytest.approx(2.0)
  assert sum(row[2] for row in table) == pytest.approx(1.0)
  with pytest.raises(ValueError, match="no kernel time"):
    kernel_time.shares({})
