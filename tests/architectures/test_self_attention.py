"""Tests for the SAGAN non-local block against a numpy reference."""

import numpy as np
import pytest

from compare_ssgan.architectures import attention


def _max_pool(t):
  n, h, w, c = t.shape
  return t.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _reference(x, block, sigma):
  k = lambda conv: conv.kernel.numpy()[0, 0]  # 1x1 conv == channel matmul.
  n, h, w, c = x.shape
  theta = (x @ k(block.theta)).reshape(n, h * w, -1)
  phi = _max_pool(x @ k(block.phi)).reshape(n, h * w // 4, -1)
  g = _max_pool(x @ k(block.g)).reshape(n, h * w // 4, -1)
  logits = theta @ phi.transpose(0, 2, 1)
  attn = np.exp(logits - logits.max(-1, keepdims=True))
  attn /= attn.sum(-1, keepdims=True)
  o = (attn @ g).reshape(n, h, w, -1) @ k(block.attn_g)
  return x + sigma * o


def test_non_local_block_matches_numpy():
  x = np.random.default_rng(0).normal(size=(2, 4, 6, 16)).astype(np.float32)
  block = attention.NonLocalBlock(16)
  # sigma starts at 0: the block is the identity.
  np.testing.assert_allclose(block(x).numpy(), x, atol=1e-6)
  for conv in (block.theta, block.phi, block.g, block.attn_g):
    assert not conv.use_bias
    conv.kernel.assign(conv.kernel * 50.0)  # Make the attention non-trivial.
  assert [block.theta.kernel.shape[-1], block.g.kernel.shape[-1]] == [2, 8]
  block.sigma.assign(0.7)
  np.testing.assert_allclose(block(x).numpy(), _reference(x, block, 0.7),
                             rtol=1e-4, atol=1e-5)


def test_too_few_channels_raises():
  with pytest.raises(ValueError, match="8 channels"):
    attention.NonLocalBlock(4)
