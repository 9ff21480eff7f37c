"""Fetching the 2015-12-05 GraphDef: digest, truncation, unsafe members, offline, cache.

The archive is served from a file:// URL: a small synthetic .tgz holding a file named
classify_image_graph_def.pb, with the pinned digest overridden to that archive's.
"""

import hashlib
import io
import os
import tarfile
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.metrics import inception_net
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import weights_download

PB = weights_download.PB_NAME
_PB_BYTES = b"a tiny stand-in for the Inception GraphDef\n" * 100


def _tgz(path, members):
  """Writes a .tgz of `members`: (name, bytes) files or (name, "symlink", target)."""
  with tarfile.open(path, "w:gz") as tar:
    for member in members:
      info = tarfile.TarInfo(member[0])
      if len(member) == 3:
        info.type, info.linkname = tarfile.SYMTYPE, member[2]
        tar.addfile(info)
      else:
        info.size = len(member[1])
        tar.addfile(info, io.BytesIO(member[1]))
  return path


def _official_like(path):
  return _tgz(path, [(PB, _PB_BYTES), ("LICENSE", b"Apache 2.0\n"),
                     ("cropped_panda.jpg", b"\xff\xd8 not really a jpeg")])


def _sha256(path):
  return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _files_under(path):
  return sorted(os.path.relpath(os.path.join(parent, name), path)
                for parent, _, names in os.walk(path) for name in names)


@pytest.fixture
def serve(tmp_path, monkeypatch):
  """Serves an archive at a file:// URL with the pinned digest set to `digest` (default:
  the served file's own)."""
  monkeypatch.delenv(weights_download.SHA256_ENV, raising=False)

  def serve_file(path, digest=None):
    monkeypatch.setenv(weights_download.URL_ENV, "file://" + str(path))
    monkeypatch.setattr(weights_download, "ARCHIVE_SHA256", digest or _sha256(path))
  return serve_file


@pytest.fixture
def cache(tmp_path):
  return str(tmp_path / "cache" / "inception" / "downloads")


def test_a_verified_archive_gives_only_its_pb_and_is_not_fetched_again(
    tmp_path, serve, cache, monkeypatch):
  archive = _official_like(tmp_path / "served.tgz")
  serve(archive)
  path = weights_download.graphdef_path(cache)
  assert path == os.path.join(cache, PB)
  assert open(path, "rb").read() == _PB_BYTES
  assert _files_under(cache) == [PB]  # No archive, no temporary file, no other member.
  monkeypatch.setenv(weights_download.URL_ENV, "file://" + str(tmp_path / "gone.tgz"))
  assert weights_download.graphdef_path(cache) == path


