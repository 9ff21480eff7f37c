"""The "clean" resize protocol against clean-fid's own code (clean-fid 0.1.35).

clean-fid's `clean` mode builds `make_resizer("PIL", False, "bicubic", (299, 299))`: each
channel as a float32 PIL "F" image, bicubic, clipped to [0, 255], not quantised; files are
read by its `ResizeDataset` (grayscale converted to RGB first). Its network then sees
(x - 128) / 128. The resizer is compared here directly. clean-fid's network file
(NVIDIA's `inception-2015-12-05.pt`) is a download, which this offline test cannot make,
and clean-fid records no checksum of it; the slow tests run clean-fid's pipeline with the
network of fid-helper's `default_1.pt` instead (NVIDIA's port with its resize wrapper
removed), the file this project's weights are converted from.
"""

import io

import numpy as np
from PIL import Image
import pytest
import torch

from cleanfid import inception_torchscript
from cleanfid import resize as cleanfid_resize
from compare_ssgan.metrics import compare
from compare_ssgan.metrics import extractor as extractor_lib
from compare_ssgan.metrics import inception_weights
from compare_ssgan.metrics import preprocess
from compare_ssgan.metrics import scores
from compare_ssgan.metrics import torchscript_weights
from tests.metrics import clean_fid_modules


cleanfid_fid = clean_fid_modules.load("cleanfid.fid")
cleanfid_utils = clean_fid_modules.load("cleanfid.utils")

# Max |ours - clean-fid| in [0, 255] units: float32 rounding of values up to 255 is ~1.5e-5.
_RESIZE_TOL = 1e-4
# Features of one image: per-image relative L2 (the Keras port vs the TorchScript, ~2e-6).
_FEATURE_TOL = 1e-5


def _fixture_images():
  """uint8 images of several sizes (grayscale, square, non-square, shrunk), and continuous
  floats; [0, 1] as the project takes them."""
  rng = np.random.RandomState(0)
  images = {shape: rng.randint(0, 256, shape).astype(np.float32) / 255
            for shape in ((28, 28, 1), (32, 32, 3), (64, 48, 3), (320, 310, 3))}
  images["float"] = rng.rand(30, 20, 3).astype(np.float32)
  return images


def _clean_fid(image):
  """clean-fid's clean resize of one HWC image in [0, 1] (grayscale as RGB, as it reads it)."""
  rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
  return cleanfid_resize.build_resizer("clean")(rgb * np.float32(255))


def _max_diff(ours, reference):
  return float(np.abs(np.asarray(ours, np.float64) - reference).max())


@pytest.mark.parametrize("name", list(_fixture_images()))
def test_clean_resize_matches_clean_fids_resizer(name):
  image = _fixture_images()[name]
  ours = preprocess.resize_clean(image[None])[0]
  assert ours.shape == (299, 299, 3) and ours.dtype == np.float32
  assert _max_diff(ours, _clean_fid(image)) <= _RESIZE_TOL


def test_clean_resize_matches_clean_fids_file_reader(tmp_path):
  """clean-fid's ResizeDataset on PNG files: its RGB conversion of grayscale, its resize and
  the float tensor it hands its network."""
  for name, image in _fixture_images().items():
    if name == "float":
      continue
    path = str(tmp_path / f"{'x'.join(map(str, name))}.png")
    pixels = np.round(image * 255).astype(np.uint8)
    Image.fromarray(pixels[..., 0] if name[-1] == 1 else pixels).save(path)  # "L" or "RGB".
    tensor = cleanfid_utils.ResizeDataset([path], mode="clean")[0]
    reference = tensor.numpy().transpose(1, 2, 0)
    assert _max_diff(preprocess.resize_clean(image[None])[0], reference) <= _RESIZE_TOL


def _uint8_input(image):
  rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
  return np.round(rgb * 255).astype(np.uint8)


