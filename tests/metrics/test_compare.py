"""The two-set comparison command."""

import json
import os
import subprocess
import sys
import types

from absl import app
import gin
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from compare_ssgan.metrics import compare
from compare_ssgan.metrics import image_sets
from compare_ssgan.metrics import scores


class PixelExtractor:
  batch_size = 5
  has_logits = False

  def __call__(self, images, **kwargs):
    del kwargs
    x = images.reshape(len(images), -1)[:, :6].astype(np.float64)
    return {"pool_3": np.concatenate([x, x ** 2], 1)}


def _write_pngs(folder, images):
  os.makedirs(folder)
  for i, image in enumerate(images):
    Image.fromarray(image.squeeze()).save(os.path.join(folder, f"{i:03d}.png"))


def test_image_sets_from_folders_and_npz(tmp_path):
  rng = np.random.RandomState(0)
  rgb = rng.randint(0, 256, (7, 5, 4, 3), np.uint8)
  gray = rng.randint(0, 256, (3, 5, 4, 1), np.uint8)
  _write_pngs(str(tmp_path / "rgb"), rgb)
  _write_pngs(str(tmp_path / "gray"), gray)
  np.savez(tmp_path / "set.npz", rgb)
  for path, expected in ((tmp_path / "rgb", rgb),
                         (tmp_path / "gray", np.repeat(gray, 3, -1)),
                         (tmp_path / "set.npz", rgb)):
    count, batches = image_sets.image_set(str(path), batch_size=3)
    got = np.concatenate(list(batches))
    assert count == len(expected)
    np.testing.assert_array_equal(got, expected.astype(np.float32) / 255)


def test_bad_image_sets(tmp_path):
  with pytest.raises(FileNotFoundError):
    image_sets.image_set(str(tmp_path / "nothing"))
  os.makedirs(tmp_path / "empty")
  with pytest.raises(ValueError, match="no"):
    image_sets.image_set(str(tmp_path / "empty"))
  _write_pngs(str(tmp_path / "mixed"), [np.zeros((4, 4, 3), np.uint8)])
  Image.fromarray(np.zeros((5, 4, 3), np.uint8)).save(tmp_path / "mixed" /
                                                       "z.png")
  with pytest.raises(ValueError, match="differ in size"):
    list(image_sets.image_set(str(tmp_path / "mixed"))[1])
  np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
  with pytest.raises(ValueError, match="exactly one array"):
    image_sets.image_set(str(tmp_path / "two.npz"))


def test_compare_matches_direct_computation(tmp_path):
  rng = np.random.RandomState(1)
  real = rng.randint(0, 256, (40, 4, 4, 3), np.uint8)
  fake = np.clip(real[:30] * 0.8 + 20, 0, 255).astype(np.uint8)
  np.savez(tmp_path / "real.npz", images=real)
  _write_pngs(str(tmp_path / "fake"), fake)
  gin.bind_parameter("kid.block_size", 16)
  result = compare.compare(str(tmp_path / "real.npz"), str(tmp_path / "fake"),
                           PixelExtractor())
  ext = PixelExtractor()
  f_real = ext(real.astype(np.float32) / 255)["pool_3"]
  f_fake = ext(fake.astype(np.float32) / 255)["pool_3"]
  assert result["num_real"] == 40 and result["num_fake"] == 30
  assert result["fid"] == pytest.approx(
      scores.frechet_distance_from_activations(f_real, f_fake), rel=1e-6)
  kid, stderr = scores.kernel_inception_distance(f_real, f_fake, 16)
  assert result["kid"] == pytest.approx(kid, rel=1e-6)
  assert result["kid_stderr"] == pytest.approx(stderr, rel=1e-6)
  assert "inception_score" not in result  # No logits: skipped, not an error.
  for metrics, bad in ((("fid", "precision"), "precision"), (("probe",), "probe")):
    with pytest.raises(ValueError, match=f"'{bad}'.* not metrics of two image sets"):
      compare.compare(str(tmp_path / "real.npz"), str(tmp_path / "fake"),
                      PixelExtractor(), metrics=metrics)


