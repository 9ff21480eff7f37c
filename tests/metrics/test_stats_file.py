"""Statistics files (.npz, TTUR / pytorch-fid / clean-fid layout) and the two-set command's
use of them."""

import os
import types

from absl import app
import gin
import numpy as np
import pytest

from compare_ssgan.metrics import compare
from compare_ssgan.metrics import scores
from compare_ssgan.metrics import statistics
from compare_ssgan.metrics import stats_file
from tests.metrics import clean_fid_modules

WIDTH = 2048


def _features(seed, n):
  """float32 [n, 2048] features, as a network gives them."""
  rng = np.random.RandomState(seed)
  return np.maximum(rng.randn(n, WIDTH) + rng.randn(1, WIDTH), 0).astype(np.float32)


def _statistics(seed=0, n=40):
  mu, sigma = scores.moments(_features(seed, n))
  return statistics.FeatureStatistics(num_samples=n, mu=mu, sigma=sigma)


def _fid(real, fake):
  return scores.frechet_distance(real.mu, real.sigma, fake.mu, fake.sigma)


@pytest.mark.slow  # Fréchet distances of 2048-d moments.
def test_round_trip_is_bit_exact_and_scores_the_same(tmp_path):
  stats, fake = _statistics(0), _statistics(1)
  path = str(tmp_path / "real.npz")
  stats_file.write(path, stats, "clean", source="some/folder")
  read = stats_file.read(path)
  assert (read.resize, read.source, read.statistics.num_samples) == ("clean", "some/folder", 40)
  for name in ("mu", "sigma"):
    got = getattr(read.statistics, name)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, getattr(stats, name))
  assert _fid(read.statistics, fake) == _fid(stats, fake)
  with pytest.raises(ValueError, match="holds statistics of the 'clean' resize, not of the "
                     "'compare_gan' resize asked for"):
    stats_file.read(path, "compare_gan")


def test_plain_readers_see_mu_and_sigma_and_no_pickles(tmp_path):
  """As clean-fid's `get_reference_statistics` and pytorch-fid read a file: np.load
  (allow_pickle=False) and index `mu`, `sigma`; the extra keys are 0-d arrays."""
  stats = _statistics(0)
  path = str(tmp_path / "real.npz")
  stats_file.write(path, stats, "compare_gan", source="x")
  with np.load(path) as f:
    np.testing.assert_array_equal(f["mu"][:], stats.mu)
    np.testing.assert_array_equal(f["sigma"][:], stats.sigma)
    assert {f[k].shape for k in ("resize", "num_samples", "source")} == {()}


@pytest.fixture
def clean_fid_stats_folder(tmp_path, monkeypatch):
  """clean-fid's statistics folder (`<package>/stats`, where its writer and reader look),
  moved into tmp_path: clean-fid finds it from `cleanfid.__file__`."""
  import cleanfid  # pylint: disable=g-import-not-at-top  (test-only dependency)
  monkeypatch.setattr(cleanfid, "__file__", str(tmp_path / "cleanfid" / "__init__.py"))
  return tmp_path / "cleanfid" / "stats"


