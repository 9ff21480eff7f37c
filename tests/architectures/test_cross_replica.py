"""Cross-replica BN and spectral norm under MirroredStrategy on 2 logical CPUs.

The checks live in mirrored_check.py and run in a child process (tests/multi_replica.py).
"""
from tests import multi_replica


def test_mirrored_strategy_matches_single_device():
  multi_replica.run_check("tests.architectures.mirrored_check")
