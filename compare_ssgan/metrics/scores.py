"""FID, Inception Score and KID in float64, as TF-GAN / compare_gan compute them.

FID uses TF-GAN's trace-sqrt: tr sqrt(A S_fake A) with A = sqrt(S_real), each
symmetric square root from an SVD that leaves singular values < 1e-10 as they
are (not scipy's sqrtm; the two differ by ~1e-3 FID at n=10k). The matrices
are symmetric, so numpy's hermitian SVD (via eigh; same U diag(s) V^T, signs
in V) gives the same decomposition ~5x faster than a general SVD.
"""

import numpy as np


def symmetric_matrix_sqrt(mat, eps=1e-10):
  """TF-GAN `_symmetric_matrix_square_root`: U diag(s') V^T via the SVD."""
  u, s, vh = np.linalg.svd(np.asarray(mat, np.float64), hermitian=True)
  s = np.where(s < eps, s, np.sqrt(s))
  return (u * s) @ vh


def trace_sqrt_product(sigma, sigma_v):
  """tr(sqrt(sigma @ sigma_v)) as tr sqrt(A sigma_v A), A = sqrt(sigma)."""
  sqrt_sigma = symmetric_matrix_sqrt(sigma)
  return np.trace(symmetric_matrix_sqrt(sqrt_sigma @ sigma_v @ sqrt_sigma))


def frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake):
  """FID from moments (real first, as TF-GAN orders the trace-sqrt)."""
  mu_real, mu_fake, sigma_real, sigma_fake = (
      np.asarray(a, np.float64)
      for a in (mu_real, mu_fake, sigma_real, sigma_fake))
  if mu_real.shape != mu_fake.shape or sigma_real.shape != sigma_fake.shape:
    raise ValueError(f"Moment shapes differ: {mu_real.shape}/{sigma_real.shape}"
                     f" vs {mu_fake.shape}/{sigma_fake.shape}.")
  trace = np.trace(sigma_real) + np.trace(sigma_fake)
  mean_term = np.sum(np.square(mu_real - mu_fake))
  return float(trace - 2.0 * trace_sqrt_product(sigma_real, sigma_fake)
               + mean_term)


def moments(activations):
  """Mean and unbiased covariance (n - 1) in float64."""
  x = np.asarray(activations, np.float64)
  if x.ndim != 2 or len(x) < 2:
    raise ValueError(f"Need [N >= 2, D] activations, got shape {x.shape}.")
  mu = x.mean(axis=0)
  centered = x - mu
  return mu, centered.T @ centered / (len(x) - 1)


def frechet_distance_from_activations(real, fake):
  """TF-GAN `frechet_classifier_distance_from_activations` in float64."""
  return frechet_distance(*moments(real), *moments(fake))


def softmax_terms(logits):
  """Per-sample (sum_y p log p, p) of softmax(logits), float64."""
  z = np.asarray(logits, np.float64)
  z = z - z.max(axis=1, keepdims=True)
  log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
  p = np.exp(log_p)
  return np.sum(p * log_p, axis=1), p


def inception_score_from_sums(sum_p_log_p, sum_p, count):
  """exp(E_x KL(p(y|x) || p(y))) = exp(E[sum p log p] - sum q log q)."""
  q = np.asarray(sum_p, np.float64) / count
  q_log_q = np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0))
  return float(np.exp(sum_p_log_p / count - q_log_q))


def inception_score(logits, splits=1):
  """(mean, std) over `splits` consecutive parts; splits=1 is compare_gan's."""
  logits = np.asarray(logits)
  n = len(logits)
  if not 1 <= splits <= n:
    raise ValueError(f"splits={splits} must be in [1, {n}].")
  p_log_p, p = softmax_terms(logits)
  scores = []
  for k in range(splits):
    part = slice(k * n // splits, (k + 1) * n // splits)
    scores.append(inception_score_from_sums(
        p_log_p[part].sum(), p[part].sum(axis=0), part.stop - part.start))
  return float(np.mean(scores)), float(np.std(scores))


def _block_sizes(n, num_blocks):
  small = n // num_blocks
  plus_one = n - small * num_blocks
  sizes = [small] * (num_blocks - plus_one) + [small + 1] * plus_one
  return np.concatenate([[0], np.cumsum(sizes)])


def kid_num_blocks(num_real, num_fake, max_block_size):
  """How many blocks KID cuts the sets into; one gives no standard error."""
  return int(np.ceil(max(num_real, num_fake) / max_block_size))


def kernel_inception_distance(real, fake, max_block_size=1024):
  """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, averaged over blocks.

  TF-GAN's `kernel_classifier_distance_and_std_from_activations`: both sets
  are cut into ceil(max(n_r, n_g) / max_block_size) disjoint consecutive
  blocks of near-equal size; returns (mean, standard error) over the blocks
  (the error is NaN with a single block). `real` and `fake` are arrays or anything
  with their `shape` and row slicing (a feature_file.FeatureFile): only one block of
  each is in memory at a time.
  """
  if len(real.shape) != 2 or len(fake.shape) != 2 or real.shape[1] != fake.shape[1]:
    raise ValueError(f"Bad activation shapes {real.shape} / {fake.shape}.")
  num_blocks = kid_num_blocks(len(real), len(fake), max_block_size)
  if min(len(real), len(fake)) < 2 * num_blocks:
    raise ValueError("KID needs at least 2 samples per block per set.")
  dim = real.shape[1]
  edges_r = _block_sizes(len(real), num_blocks)
  edges_g = _block_sizes(len(fake), num_blocks)
  estimates = []
  for i in range(num_blocks):
    r = np.asarray(real[edges_r[i]:edges_r[i + 1]], np.float64)
    g = np.asarray(fake[edges_g[i]:edges_g[i + 1]], np.float64)
    m, n = len(r), len(g)
    k_rr = (r @ r.T / dim + 1) ** 3
    k_gg = (g @ g.T / dim + 1) ** 3
    k_rg = (r @ g.T / dim + 1) ** 3
    estimates.append((k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
                     + (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1))
                     - 2 * k_rg.mean())
  estimates = np.array(estimates)
  if num_blocks == 1:
    return float(estimates[0]), float("nan")
  var = np.sum((estimates - estimates.mean()) ** 2) / (num_blocks - 1)
  return float(estimates.mean()), float(np.sqrt(var / num_blocks))
