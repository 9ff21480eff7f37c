"""MirroredStrategy on 2 logical CPUs, in a child process (tests/multi_replica.py)."""
import pytest

from tests import multi_replica


@pytest.mark.slow
def test_two_replicas_see_the_doubled_single_replica_batch(indexed_npz):
  multi_replica.run_check("tests.data.mirrored_check", indexed_npz(10))
