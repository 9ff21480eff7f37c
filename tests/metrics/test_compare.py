"""The two-set comparison command."""

import json
import os
import subprocess
import sys

import gin
import numpy as np
from PIL import Image
import pytest

from compare_ssgan.metrics import compare
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
    count, batches = compare.image_set(str(path), batch_size=3)
    got = np.concatenate(list(batches))
    assert count == len(expected)
    np.testing.assert_array_equal(got, expected.astype(np.float32) / 255)


def test_bad_image_sets(tmp_path):
  with pytest.raises(FileNotFoundError):
    compare.image_set(str(tmp_path / "nothing"))
  os.makedirs(tmp_path / "empty")
  with pytest.raises(ValueError, match="no"):
    compare.image_set(str(tmp_path / "empty"))
  _write_pngs(str(tmp_path / "mixed"), [np.zeros((4, 4, 3), np.uint8)])
  Image.fromarray(np.zeros((5, 4, 3), np.uint8)).save(tmp_path / "mixed" /
                                                       "z.png")
  with pytest.raises(ValueError, match="differ in size"):
    list(compare.image_set(str(tmp_path / "mixed"))[1])
  np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
  with pytest.raises(ValueError, match="exactly one array"):
    compare.image_set(str(tmp_path / "two.npz"))


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
    compare.image_set(path)
  assert path in str(e.value)


def test_float_range_255_equals_uint8(tmp_path):
  real, fake = _uint8_pair(tmp_path)
  as_uint8 = _set_of(tmp_path, "u8.npz", images=real)
  as_float = _set_of(tmp_path, "f255.npz", images=real.astype(np.float32))
  assert _fid(as_float, fake, float_range=255) == _fid(as_uint8, fake)
  with pytest.raises(ValueError, match="--float_range .* got 100"):
    compare.image_set(as_float, float_range=100)


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
    compare.image_set(path)
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
    compare.image_set(named + "#z")


def test_gray_against_rgb_is_replicated_and_said_once(tmp_path, capsys):
  gray, fake = _uint8_pair(tmp_path, shape=(12, 4, 4))
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
  count, batches = compare.image_set(folder)
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
    compare.image_set(str(folder))
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
       "--metrics", "kid", "--batch_size", "6", "--gin_bindings", "kid.block_size = 3"],
      cwd=root, capture_output=True, text=True, check=True,
      env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3"))
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 1
  result = json.loads(lines[0])
  assert set(result) == {"num_real", "num_fake", "kid", "kid_stderr"}
  assert np.isfinite(result["kid"])