def _set_of(tmp_path, name, **arrays):
  """Saves `arrays` as tmp_path/name (.npz, or .npy of the one array)."""
  path = str(tmp_path / name)
  if name.endswith(".npy"):
    np.save(path, *arrays.values())
  else:
    np.savez(path, **arrays)
  return path


def _uint8_pair(tmp_path, shape=(12, 4, 4, 3)):
  rng = np.random.RandomState(3)
  real = rng.randint(0, 256, shape, np.uint8)
  real[0, 0, 0], real[1, 0, 0] = 0, 255  # The full range is present.
  fake = rng.randint(0, 256, (12, 4, 4, 3), np.uint8)
  return real, _set_of(tmp_path, "fake.npz", images=fake)


def _fid(real, fake, **kwargs):
  return compare.compare(real, fake, PixelExtractor(), metrics=("fid",),
                         **kwargs)["fid"]


def test_float_0_255_is_refused_naming_min_max_and_flag(tmp_path):
  real, _ = _uint8_pair(tmp_path)
  path = _set_of(tmp_path, "f255.npz", images=real.astype(np.float32))
  with pytest.raises(ValueError, match=r"\[0, 255\].*--float_range=255") as e:
    image_sets.image_set(path)
  assert path in str(e.value)


def test_float_range_255_equals_uint8(tmp_path):
  real, fake = _uint8_pair(tmp_path)
  as_uint8 = _set_of(tmp_path, "u8.npz", images=real)
  as_float = _set_of(tmp_path, "f255.npz", images=real.astype(np.float32))
  assert _fid(as_float, fake, float_range=255) == _fid(as_uint8, fake)
  with pytest.raises(ValueError, match="--float_range .* got 100"):
    image_sets.image_set(as_float, float_range=100)


@pytest.mark.parametrize("value, match", [
    (-1.0, r"\[-1, 1\], outside \[0, 1\]"),
    (np.nan, "contains NaN"),
    (np.inf, "contains Inf"),
])
def test_bad_float_values_are_refused(tmp_path, value, match):
  images = np.random.RandomState(4).rand(5, 4, 4, 3).astype(np.float32)
  images[2, 1, 1, 0] = value
  images[3, 0, 0, 0] = 1.0
  path = _set_of(tmp_path, "bad.npz", images=images)
  with pytest.raises(ValueError, match=match) as e:
    image_sets.image_set(path)
  assert path in str(e.value)


def test_dataset_npz_key_selection_and_npy_read_the_same_images(tmp_path):
  real, fake = _uint8_pair(tmp_path)
  expected = _fid(_set_of(tmp_path, "plain.npz", images=real), fake)
  labels = np.arange(len(real)) % 3
  dataset_format = _set_of(tmp_path, "dataset.npz", images=real, labels=labels)
  named = _set_of(tmp_path, "named.npz", x=real, y=real[::-1])
  assert _fid(dataset_format, fake) == expected
  assert _fid(named + "#x", fake) == expected
  fake_x = _set_of(tmp_path, "fake_x.npz", x=np.load(fake)["images"])
  assert _fid(named, fake_x, key="x") == expected  # --key names both sets'.
  assert _fid(_set_of(tmp_path, "set.npy", images=real), fake) == expected
  with pytest.raises(ValueError, match="no array 'z'.*'x', 'y'"):
    image_sets.image_set(named + "#z")


def test_compressed_npz_reads_like_a_plain_one(tmp_path):
  real, fake = _uint8_pair(tmp_path)
  np.savez_compressed(tmp_path / "compressed.npz", images=real.astype(np.float32) / 255)
  assert _fid(str(tmp_path / "compressed.npz"), fake) == pytest.approx(
      _fid(_set_of(tmp_path, "plain.npz", images=real), fake), rel=1e-6)


def test_gray_against_rgb_is_replicated_and_said_once(tmp_path, capsys):
  gray, fake = _uint8_pair(tmp_path, shape=(12, 4, 6))  # NHW: W is no channel count.
  rgb_copy = _set_of(tmp_path, "rgb.npz", images=np.repeat(gray[..., None], 3,
                                                           -1))
  expected = _fid(rgb_copy, fake)
  capsys.readouterr()
  gray_path = _set_of(tmp_path, "gray.npz", images=gray)
  assert _fid(gray_path, fake) == expected
  err = capsys.readouterr().err
  assert err.count(gray_path) == 1 and "grayscale" in err



