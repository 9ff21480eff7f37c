"""Precision / recall and density / coverage: exact against independent implementations.

The oracle for all four at one k is the `prdc` package (Naeem et al.'s own code, a test-only
dependency); improved precision / recall at k = 3 is checked against a brute-force numpy
computation written here from Kynkaanniemi et al.'s definition (closed balls, <=).
"""
import tracemalloc

import numpy as np
import prdc
import pytest
from scipy.spatial import distance

from compare_ssgan.metrics import feature_file
from compare_ssgan.metrics import manifold
from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import tasks


def _sets(seed=0, num_real=600, num_fake=500, dim=32):
  """Reals from two clusters, fakes covering one of them and some empty space."""
  rng = np.random.default_rng(seed)
  real = np.concatenate([rng.normal(0, 1, (num_real // 2, dim)),
                         rng.normal(4, 1, (num_real - num_real // 2, dim))])
  fake = np.concatenate([rng.normal(0.2, 1.1, (num_fake // 2, dim)),
                         rng.normal(-4, 1, (num_fake - num_fake // 2, dim))])
  return real.astype(np.float32), fake.astype(np.float32)


def _brute_force_precision_recall(real, fake, k):
  def radii(x):
    return np.sort(distance.cdist(x, x), axis=1)[:, k]  # Column 0 is the point itself.
  cross = distance.cdist(real, fake)  # [real, fake]
  precision = (cross <= radii(real)[:, None]).any(axis=0).mean()
  recall = (cross <= radii(fake)[None, :]).any(axis=1).mean()
  return precision, recall


@pytest.mark.parametrize("block_size", [64, 97, 2048])
def test_all_four_equal_the_prdc_package(block_size):
  real, fake = _sets()
  ours = manifold.precision_recall_density_coverage(real, fake, k_pr=5, k_dc=5,
                                                    block_size=block_size)
  theirs = prdc.compute_prdc(real.astype(np.float64), fake.astype(np.float64), nearest_k=5)
  for name in ("precision", "recall", "density", "coverage"):
    assert abs(getattr(ours, name) - theirs[name]) <= 1e-12, name
  # Informative: neither all-in nor all-out, so a wrong radius moves them.
  assert 0.2 < ours.precision < 0.8 and 0.2 < ours.recall < 0.8
  assert 0.2 < ours.coverage < 0.8


def test_a_radius_off_by_one_neighbour_disagrees_with_the_package():
  """Control: counting the point itself out (k-th instead of (k+1)-th smallest) is caught."""
  real, fake = _sets()
  wrong = manifold.precision_recall_density_coverage(real, fake, k_pr=4, k_dc=4)
  theirs = prdc.compute_prdc(real.astype(np.float64), fake.astype(np.float64), nearest_k=5)
  assert max(abs(getattr(wrong, n) - theirs[n])
             for n in ("precision", "recall", "density", "coverage")) > 1e-3


def test_precision_recall_at_k3_equal_a_brute_force_computation():
  real, fake = _sets(seed=1)
  ours = manifold.precision_recall_density_coverage(real, fake, k_pr=3, block_size=128)
  precision, recall = _brute_force_precision_recall(real.astype(np.float64),
                                                    fake.astype(np.float64), k=3)
  assert abs(ours.precision - precision) <= 1e-12
  assert abs(ours.recall - recall) <= 1e-12
  other = _brute_force_precision_recall(real.astype(np.float64), fake.astype(np.float64), k=1)
  assert abs(ours.recall - other[1]) > 1e-3  # The brute force itself depends on k.


def test_identical_sets_score_one_and_far_disjoint_sets_zero():
  real, _ = _sets(num_real=300)
  same = manifold.precision_recall_density_coverage(real, real.copy(), block_size=64)
  assert (same.precision, same.recall, same.coverage) == (1.0, 1.0, 1.0)
  assert same.density > 0.9  # ~1: each real ball holds its own copy and k-ish neighbours.
  far = manifold.precision_recall_density_coverage(real, real + 1e3, block_size=64)
  assert (far.precision, far.recall, far.density, far.coverage) == (0.0, 0.0, 0.0, 0.0)


def test_features_on_disk_give_the_same_scores_as_arrays(tmp_path):
  real, fake = _sets(num_real=200, num_fake=150)
  files = []
  for name, features in (("real", real), ("fake", fake)):
    writer = feature_file.Writer(str(tmp_path / f"{name}.npy"), len(features))
    writer.append(features)
    writer.close()
    files.append(feature_file.FeatureFile(writer.path))
  assert (manifold.precision_recall_density_coverage(*files, block_size=50) ==
          manifold.precision_recall_density_coverage(real, fake, block_size=50))


def test_memory_stays_flat_in_the_number_of_samples():
  """Peak allocation at 4x the samples stays within the block's working set, not 16x."""
  def peak(num):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(num, 16)).astype(np.float32)
    fake = rng.normal(size=(num, 16)).astype(np.float32)
    tracemalloc.start()
    manifold.precision_recall_density_coverage(real, fake, block_size=128)
    peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak_bytes
  small, large = peak(1000), peak(4000)
  assert large < 2 * small, (small, large)
  # Control: the full N x N distance matrix at 4000 alone is 128 MB.
  assert large < 4000 * 4000 * 8 / 20


def test_bad_inputs_are_named():
  real, fake = _sets(num_real=20, num_fake=20)
  with pytest.raises(ValueError, match="32-d, fake features 31-d"):
    manifold.precision_recall_density_coverage(real, fake[:, :31])
  with pytest.raises(ValueError, match=r"The fake: 3 features; .* k \+ 1 = 4"):
    manifold.precision_recall_density_coverage(real, fake[:3])
  with pytest.raises(ValueError, match=r"\[num_samples, dim\].*\(20,\)"):
    manifold.precision_recall_density_coverage(real, fake[:, 0])
  with pytest.raises(ValueError, match="k_pr"):
    manifold.precision_recall_density_coverage(real, fake, k_pr=0)


def _stats(features):
  mu, sigma = scores.moments(features)
  return statistics.FeatureStatistics(len(features), mu, sigma, features)


def test_the_prdc_task_reports_all_four_and_computes_the_real_radii_once(monkeypatch):
  real, fake = _sets(num_real=200, num_fake=150)
  (task,) = tasks.make_tasks(["prdc"])
  assert task.needs == {tasks.INCEPTION_FEATURES} and task.scores_fakes
  assert task.value_names() == task.averaged_names() == (
      "precision", "recall", "density", "coverage")
  calls = []
  radii = manifold.neighbour_radii
  monkeypatch.setattr(manifold, "neighbour_radii",
                      lambda features, ks, block_size: calls.append(len(features)) or
                      radii(features, ks, block_size))
  real_stats = _stats(real)
  values = [task.compute(tasks.EvalInputs(real=real_stats, fake=_stats(f)))
            for f in (fake, fake[:100])]
  assert calls == [200, 150, 100]  # The reals' radii once, each fake set's its own.
  expected = manifold.precision_recall_density_coverage(real, fake, 3, 5)
  assert values[0] == {"precision": expected.precision, "recall": expected.recall,
                       "density": expected.density, "coverage": expected.coverage}
  with pytest.raises(ValueError, match=r"3 real and 100 fake"):
    task.check_sizes(3, 100)
