"""MirroredStrategy on 2 logical CPUs equals one device on the same global batch."""
import pytest

from tests import multi_replica


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["", "GAN.conditional = True\nG.batch_norm = "
                                       "'conditional_batch_norm'\n"])
def test_two_mirrored_replicas_equal_one_device(extra):
  result = multi_replica.run_check("tests.training.mirrored_equivalence", extra)
  # BN in G is synchronised across replicas, so the two runs see the same statistics.
  assert result["loss_diff"] < 1e-4, result
  assert result["weight_diff"] < 1e-4, result