def test_folder_mixing_gray_and_rgb_is_rgb_said_once(tmp_path, capsys):
  rng = np.random.RandomState(5)
  gray = rng.randint(0, 256, (1, 4, 4, 1), np.uint8)
  rgb = rng.randint(0, 256, (2, 4, 4, 3), np.uint8)
  folder = str(tmp_path / "mixed")
  _write_pngs(folder, list(gray) + list(rgb))  # The first file is gray.
  capsys.readouterr()
  count, batches = image_sets.image_set(folder)
  got = np.concatenate(list(batches))
  assert count == 3
  expected = np.concatenate([np.repeat(gray, 3, -1), rgb]) / np.float32(255)
  np.testing.assert_array_equal(got, expected)
  err = capsys.readouterr().err
  assert err.count(folder) == 1 and "1 grayscale and 2 colour" in err


def test_folder_with_undecodable_file_is_refused_up_front(tmp_path):
  folder = tmp_path / "broken"
  _write_pngs(str(folder), [np.zeros((4, 4, 3), np.uint8)] * 2)
  (folder / "001.png").write_bytes((folder / "000.png").read_bytes()[:40])
  with pytest.raises(ValueError, match="1 of 2 files cannot be decoded") as e:
    image_sets.image_set(str(folder))
  assert str(folder / "001.png") in str(e.value)


