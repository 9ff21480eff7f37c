"""TFDS datasets on `tfds.testing.mock_data` (offline, code-based metadata)."""
import numpy as np
import pytest
import tensorflow_datasets as tfds

from compare_ssgan.data import datasets
from compare_ssgan.data import tfds_source

# Mock from the builders' code: no metadata files, no network.
_CODE = tfds.testing.MockPolicy.USE_CODE

# name -> (image_shape, num_classes, paper eval N).
_EXPECTED = {
    "cifar10": ((32, 32, 3), 10, 10000),
    "celeb_a": ((64, 64, 3), 0, 10000),
    "celeb_a_hq_128": ((128, 128, 3), 0, 3000),
    "lsun-bedroom": ((128, 128, 3), 0, 10000),
    "imagenet_64": ((64, 64, 3), 1000, 10000),
    "imagenet_128": ((128, 128, 3), 1000, 10000),
    "mnist": ((28, 28, 1), 10, 10000),
    "fashion-mnist": ((28, 28, 1), 10, 10000),
}


def test_every_tfds_dataset_is_checked():
  assert {spec.name for spec in tfds_source.SPECS} == set(_EXPECTED)


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_mock_batches(name, tmp_path):
  shape, num_classes, eval_n = _EXPECTED[name]
  with tfds.testing.mock_data(num_examples=6, policy=_CODE):
    ds = datasets.get_dataset(name, data_dir=str(tmp_path))
    assert (ds.name, ds.image_shape, ds.num_classes, ds.eval_num_examples) == (
        name, shape, num_classes, eval_n)
    train = list(ds.train_input_fn(None, 4, seed=1).take(2))
    evaluation = list(ds.eval_dataset(batch_size=4))
  assert [len(b[1]) for b in evaluation] == [4, 2]  # Finite: 6 mock examples.
  for images, labels in train + evaluation:
    assert images.shape[1:] == shape and images.dtype == np.float32
    assert 0.0 <= images.numpy().min() and images.numpy().max() <= 1.0
    assert labels.dtype == np.int32
    if num_classes:
      assert 0 <= labels.numpy().min() and labels.numpy().max() < num_classes
    else:
      np.testing.assert_array_equal(labels, 0)
  if num_classes:  # Mock labels are random: some must be non-zero.
    assert np.concatenate([b[1] for b in evaluation]).max() > 0


def test_imagenet_crops_resume_deterministically(tmp_path):
  with tfds.testing.mock_data(num_examples=5, policy=_CODE):
    ds = datasets.get_dataset("imagenet_64", data_dir=str(tmp_path))
    full = [b[0].numpy() for b in ds.train_input_fn(None, 3, seed=4).take(5)]
    resumed = [b[0].numpy() for b in
               ds.train_input_fn(None, 3, seed=4, start_batch=2).take(3)]
    eval_a = next(iter(ds.eval_dataset(batch_size=5)))[0].numpy()
    eval_b = next(iter(ds.eval_dataset(batch_size=5)))[0].numpy()
  for a, b in zip(full[2:], resumed):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(eval_a, eval_b)  # "middle" crop: no RNG.


def test_aliases_and_eval_count_override(tmp_path):
  with tfds.testing.mock_data(num_examples=2, policy=_CODE):
    ds = datasets.get_dataset("lsun_bedroom", data_dir=str(tmp_path),
                              eval_num_examples=30000)
  assert ds.name == "lsun-bedroom" and ds.eval_num_examples == 30000
  assert ds.eval_split == "lsun/bedroom:train[99%:]"


def test_missing_tfds_data_says_how_to_prepare(tmp_path):
  ds = datasets.get_dataset("cifar10", data_dir=str(tmp_path))
  with pytest.raises(FileNotFoundError, match="tfds build cifar10") as e:
    ds.train_input_fn(None, 4, seed=0)
  assert "'cifar10'" in str(e.value) and str(tmp_path) in str(e.value)


def test_missing_manual_dataset_says_manual_download(tmp_path):
  ds = datasets.get_dataset("celeb_a_hq_128", data_dir=str(tmp_path))
  with pytest.raises(FileNotFoundError, match="manually") as e:
    ds.eval_dataset()
  message = str(e.value)
  assert "celeb_a_hq/128" in message and str(tmp_path) in message
  assert "downloads/manual" in message and "data1024x1024.tar" in message
