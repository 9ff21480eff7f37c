"""The cosine-similarity term against numpy, and two training steps with it."""
import numpy as np

from compare_ssgan.gans.terms import base
from compare_ssgan.gans.terms import cosine_similarity
from tests.training import helpers


def _cos(a, b):
  return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


def test_losses_match_numpy():
  rng = np.random.default_rng(0)
  real, fake = rng.normal(size=[4, 3]).astype(np.float32), rng.normal(size=[4, 3]).astype(
      np.float32)
  outputs = {"real": base.DiscriminatorOutput(None, real),
             "fake": base.DiscriminatorOutput(None, fake)}
  term = cosine_similarity.CosineSimilarityTerm(weight_g=2.0, weight_d=3.0, margin=0.1)
  cosines = np.array([_cos(f, real.mean(0)) for f in fake])
  g_loss, _ = term.g_step_loss(None, outputs)
  d_loss, metrics = term.d_step_loss(None, outputs)
  np.testing.assert_allclose(g_loss.numpy(), 2.0 * np.mean(1 - cosines), rtol=1e-5)
  np.testing.assert_allclose(d_loss.numpy(), 3.0 * np.mean(np.maximum(0, cosines - 0.1)),
                             rtol=1e-5)
  np.testing.assert_allclose(metrics["cosine/fake_to_real"].numpy(), cosines.mean(),
                             rtol=1e-5)


def test_trains_with_the_term(tmp_path):
  trainer = helpers.make_trainer(
      tmp_path, "Trainer.training_steps = 2\n"
      "GAN.auxiliary_terms = [@cosine_similarity_loss()]")
  scalars = trainer.train()
  assert np.isfinite(scalars["cosine/g_loss"]) and 0.0 <= scalars["cosine/g_loss"] <= 2.0