_WRONG_RESIZES = {
    "PIL bilinear": lambda image: cleanfid_resize.make_resizer(
        "PIL", False, "bilinear", (299, 299))(_uint8_input(image)),
    "PIL 8-bit bicubic (clean-fid's quantize_after)":
        lambda image: cleanfid_resize.make_resizer(
            "PIL", True, "bicubic", (299, 299))(_uint8_input(image)),
    "rounded to 8 bits after the resize": lambda image: np.round(_clean_fid(image)),
    "torch bicubic (no antialias)": lambda image: cleanfid_resize.make_resizer(
        "PyTorch", False, "bicubic", (299, 299))(_uint8_input(image).astype(np.float32)),
    "compare_gan's TF1 bilinear": lambda image: preprocess.resize_bilinear_tf1(
        _uint8_input(image)[None].astype(np.float32)).numpy()[0],
}


@pytest.mark.parametrize("wrong", list(_WRONG_RESIZES))
def test_control_a_wrong_resize_fails_the_check(wrong):
  """The tolerance above catches each mistake on every uint8 fixture image."""
  for name, image in _fixture_images().items():
    if name == "float":
      continue
    diff = _max_diff(preprocess.resize_clean(image[None])[0], _WRONG_RESIZES[wrong](image))
    assert diff > 100 * _RESIZE_TOL, (wrong, name, diff)


def test_clean_resize_clips_bicubic_overshoot_and_options_act_before_it():
  image = np.zeros((1, 8, 8, 1), np.float32)
  image[0, ::2, ::2] = 1.0  # A checkerboard: bicubic overshoots both ends.
  out = preprocess.resize_clean(image)
  assert out.min() == 0 and out.max() == 255
  over = np.full((1, 4, 4, 3), 1.5, np.float32)
  assert preprocess.resize_clean(over).min() == 255  # Clipped after the resize.
  half = np.full((1, 4, 4, 3), 0.5 / 255, np.float32)
  assert preprocess.resize_clean(half, quantize=True).max() == 0  # Rounded half to even.
  with pytest.raises(ValueError, match="Expected 1 or 3 channels, got 2"):
    preprocess.resize_clean(np.zeros((1, 4, 4, 2), np.float32))


def test_bad_resize_knob_is_refused_before_the_weights_are_loaded(monkeypatch):
  def load(*args):
    raise AssertionError(f"weights loaded ({args}) before the knob was checked")
  monkeypatch.setattr(inception_weights, "load_inception_weights", load)
  with pytest.raises(ValueError, match=r"inception.InceptionExtractor.resize must be one of "
                     r"\('compare_gan', 'clean'\); got 'bicubic'"):
    extractor_lib.InceptionExtractor(resize="bicubic")


def test_feature_id_names_the_resize():
  weights = "a" * 64
  assert extractor_lib.feature_id(weights, "compare_gan") == weights  # Caches stay valid.
  clean = extractor_lib.feature_id(weights, "clean")
  assert len(clean) == 64 and clean[:16] != weights[:16]


# The network: slow (the real weights, fetched into the cache on first use).


@pytest.fixture(scope="module")
def extractors():
  return {resize: extractor_lib.InceptionExtractor(batch_size=4, resize=resize)
          for resize in preprocess.RESIZES}


def _two_sets(tmp_path):
  """(real path, fake path, real uint8, fake uint8): 5 + 4 non-square colour images."""
  rng = np.random.RandomState(3)
  real = rng.randint(0, 256, (5, 40, 36, 3)).astype(np.uint8)
  fake = np.clip(real[:4] * 0.7 + rng.randint(0, 60, real[:4].shape), 0, 255).astype(np.uint8)
  np.savez(tmp_path / "real.npz", images=real)
  np.savez(tmp_path / "fake.npz", images=fake)
  return str(tmp_path / "real.npz"), str(tmp_path / "fake.npz"), real, fake