@pytest.mark.slow  # Fréchet distances of 2048-d moments.
def test_clean_fids_own_writer_gives_a_file_read_here(clean_fid_stats_folder, monkeypatch):
  """clean-fid 0.1.35's `make_custom_stats` itself writes the file: its network is a
  download, so its feature extraction (`get_folder_features`) returns fixed float32
  features instead; its moments and its `np.savez_compressed` are its own code."""
  cleanfid_fid = clean_fid_modules.load("cleanfid.fid")
  features = _features(0, 40)
  monkeypatch.setattr(cleanfid_fid, "build_feature_extractor", lambda *args: None)
  monkeypatch.setattr(cleanfid_fid, "get_folder_features", lambda *args, **kwargs: features)
  cleanfid_fid.make_custom_stats("fixture", "unused", mode="clean", device="cpu",
                                 verbose=False)
  path = str(clean_fid_stats_folder / "fixture_clean_custom_na.npz")
  with pytest.raises(ValueError, match="does not record the resize.*--resize"):
    stats_file.read(path)
  read = stats_file.read(path, "clean")
  assert read.resize == "clean" and read.statistics.num_samples is None
  assert read.source is None
  ours = _statistics(0)
  np.testing.assert_allclose(read.statistics.mu, ours.mu, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(read.statistics.sigma, ours.sigma, rtol=1e-6, atol=1e-7)
  fake = _statistics(1)
  assert _fid(read.statistics, fake) == pytest.approx(_fid(ours, fake), rel=1e-6)


@pytest.mark.slow  # Fréchet distances of 2048-d moments.
def test_a_file_written_here_is_read_by_clean_fids_own_reader(clean_fid_stats_folder):
  """clean-fid's `get_reference_statistics` (what its compute_fid reads a dataset's
  statistics with) reads this project's file bit for bit, and its own Fréchet distance on
  them equals this project's."""
  cleanfid_features = clean_fid_modules.load("cleanfid.features")
  cleanfid_fid = clean_fid_modules.load("cleanfid.fid")
  real, fake = _statistics(0), _statistics(1)
  clean_fid_stats_folder.mkdir(parents=True)
  stats_file.write(str(clean_fid_stats_folder / "fixture_clean_custom_na.npz"), real, "clean")
  mu, sigma = cleanfid_features.get_reference_statistics("fixture", "na", mode="clean",
                                                         split="custom")
  np.testing.assert_array_equal(mu, real.mu)
  np.testing.assert_array_equal(sigma, real.sigma)
  theirs = cleanfid_fid.frechet_distance(fake.mu, fake.sigma, mu, sigma)
  assert theirs == pytest.approx(_fid(real, fake), rel=1e-6)


def _write(tmp_path, name="bad.npz", **arrays):
  path = str(tmp_path / name)
  np.savez(path, **arrays)
  return path


_EYE = np.eye(WIDTH)
_MU = np.zeros(WIDTH)


def _asymmetric():
  sigma = _EYE.copy()
  sigma[0, 1] = 1e-3
  return sigma


def _with(array, index, value):
  array = array.copy()
  array[index] = value
  return array


@pytest.mark.parametrize("arrays, match", [
    (dict(mu=_MU), r"lacks \['sigma'\]"),
    (dict(sigma=_EYE), r"lacks \['mu'\]"),
    (dict(images=np.zeros((2, 4, 4, 3))), r"lacks \['mu', 'sigma'\].*holds \['images'\]"),
    (dict(mu=np.zeros(64), sigma=np.eye(64)), r"mu has shape \(64,\); expected \(2048,\)"),
    (dict(mu=_MU, sigma=np.zeros((WIDTH, WIDTH - 1))), r"sigma has shape \(2048, 2047\); "
     r"expected a square"),
    (dict(mu=_MU, sigma=np.eye(64)), r"sigma has shape \(64, 64\), which does not match "
     r"mu's width 2048"),
    (dict(mu=_MU, sigma=_asymmetric()), r"sigma is not symmetric \(max \|sigma - sigma\^T\| "
     r"= 0.001"),
    (dict(mu=_with(_MU, 3, np.nan), sigma=_EYE), r"mu holds 1 NaN or Inf values"),
    (dict(mu=_MU, sigma=_with(_EYE, (5, 5), np.inf)), r"sigma holds 1 NaN or Inf values"),
    (dict(mu=_MU.astype(np.int64), sigma=_EYE), r"mu has dtype int64; expected floats"),
    (dict(mu=_MU, sigma=_EYE, resize=np.array("bilinear")), r"records resize 'bilinear'; "
     r"expected one of \('compare_gan', 'clean'\)"),
    (dict(mu=_MU, sigma=_EYE, resize=np.array(["clean"])), r"resize is a <U5 array of "
     r"shape \(1,\); expected a 0-d string"),
    (dict(mu=_MU, sigma=_EYE, resize=np.array("clean"), num_samples=np.array(1)),
     r"num_samples is .*1.*; expected a 0-d integer >= 2"),
])
def test_bad_files_are_refused_naming_the_file_and_the_problem(tmp_path, arrays, match):
  path = _write(tmp_path, **arrays)
  with pytest.raises(ValueError, match=match) as e:
    stats_file.read(path, "compare_gan")
  assert str(e.value).startswith(path)


def test_symmetry_tolerance_is_relative(tmp_path):
  sigma = _EYE * 1e6
  sigma[0, 1] = 1e-3  # 1e-9 of the largest entry: rounding, not asymmetry.
  read = stats_file.read(_write(tmp_path, mu=_MU, sigma=sigma), "clean")
  assert read.statistics.sigma[0, 1] == 1e-3


def test_files_that_are_not_npz_are_refused(tmp_path):
  npy = str(tmp_path / "moments.npy")
  np.save(npy, _MU)
  text = tmp_path / "notes.npz"
  text.write_text("mu, sigma")
  for path in (npy, str(text)):
    with pytest.raises(ValueError, match=rf"{path} is not an .npz file"):
      stats_file.read(path, "clean")
  damaged = _write(tmp_path, mu=_MU, sigma=_EYE)
  with open(damaged, "r+b") as f:
    f.seek(200)
    f.write(b"\xff" * 64)  # Inside mu's zeros: the zip member's CRC no longer matches.
  with pytest.raises(ValueError, match=rf"{damaged} is a damaged .npz file"):
    stats_file.read(damaged, "clean")
  header = _write(tmp_path, name="header.npz", mu=_MU, sigma=_EYE)
  with open(header, "r+b") as f:
    f.seek(100)
    f.write(b"\0" * 300)  # mu's array header: numpy's header parser fails on it.
  assert stats_file.is_statistics_file(header)
  with pytest.raises(ValueError, match=rf"{header} is a damaged .npz file"):
    stats_file.read(header, "clean")


def test_a_bad_stated_resize_is_refused(tmp_path):
  with pytest.raises(ValueError, match=r"resize must be one of \('compare_gan', 'clean'\); "
                     "got 'bicubic'"):
    stats_file.read(_write(tmp_path, mu=_MU, sigma=_EYE), "bicubic")


# The two-set command.


class WideExtractor:
  """2048 features per image: a fixed random projection of the pixels, then tanh."""
  batch_size = 8
  has_logits = False

  def __init__(self, resize="compare_gan"):
    self.resize = resize

  def __call__(self, images, **kwargs):
    del kwargs
    x = images.reshape(len(images), -1).astype(np.float64)
    projection = np.random.RandomState(0).randn(x.shape[1], WIDTH) / np.sqrt(x.shape[1])
    return {"pool_3": np.tanh(x @ projection)}


def _sets(tmp_path):
  rng = np.random.RandomState(5)
  real = rng.randint(0, 256, (12, 4, 4, 3), np.uint8)
  fake = np.clip(real[:10] * 0.8 + 30, 0, 255).astype(np.uint8)
  np.savez(tmp_path / "real.npz", images=real)
  np.savez(tmp_path / "fake.npz", images=fake)
  return str(tmp_path / "real.npz"), str(tmp_path / "fake.npz")


@pytest.mark.slow  # Fréchet distances of 2048-d moments.
def test_saved_real_statistics_score_as_the_real_images_do(tmp_path):
  real, fake = _sets(tmp_path)
  saved = str(tmp_path / "stats" / "real_stats.npz")
  assert compare.compare(real, None, WideExtractor(), save_real_stats=saved) == {
      "num_real": 12, "resize": "compare_gan"}
  read = stats_file.read(saved)
  assert (read.resize, read.source, read.statistics.num_samples) == (
      "compare_gan", os.path.abspath(real), 12)
  from_images = compare.compare(real, fake, WideExtractor(), metrics=["fid"])
  from_file = compare.compare(saved, fake, WideExtractor())  # Default: what a file gives.
  assert from_file == from_images  # num_real, num_fake, fid and resize.
  assert set(from_file) == {"num_real", "num_fake", "fid", "resize"}


def test_a_file_cannot_give_metrics_of_the_real_features(tmp_path):
  real, fake = _sets(tmp_path)
  path = str(tmp_path / "s.npz")
  stats_file.write(path, _statistics(0), "compare_gan")
  with pytest.raises(ValueError, match=r"statistics file \(mu and sigma only\), but "
                     r"\['kid', 'prdc'\] need the real set's features"):
    compare.compare(path, fake, WideExtractor(), metrics=["fid", "kid", "prdc"])
  with pytest.raises(ValueError, match="is a statistics file already; --save_real_stats "
                     "needs the real images"):
    compare.compare(path, fake, WideExtractor(), save_real_stats=str(tmp_path / "t.npz"))
  with pytest.raises(ValueError, match="holds statistics of the 'compare_gan' resize, but "
                     "the extractor's resize is 'clean'"):
    compare.compare(path, fake, WideExtractor("clean"))
  with pytest.raises(ValueError, match="--fake is needed, unless --save_real_stats"):
    compare.compare(real, None, WideExtractor())


def _options(real, fake, **overrides):
  values = dict(real=real, fake=fake, key=None, float_range=1, metrics=None,
                num_samples=None, inception_weights=None, batch_size=64, jit_compile=False,
                gin_bindings=[], resize=None, save_real_stats=None)
  values.update(overrides)
  return types.SimpleNamespace(**values)


def _run(options):
  """compare.run_command, which parses (and locks) the gin config, as the command does once."""
  gin.clear_config()
  return compare.run_command(options)


@pytest.fixture
def built(monkeypatch):
  """The keyword arguments the command builds its extractor with (a WideExtractor)."""
  calls = []

  def build(**kwargs):
    calls.append(kwargs)
    return WideExtractor(kwargs["resize"])
  monkeypatch.setattr(compare.extractor_lib, "InceptionExtractor", build)
  return calls


@pytest.mark.slow  # Fréchet distances of 2048-d moments.
def test_command_takes_the_resize_of_a_published_file_from_the_flag(tmp_path, built):
  _, fake = _sets(tmp_path)
  features = _features(0, 20)
  published = str(tmp_path / "published.npz")
  np.savez_compressed(published, mu=np.mean(features, axis=0),
                      sigma=np.cov(features, rowvar=False))
  with pytest.raises(app.UsageError, match="does not record the resize.*--resize"):
    _run(_options(published, fake))
  assert not built  # Refused before the extractor was built.
  result = _run(_options(published, fake, resize="clean"))
  assert built[-1]["resize"] == "clean" and result["resize"] == "clean"
  assert result["num_real"] is None and np.isfinite(result["fid"])
  line = compare.to_json(result)
  assert '"num_real": null' in line and '"resize": "clean"' in line


def test_command_uses_the_resize_a_file_records(tmp_path, built):
  _, fake = _sets(tmp_path)
  path = str(tmp_path / "s.npz")
  stats_file.write(path, _statistics(0), "clean")
  with pytest.raises(app.UsageError, match="holds statistics of the 'clean' resize, not of "
                     "the 'compare_gan' resize asked for"):
    _run(_options(path, fake, resize="compare_gan"))
  with pytest.raises(app.UsageError, match=r"\['kid'\] need the real set's features"):
    _run(_options(path, fake, metrics=["kid"]))
  assert not built
  assert _run(_options(path, fake, metrics=["fid"]))["resize"] == "clean"
  assert built[-1]["resize"] == "clean"


def test_command_exports_the_real_statistics_alone(tmp_path, built):
  real, _ = _sets(tmp_path)
  saved = str(tmp_path / "real_stats.npz")
  result = _run(_options(real, None, save_real_stats=saved, resize="clean"))
  assert result == {"num_real": 12, "resize": "clean"}
  assert stats_file.read(saved).resize == "clean"
  with pytest.raises(app.UsageError, match=r"--resize must be one of \('compare_gan', "
                     r"'clean'\); got 'area'"):
    _run(_options(real, None, save_real_stats=str(tmp_path / "new.npz"), resize="area"))
  before = open(saved, "rb").read()
  calls = len(built)
  with pytest.raises(app.UsageError, match=f"--save_real_stats={saved} exists already; it "
                     "is not overwritten"):
    _run(_options(real, None, save_real_stats=saved))
  assert open(saved, "rb").read() == before and len(built) == calls  # Refused up front.
