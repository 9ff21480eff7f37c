"""Precision / recall and density / coverage of two feature sets, block by block.

Improved precision and recall (Kynkaanniemi et al., "Improved Precision and Recall Metric for
Assessing Generative Models", arXiv 1904.06991): a set's manifold is the union of balls around
its features, each reaching that feature's k-th nearest neighbour in the same set (k = 3).
Precision is the share of fakes inside the reals' manifold, recall the share of reals inside
the fakes'. A point is inside a ball when its distance is <= the radius (the paper's closed
ball, as NVIDIA's implementation).

Density and coverage (Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
Models", arXiv 2002.09797), on the reals' balls only (k = 5): density is the mean number of
real balls holding a fake, over k; coverage the share of reals whose nearest fake is inside
their ball. Strict `<`, as the authors' `prdc` package.

A k-th neighbour radius counts the point itself, as both references do: it is the (k+1)-th
smallest distance from a point to every point of its set. Distances are Euclidean, in float64,
from |x|^2 + |y|^2 - 2 x.y (scikit-learn's formula, which the `prdc` package uses). Nothing of
size N x N is held: each pass reads both sets a block of rows at a time (arrays or
feature_file.FeatureFile alike) and keeps per-point running values, so memory is
O(block_size^2 + N k).
"""
import dataclasses

import numpy as np

from compare_ssgan import validate


def _blocks(features, block_size):
  """(start, float64 block, squared norms) over consecutive row blocks."""
  for start in range(0, len(features), block_size):
    block = np.asarray(features[start:start + block_size], np.float64)
    yield start, block, np.einsum("ij,ij->i", block, block)


def _distances(a, a_sq, b, b_sq):
  squared = a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
  return np.sqrt(np.maximum(squared, 0.0))


def _check(name, features, min_rows):
  shape = getattr(features, "shape", None)
  if shape is None or len(shape) != 2:
    raise ValueError(f"{name} features must be a [num_samples, dim] array; got shape {shape}.")
  if shape[0] < min_rows:
    raise ValueError(f"{name}: {shape[0]} features; a k-th neighbour radius needs at least "
                     f"k + 1 = {min_rows}.")
  return shape


def neighbour_radii(features, ks, block_size=2048):
  """{k: float64 [N]} for each k in `ks`: each feature's distance to its k-th nearest
  neighbour in `features` (the point itself counted as its own nearest, at distance 0)."""
  for k in ks:
    validate.integer("k", k, minimum=1)
  validate.integer("block_size", block_size, minimum=1)
  k_max = max(ks)
  _check("The set's", features, k_max + 1)
  radii = {k: np.empty(len(features)) for k in ks}
  for start, rows, rows_sq in _blocks(features, block_size):
    nearest = np.full((len(rows), k_max + 1), np.inf)  # The k_max + 1 smallest so far.
    for _, columns, columns_sq in _blocks(features, block_size):
      both = np.concatenate([nearest, _distances(rows, rows_sq, columns, columns_sq)], axis=1)
      nearest = np.partition(both, k_max, axis=1)[:, :k_max + 1]
    nearest.sort(axis=1)
    for k in ks:
      radii[k][start:start + len(rows)] = nearest[:, k]
  return radii


@dataclasses.dataclass(frozen=True)
class ManifoldScores:
  precision: float
  recall: float
  density: float
  coverage: float


def manifold_scores(real, fake, real_radii_pr, fake_radii_pr, real_radii_dc, k_dc,
                    block_size=2048):
  """All four scores from one pass over the real x fake distances.

  Args:
    real, fake: [M, dim] and [N, dim] features (arrays or FeatureFiles).
    real_radii_pr, fake_radii_pr: neighbour_radii of each set at precision / recall's k.
    real_radii_dc: neighbour_radii of the reals at density / coverage's k (`k_dc`).
    block_size: rows of each set per block.
  """
  num_real, num_fake = len(real), len(fake)
  fake_in_real_manifold = np.zeros(num_fake, bool)
  real_in_fake_manifold = np.zeros(num_real, bool)
  real_balls_per_fake = np.zeros(num_fake, np.int64)
  nearest_fake = np.full(num_real, np.inf)
  for r0, reals, reals_sq in _blocks(real, block_size):
    r1 = r0 + len(reals)
    for f0, fakes, fakes_sq in _blocks(fake, block_size):
      f1 = f0 + len(fakes)
      d = _distances(reals, reals_sq, fakes, fakes_sq)  # [reals, fakes]
      fake_in_real_manifold[f0:f1] |= (d <= real_radii_pr[r0:r1, None]).any(axis=0)
      real_in_fake_manifold[r0:r1] |= (d <= fake_radii_pr[None, f0:f1]).any(axis=1)
      real_balls_per_fake[f0:f1] += (d < real_radii_dc[r0:r1, None]).sum(axis=0)
      nearest_fake[r0:r1] = np.minimum(nearest_fake[r0:r1], d.min(axis=1))
  return ManifoldScores(
      precision=float(fake_in_real_manifold.mean()),
      recall=float(real_in_fake_manifold.mean()),
      density=float(real_balls_per_fake.sum() / (k_dc * num_fake)),
      coverage=float((nearest_fake < real_radii_dc).mean()))


def precision_recall_density_coverage(real, fake, k_pr=3, k_dc=5, block_size=2048,
                                      real_radii=None):
  """ManifoldScores of `fake` against `real`.

  real_radii: neighbour_radii(real, (k_pr, k_dc)), when already known (the reals are the
    same at every checkpoint); computed here otherwise.
  """
  validate.integer("k_pr", k_pr, minimum=1)
  validate.integer("k_dc", k_dc, minimum=1)
  real_shape = _check("The real", real, max(k_pr, k_dc) + 1)
  fake_shape = _check("The fake", fake, k_pr + 1)
  if real_shape[1] != fake_shape[1]:
    raise ValueError(f"Real features are {real_shape[1]}-d, fake features "
                     f"{fake_shape[1]}-d; they must come from the same network.")
  if real_radii is None:
    real_radii = neighbour_radii(real, (k_pr, k_dc), block_size)
  fake_radii = neighbour_radii(fake, (k_pr,), block_size)
  return manifold_scores(real, fake, real_radii[k_pr], fake_radii[k_pr], real_radii[k_dc],
                         k_dc, block_size)