def _network_on_clean_fid_resized(extractor, images):
  resized = np.stack([_clean_fid(image.astype(np.float32) / 255) for image in images])
  net_input = preprocess.to_inception_range(resized)
  return extractor.model(net_input, training=False)["pool_3"].numpy()


@pytest.mark.slow
def test_clean_fid_equals_our_formula_on_clean_fid_resized_features(tmp_path, extractors):
  real_path, fake_path, real, fake = _two_sets(tmp_path)
  clean = extractors["clean"]
  want = scores.frechet_distance_from_activations(
      _network_on_clean_fid_resized(clean, real), _network_on_clean_fid_resized(clean, fake))
  got = compare.compare(real_path, fake_path, clean, metrics=["fid"])
  assert got["resize"] == "clean"
  assert got["fid"] == pytest.approx(want, rel=1e-5)
  # Control: compare_gan's resize of the same sets is another number.
  other = compare.compare(real_path, fake_path, extractors["compare_gan"], metrics=["fid"])
  assert abs(other["fid"] - want) > 1e-2 * want


def _clean_fid_network(extractor):
  """clean-fid's InceptionV3W in clean mode, its own forward, around the TorchScript layers
  that this project's weights were converted from."""
  source = extractor.provenance["source_path"]
  net = torch.jit.load(io.BytesIO(torchscript_weights.pt_bytes_from_file(source)),
                       map_location="cpu").eval()
  model = inception_torchscript.InceptionV3W.__new__(inception_torchscript.InceptionV3W)
  torch.nn.Module.__init__(model)
  model.layers, model.resize_inside = net.net.layers, False
  return model.eval()


def _clean_fid_features(extractor, images, folder):
  """clean-fid's features of uint8 `images`, saved as PNG files in `folder`: its file
  reader, clean resize and network call (`get_files_features`)."""
  folder.mkdir()
  for i, image in enumerate(images):
    Image.fromarray(image).save(folder / f"{i}.png")
  with torch.no_grad():
    return cleanfid_fid.get_files_features(
        sorted(str(p) for p in folder.iterdir()), model=_clean_fid_network(extractor),
        num_workers=0, batch_size=len(images), device=torch.device("cpu"), mode="clean",
        verbose=False)


def _relative_l2(features, reference):
  return np.linalg.norm(features - reference, axis=1) / np.linalg.norm(reference, axis=1)


@pytest.mark.slow
# 5 and 4 samples of 2048-d features: singular covariances, which scipy's sqrtm warns about.
@pytest.mark.filterwarnings("ignore:Matrix is singular")
def test_clean_fids_pipeline_gives_our_clean_features_and_fid(tmp_path, extractors):
  real_path, fake_path, real, fake = _two_sets(tmp_path)
  clean = extractors["clean"]
  theirs = [_clean_fid_features(clean, images, tmp_path / role)
            for role, images in (("real_png", real), ("fake_png", fake))]
  ours = [clean(images.astype(np.float32) / 255)["pool_3"] for images in (real, fake)]
  for mine, reference in zip(ours, theirs):
    assert _relative_l2(mine, reference).max() <= _FEATURE_TOL
  # Control: compare_gan's resize moves the features far beyond the tolerance.
  legacy = extractors["compare_gan"](real.astype(np.float32) / 255)["pool_3"]
  assert _relative_l2(legacy, theirs[0]).min() > 100 * _FEATURE_TOL
  # The FID: ours (TF-GAN's SVD trace-sqrt) vs clean-fid's (scipy sqrtm), on its features
  # and on ours.
  ours_fid = compare.compare(real_path, fake_path, clean, metrics=["fid"])["fid"]
  assert ours_fid == pytest.approx(cleanfid_fid.fid_from_feats(*theirs), rel=1e-5)
  assert scores.frechet_distance_from_activations(*ours) == pytest.approx(
      cleanfid_fid.fid_from_feats(*ours), rel=1e-5)
