"""FID / IS / KID against independent numpy / scipy reference implementations."""

import numpy as np
import pytest
from scipy import linalg
from scipy import special
from scipy import stats

from compare_ssgan.metrics import scores


def _activations(seed, n=300, d=16, shift=0.0):
  rng = np.random.RandomState(seed)
  mix = rng.randn(d, d) / np.sqrt(d)
  return np.maximum(rng.randn(n, d) @ mix + shift, 0) + 0.1 * rng.rand(n, d)


def _fid_scipy(a, b):
  """TTUR / pytorch-fid formula: scipy.linalg.sqrtm of the product."""
  mu1, mu2 = a.mean(0), b.mean(0)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = linalg.sqrtm(s1 @ s2).real
  return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)


def test_fid_of_a_set_with_itself_is_zero():
  a = _activations(0)
  assert abs(scores.frechet_distance_from_activations(a, a)) < 1e-8


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_fid_matches_scipy_sqrtm(shift):
  a, b = _activations(1), _activations(2, n=250, shift=shift)
  expected = _fid_scipy(a, b)
  got = scores.frechet_distance_from_activations(a, b)
  assert got == pytest.approx(expected, rel=1e-6)
  assert got > 1e-3


def _fid_general_svd(a, b):
  """TF-GAN's formula transcribed with a general (non-hermitian) SVD."""
  def sqrt_sym(mat):
    u, s, vh = np.linalg.svd(mat)
    return u @ np.diag(np.where(s < 1e-10, s, np.sqrt(s))) @ vh
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  root = sqrt_sym(s1)
  return (np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrt_sym(root @ s2 @ root))
          + np.sum((a.mean(0) - b.mean(0)) ** 2))


def test_fid_matches_general_svd_when_rank_deficient():
  # n < d: singular covariances, where the 1e-10 rule and sqrtm differ.
  a, b = _activations(7, n=12, d=20), _activations(8, n=15, d=20, shift=0.1)
  got = scores.frechet_distance_from_activations(a, b)
  assert got == pytest.approx(_fid_general_svd(a, b), rel=1e-9)


def test_fid_golden_value_from_compare_gan():
  real = np.ones((100, 2))
  real[:50, 0] = 2
  gen = np.full((100, 2), 9.0)
  gen[50:, 0] = 2
  assert scores.frechet_distance_from_activations(real, gen) == pytest.approx(
      89.091, abs=1e-3)


def test_symmetric_sqrt_keeps_tiny_singular_values():
  mat = np.diag([4.0, 1e-12])
  np.testing.assert_allclose(scores.symmetric_matrix_sqrt(mat),
                             np.diag([2.0, 1e-12]), atol=1e-15)


def test_moments_are_mean_and_unbiased_cov():
  a = _activations(3, n=40, d=5)
  mu, sigma = scores.moments(a)
  np.testing.assert_allclose(mu, np.mean(a, 0), rtol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(a, rowvar=False), rtol=1e-10)


def _is_reference(logits, splits):
  """Original IS code: mean over splits of exp(mean KL(p(y|x) || p(y)))."""
  p = special.softmax(np.asarray(logits, np.float64), axis=1)
  values = []
  n = len(p)
  for k in range(splits):
    part = p[k * n // splits:(k + 1) * n // splits]
    py = part.mean(0)
    values.append(np.exp(np.mean([stats.entropy(row, py) for row in part])))
  return np.mean(values), np.std(values)


@pytest.mark.parametrize("splits", [1, 3, 10])
def test_inception_score_matches_reference(splits):
  logits = np.random.RandomState(4).randn(203, 12) * 3
  mean, std = scores.inception_score(logits, splits)
  ref_mean, ref_std = _is_reference(logits, splits)
  assert mean == pytest.approx(ref_mean, rel=1e-6)
  assert std == pytest.approx(ref_std, rel=1e-6, abs=1e-12)
  assert mean > 1.5


def test_inception_score_bounds():
  confident = np.eye(10)[np.arange(100) % 10] * 50
  assert scores.inception_score(confident)[0] == pytest.approx(10, rel=1e-6)
  assert scores.inception_score(np.zeros((10, 7)))[0] == pytest.approx(1.0)


def _split(x, k):
  """k consecutive parts; the n % k one-larger parts come last (TF-GAN)."""
  sizes = [len(x) // k + (i >= k - len(x) % k) for i in range(k)]
  return np.split(x, np.cumsum(sizes)[:-1])


def _kid_reference(real, fake, num_subsets):
  """Unbiased MMD^2 per subset, written with explicit off-diagonal masks."""
  d = real.shape[1]
  kernel = lambda x, y: (np.dot(x, y.T) / d + 1) ** 3
  values = []
  for r, g in zip(_split(real, num_subsets), _split(fake, num_subsets)):
    off_r = ~np.eye(len(r), dtype=bool)
    off_g = ~np.eye(len(g), dtype=bool)
    values.append(kernel(r, r)[off_r].mean() + kernel(g, g)[off_g].mean()
                  - 2 * kernel(r, g).mean())
  values = np.array(values)
  if len(values) == 1:
    return values[0], np.nan
  return values.mean(), values.std(ddof=1) / np.sqrt(len(values))


@pytest.mark.parametrize("n_real,n_fake,block", [(120, 120, 1024),
                                                 (120, 120, 50),
                                                 (101, 90, 25)])
def test_kid_matches_reference(n_real, n_fake, block):
  real, fake = _activations(5, n_real), _activations(6, n_fake, shift=0.2)
  num_subsets = int(np.ceil(max(n_real, n_fake) / block))
  mean, stderr = scores.kernel_inception_distance(real, fake, block)
  ref_mean, ref_stderr = _kid_reference(real, fake, num_subsets)
  assert mean == pytest.approx(ref_mean, rel=1e-6)
  if num_subsets == 1:
    assert np.isnan(stderr)
  else:
    assert stderr == pytest.approx(ref_stderr, rel=1e-6)
  assert mean > 0


def test_bad_inputs_raise():
  with pytest.raises(ValueError, match="shapes"):
    scores.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
  with pytest.raises(ValueError, match="splits"):
    scores.inception_score(np.zeros((3, 4)), splits=5)
  with pytest.raises(ValueError, match="shapes"):
    scores.kernel_inception_distance(np.zeros((4, 3)), np.zeros((4, 2)))