def _corrupt(data):
  flipped = bytearray(data)
  flipped[len(data) // 2] ^= 0x01
  return bytes(flipped)


@pytest.mark.parametrize("damage", [_corrupt, lambda data: data[:len(data) // 2]],
                         ids=["one_byte_changed", "truncated"])
def test_a_damaged_download_is_refused_naming_the_digest_and_leaves_nothing(
    tmp_path, serve, cache, damage):
  good = _official_like(tmp_path / "good.tgz")
  bad = tmp_path / "served.tgz"
  bad.write_bytes(damage(good.read_bytes()))
  serve(bad, digest=_sha256(good))
  with pytest.raises(weights_download.DownloadError) as error:
    weights_download.graphdef_path(cache)
  message = str(error.value)
  assert _sha256(good) in message and str(bad) in message
  assert "expected" in message
  assert _files_under(os.path.dirname(os.path.dirname(cache))) == []


class _ShortResponse(io.BytesIO):
  """A response that announces more bytes than it sends (a connection closed early)."""
  headers = {"Content-Length": "1000000"}


def test_a_download_shorter_than_announced_is_refused(tmp_path, serve, cache, monkeypatch):
  archive = _official_like(tmp_path / "served.tgz")
  serve(archive)
  monkeypatch.setattr(urllib.request, "urlopen",
                      lambda url, timeout: _ShortResponse(archive.read_bytes()))
  with pytest.raises(weights_download.DownloadError,
                     match=rf"truncated: \d+ of 1000000 bytes.*{_sha256(archive)}"):
    weights_download.graphdef_path(cache)
  assert _files_under(os.path.dirname(cache)) == []


@pytest.mark.parametrize("members,message", [
    ([(f"../{PB}", _PB_BYTES)], "leaves the archive"),
    ([(f"/tmp/{PB}", _PB_BYTES)], "leaves the archive"),
    ([(f"inception/../../{PB}", _PB_BYTES)], "leaves the archive"),
    ([(PB, "symlink", "/etc/passwd")], "not a regular file"),
    ([(f"nested/{PB}", _PB_BYTES)], "not at the archive's top level"),
    ([("LICENSE", b"no graph here")], f"0 members named {PB}"),
    ([(PB, _PB_BYTES), (f"./{PB}", _PB_BYTES)], f"2 members named {PB}"),
])
def test_unsafe_or_odd_members_are_refused_and_nothing_is_written(
    tmp_path, serve, cache, members, message):
  archive = _tgz(tmp_path / "served.tgz", members)
  serve(archive)  # The digest matches: only the member checks stand in the way.
  with pytest.raises(weights_download.DownloadError, match=message):
    weights_download.graphdef_path(cache)
  # ".." from the cache directory is its parent, which holds nothing either.
  assert _files_under(os.path.dirname(cache)) == []


def test_a_pb_member_written_as_dot_slash_is_accepted(tmp_path, serve, cache):
  serve(_tgz(tmp_path / "served.tgz", [(f"./{PB}", _PB_BYTES)]))
  assert open(weights_download.graphdef_path(cache), "rb").read() == _PB_BYTES


def test_offline_says_what_to_download_and_where_to_put_it(tmp_path, serve, cache):
  archive = _official_like(tmp_path / "served.tgz")
  serve(archive)
  archive.unlink()  # The URL answers nothing.
  with pytest.raises(weights_download.DownloadError) as error:
    weights_download.graphdef_path(cache)
  message = str(error.value)
  assert "Offline?" in message and weights_download.ARCHIVE_URL in message
  assert os.path.join(cache, PB) in message
  assert os.path.join(cache, weights_download.ARCHIVE_NAME) in message
  assert _files_under(os.path.dirname(cache)) == []


def test_without_a_pinned_digest_nothing_is_downloaded(tmp_path, cache, monkeypatch):
  assert weights_download.ARCHIVE_SHA256 is None  # No published digest was found.
  monkeypatch.delenv(weights_download.SHA256_ENV, raising=False)

  def no_network(*args, **kwargs):
    raise AssertionError(f"Tried to download {args}")
  monkeypatch.setattr(urllib.request, "urlopen", no_network)
  with pytest.raises(weights_download.DownloadError,
                     match=rf"No SHA-256 .* pinned.*{weights_download.SHA256_ENV}"):
    weights_download.graphdef_path(cache)
  assert not os.path.exists(cache)


def test_the_digest_can_come_from_the_environment(tmp_path, cache, monkeypatch):
  archive = _official_like(tmp_path / "served.tgz")
  monkeypatch.setenv(weights_download.URL_ENV, "file://" + str(archive))
  monkeypatch.setenv(weights_download.SHA256_ENV, _sha256(archive).upper())
  assert open(weights_download.graphdef_path(cache), "rb").read() == _PB_BYTES
  monkeypatch.setenv(weights_download.SHA256_ENV, "abc123")
  with pytest.raises(ValueError, match="64 hex digits"):
    weights_download.archive_sha256()


def test_hand_placed_files_are_used_without_network(tmp_path, cache, monkeypatch):
  monkeypatch.setenv(weights_download.URL_ENV, "file://" + str(tmp_path / "none.tgz"))
  os.makedirs(cache)
  archive = _official_like(os.path.join(cache, weights_download.ARCHIVE_NAME))
  monkeypatch.setattr(weights_download, "ARCHIVE_SHA256", "0" * 64)
  with pytest.raises(weights_download.DownloadError, match="0{64}"):
    weights_download.graphdef_path(cache)  # A pinned digest checks a placed archive too.
  monkeypatch.setattr(weights_download, "ARCHIVE_SHA256", _sha256(archive))
  path = weights_download.graphdef_path(cache)
  assert open(path, "rb").read() == _PB_BYTES
  os.remove(archive)
  open(path, "wb").write(b"placed by hand")
  assert open(weights_download.graphdef_path(cache), "rb").read() == b"placed by hand"


def _tiny_graph_with_logits(bias):
  """A GraphDef with one conv unit and the 2015 graph's logits nodes."""
  graph_def = tf.compat.v1.GraphDef()
  rng = np.random.RandomState(0)

  def const(name, value):
    node = graph_def.node.add(name=name, op="Const")
    node.attr["value"].CopyFrom(tf.compat.v1.AttrValue(
        tensor=tf.make_tensor_proto(np.asarray(value, np.float32))))
    return name
  kernel = const("conv/conv2d_params", rng.randn(3, 3, 3, 2))
  bn = graph_def.node.add(name="conv/batchnorm", op="BatchNormWithGlobalNormalization")
  bn.input.extend([kernel] + [const(f"conv/batchnorm/{n}", v) for n, v in (
      ("moving_mean", np.zeros(2)), ("moving_variance", np.ones(2)),
      ("beta", np.zeros(2)), ("gamma", np.ones(2)))])
  bn.attr["variance_epsilon"].CopyFrom(tf.compat.v1.AttrValue(f=1e-3))
  matmul = graph_def.node.add(name="softmax/logits/MatMul", op="MatMul")
  matmul.input.extend(["pool_3/_reshape", const(
      "softmax/weights", rng.randn(inception_net.POOL_DIM, inception_net.NUM_LOGITS))])
  add = graph_def.node.add(name="softmax/logits", op="BiasAdd")
  add.input.extend(["softmax/logits/MatMul", const("softmax/biases", bias)])
  return graph_def.SerializeToString()


def test_the_named_source_loads_the_fetched_graph_with_unbiased_logits(
    tmp_path, serve, monkeypatch):
  monkeypatch.setenv(inception_weights.CACHE_ENV, str(tmp_path / "cache"))
  bias = np.linspace(-1, 1, inception_net.NUM_LOGITS)
  pb = _tiny_graph_with_logits(bias)
  serve(_tgz(tmp_path / "served.tgz", [(PB, pb)]))
  weights, meta = inception_weights.load_inception_weights(
      inception_weights.GRAPHDEF_2015_12_05)
  assert meta["source_name"] == inception_weights.GRAPHDEF_2015_12_05
  assert meta["logits_bias"] is False
  assert meta["source_sha256"] == hashlib.sha256(pb).hexdigest()
  np.testing.assert_array_equal(weights["logits/bias"], 0)
  assert weights["logits/kernel"].shape == (inception_net.POOL_DIM,
                                            inception_net.NUM_LOGITS)
  # The same .pb given as a path keeps the graph's biases (a separate conversion).
  path = str(tmp_path / "cache" / "inception" / "downloads" / PB)
  with_bias, meta = inception_weights.load_inception_weights(path)
  np.testing.assert_allclose(with_bias["logits/bias"], bias.astype(np.float32))
  np.testing.assert_array_equal(with_bias["logits/kernel"], weights["logits/kernel"])
  assert "logits_bias" not in meta


def test_an_unknown_source_names_the_named_one(tmp_path, monkeypatch):
  monkeypatch.setenv(inception_weights.CACHE_ENV, str(tmp_path / "cache"))
  with pytest.raises(FileNotFoundError, match=inception_weights.GRAPHDEF_2015_12_05):
    inception_weights.load_inception_weights("graphdef_2015")