@pytest.mark.slow
def test_command_line_prints_one_json_line(tmp_path):
  rng = np.random.RandomState(2)
  np.savez(tmp_path / "a.npz", images=rng.randint(0, 256, (6, 8, 8, 3),
                                                  np.uint8))
  np.savez(tmp_path / "b.npz", images=rng.randint(0, 256, (6, 8, 8, 3),
                                                  np.uint8))
  root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
  proc = subprocess.run(
      [sys.executable, "-m", "compare_ssgan.metrics.compare", "--real",
       str(tmp_path / "a.npz"), "--fake", str(tmp_path / "b.npz"),
       "--metrics", "kid", "--batch_size", "6", "--gin_bindings", "kid.block_size = 6"],
      cwd=root, capture_output=True, text=True, check=True,
      env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3"))
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 1
  result = json.loads(lines[0])
  assert set(result) == {"num_real", "num_fake", "kid", "kid_stderr", "resize"}
  assert result["resize"] == "compare_gan"
  assert np.isfinite(result["kid"])
  # One block of 6: no standard error, printed as strict JSON's null and said why.
  assert result["kid_stderr"] is None and "null" in lines[0]
  assert "needs at least 2 blocks" in proc.stderr
  assert "kid_stderr is nan: printed as null" in proc.stderr


def _write_16bit_pngs(folder, images):
  """Real 16-bit grayscale PNGs, written by PIL from uint16 arrays (mode "I;16")."""
  os.makedirs(folder, exist_ok=True)
  for i, image in enumerate(images):
    png = Image.fromarray(image)
    assert png.mode == "I;16"
    png.save(os.path.join(folder, f"{i:03d}.png"))


def _sixteen_bit(count, seed=6):
  images = np.random.RandomState(seed).randint(0, 65536, (count, 4, 5)).astype(np.uint16)
  images[0, 0, :5] = [0, 255, 256, 32895, 65535]  # Edges of TF's rule.
  return images


def _tf_decode(path, channels):
  with open(path, "rb") as f:
    return tf.io.decode_image(f.read(), channels=channels).numpy()


def test_16_bit_png_folder_reads_as_tf_decodes_it(tmp_path):
  images = _sixteen_bit(3)
  folder = str(tmp_path / "sixteen")
  _write_16bit_pngs(folder, images)
  _, batches = image_sets.image_set(folder)
  got = np.concatenate(list(batches))
  expected = np.stack([_tf_decode(os.path.join(folder, name), 3)
                       for name in sorted(os.listdir(folder))])
  np.testing.assert_array_equal(got, expected / np.float32(255))
  # TF's rule (libpng's 16-to-8 strip): the high byte, not PIL's clipping at 255.
  np.testing.assert_array_equal(expected[..., 0], images >> 8)


def test_16_bit_png_among_colour_files_reads_as_tf_decodes_it(tmp_path):
  folder = str(tmp_path / "mixed16")
  _write_16bit_pngs(folder, _sixteen_bit(1))
  rgb = np.random.RandomState(7).randint(0, 256, (4, 5, 3), np.uint8)
  Image.fromarray(rgb).save(os.path.join(folder, "001.png"))
  _, batches = image_sets.image_set(folder)
  got = np.concatenate(list(batches))
  np.testing.assert_array_equal(
      got[0], _tf_decode(os.path.join(folder, "000.png"), 3) / np.float32(255))
  np.testing.assert_array_equal(got[1], rgb / np.float32(255))


def test_3d_array_of_one_rgb_image_is_refused_saying_how_to_write_it(tmp_path):
  one_image = np.random.RandomState(8).randint(0, 256, (32, 32, 3), np.uint8)
  path = _set_of(tmp_path, "one.npz", images=one_image)
  with pytest.raises(ValueError, match=r"\(32, 32, 3\) is ambiguous") as e:
    image_sets.image_set(path)
  assert path in str(e.value) and "images[None]" in str(e.value)
  count, _ = image_sets.image_set(_set_of(tmp_path, "fixed.npz", images=one_image[None]))
  assert count == 1


@pytest.mark.parametrize("last", [1, 4])
def test_3d_array_ending_in_a_channel_count_is_refused(tmp_path, last):
  path = _set_of(tmp_path, "a.npy", images=np.zeros((5, 6, last), np.uint8))
  with pytest.raises(ValueError, match="ambiguous"):
    image_sets.image_set(path)


class NoExtraction(PixelExtractor):
  """Fails the test if any features are extracted."""

  def __call__(self, images, **kwargs):
    raise AssertionError("features were extracted before the inputs were checked")


@pytest.mark.parametrize("num_samples", [0, -3, 1, 2.5, True])
def test_bad_num_samples_is_refused_by_name_before_any_work(tmp_path, num_samples):
  _, fake = _uint8_pair(tmp_path)
  with pytest.raises((ValueError, TypeError),
                     match=rf"--num_samples must be an integer >= 2; got {num_samples!r}"):
    compare.compare(fake, fake, NoExtraction(), num_samples=num_samples)


@pytest.mark.parametrize("role", ["real", "fake"])
def test_a_set_of_one_image_is_named_before_any_extraction(tmp_path, role):
  _, two = _uint8_pair(tmp_path)
  one = _set_of(tmp_path, "one.npz", images=np.zeros((1, 4, 4, 3), np.uint8))
  sets = {"real": two, "fake": two, role: one}
  with pytest.raises(ValueError, match=rf"--{role}={one} holds 1 image; .*at least 2"):
    compare.compare(sets["real"], sets["fake"], NoExtraction())


def test_bad_fake_set_is_refused_before_the_real_set_is_extracted(tmp_path):
  real, _ = _uint8_pair(tmp_path)
  bad = _set_of(tmp_path, "bad.npz", images=np.full((3, 4, 4, 3), 2.0, np.float32))
  with pytest.raises(ValueError, match=rf"--fake={bad}: float images span \[2, 2\]"):
    compare.compare(_set_of(tmp_path, "real.npz", images=real), bad, NoExtraction())


def _options(a_set, **overrides):
  """The command line's flags, as run_command reads them; both sets `a_set` by default."""
  values = dict(real=a_set, fake=a_set, key=None, float_range=1,
                metrics=None, num_samples=None, inception_weights=None, batch_size=64,
                jit_compile=False, gin_bindings=[], resize=None, save_real_stats=None)
  values.update(overrides)
  return types.SimpleNamespace(**values)


@pytest.fixture
def no_inception(monkeypatch):
  """Fails the test if the command loads the Inception weights."""
  def load(**kwargs):
    raise AssertionError(f"Inception was loaded ({kwargs}) before the flags were checked")
  monkeypatch.setattr(compare.extractor_lib, "InceptionExtractor", load)


@pytest.mark.parametrize("overrides, match", [
    (dict(gin_bindings=["kid.block_size = 0"]), r"kid.block_size must be an integer >= 2; got 0"),
    (dict(num_samples=0), r"--num_samples must be an integer >= 2; got 0"),
    (dict(metrics=["fid", "probe"]), r"--metrics: \['probe'\]"),
    (dict(float_range=100), r"--float_range must be one of \(1, 255\); got 100"),
    (dict(batch_size=0), r"--batch_size must be an integer >= 1; got 0"),
    (dict(resize="bicubic"), r"--resize must be one of \('compare_gan', 'clean'\); got "
     r"'bicubic'"),
    (dict(fake=None), r"--fake is needed, unless --save_real_stats is given"),
    (dict(save_real_stats="stats.txt"), r"--save_real_stats=stats.txt must name an .npz"),
    (dict(fake="missing.npz"), r"--fake=missing.npz: no such file"),
    (dict(real="folder_or_what"), r"--real=folder_or_what is neither a folder nor"),
    (dict(gin_bindings=["kid.blocksize = 3"]), r"Bad gin configuration.*blocksize"),
])
def test_command_refuses_bad_flags_before_loading_anything(tmp_path, no_inception,
                                                          overrides, match):
  _, fake = _uint8_pair(tmp_path)
  with pytest.raises(app.UsageError, match=match):
    compare.run_command(_options(fake, **overrides))


def test_command_checks_the_sets_before_loading_inception(tmp_path, no_inception):
  _, two = _uint8_pair(tmp_path)
  one = _set_of(tmp_path, "one.npz", images=np.zeros((1, 4, 4, 3), np.uint8))
  with pytest.raises(ValueError, match=rf"--fake={one} holds 1 image"):
    compare.run_command(_options(two, fake=one))


def test_command_scores_with_the_extractor_it_loads(tmp_path, monkeypatch):
  monkeypatch.setattr(compare.extractor_lib, "InceptionExtractor",
                      lambda **kwargs: PixelExtractor())
  _, fake = _uint8_pair(tmp_path)
  result = compare.run_command(_options(fake, metrics=["fid", "kid"],
                                        gin_bindings=["kid.block_size = 6"]))
  assert result["num_real"] == result["num_fake"] == 12
  assert result["fid"] == pytest.approx(0, abs=1e-6) and np.isfinite(result["kid_stderr"])


@pytest.mark.parametrize("resize, expected", [(None, "compare_gan"), ("clean", "clean")])
def test_command_builds_the_extractor_with_the_resize_and_names_it(tmp_path, monkeypatch,
                                                                  resize, expected):
  built = []

  def build(**kwargs):
    built.append(kwargs["resize"])
    extractor = PixelExtractor()
    extractor.resize = kwargs["resize"]
    return extractor
  monkeypatch.setattr(compare.extractor_lib, "InceptionExtractor", build)
  _, fake = _uint8_pair(tmp_path)
  result = compare.run_command(_options(fake, metrics=["fid"], resize=resize))
  assert built == [expected] and result["resize"] == expected


def test_non_finite_values_print_as_null_said_once(capsys):
  line = compare.to_json({"num_real": 3, "kid": 0.5, "kid_stderr": float("nan"),
                          "fid": float("inf")})
  assert json.loads(line) == {"num_real": 3, "kid": 0.5, "kid_stderr": None, "fid": None}
  assert "NaN" not in line and "Infinity" not in line
  err = capsys.readouterr().err
  assert err.count("kid_stderr") == 1 and err.count("fid") == 1 and "null" in err


def test_one_kid_block_gives_null_stderr_explained(tmp_path, caplog):
  real, fake = _uint8_pair(tmp_path)
  gin.bind_parameter("kid.block_size", 100)
  result = compare.compare(_set_of(tmp_path, "real.npz", images=real), fake,
                           PixelExtractor(), metrics=("kid",))
  assert np.isnan(result["kid_stderr"]) and np.isfinite(result["kid"])
  assert json.loads(compare.to_json(result))["kid_stderr"] is None
  assert "needs at least 2 blocks" in caplog.text  # Why, on stderr under the command.
