"""Shapes, ranges, gradients, checkpoints and validation (reduced widths)."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan.architectures import dcgan
from compare_ssgan.architectures import ops
from compare_ssgan.architectures import registry
from compare_ssgan.architectures import resnet_biggan
from compare_ssgan.architectures import resnet_cifar
from compare_ssgan.architectures import sngan_cifar
from tests import tiny_configs

# BigGAN's default self-attention needs C/8 >= 1.
_SMALL = tiny_configs.tiny_networks(resnet_biggan=8)
_CASES = [("resnet_cifar", (32, 32, 3)), ("resnet_cifar", (32, 32, 1)),
          ("sndcgan", (32, 32, 3)), ("sndcgan", (64, 64, 3)),
          ("resnet_stl", (48, 48, 3)), ("resnet_biggan", (32, 32, 3)),
          ("resnet_biggan", (64, 64, 3)), ("resnet_biggan", (128, 128, 3)),
          ("dcgan", (32, 32, 1)), ("dcgan", (28, 28, 1)),
          ("sngan_cifar", (32, 32, 3))]
_Z_DIM = 120  # Divisible by the 4, 5 and 6 chunks of BigGAN's hierarchical z.
_N = 2


def _models(arch, shape, num_classes, extra=""):
  norm = ("conditional_batch_norm" if num_classes else
          "self_modulated_batch_norm")
  gin.parse_config(_SMALL + f"""
G.batch_norm = "{norm}"
G.spectral_norm = True
D.spectral_norm = True
{arch}.Discriminator.project_y = True
""" + extra)
  return (registry.make_generator(arch, shape, _Z_DIM, num_classes),
          registry.make_discriminator(arch, shape, num_classes))


def _inputs(num_classes):
  z = tf.random.uniform([_N, _Z_DIM], -1.0, 1.0)
  y = tf.constant([1, 3], tf.int32) if num_classes else None
  return z, y


@pytest.mark.parametrize("num_classes", [0, 10])
@pytest.mark.parametrize("arch,shape", _CASES)
def test_output_shapes_and_ranges(arch, shape, num_classes):
  g, d = _models(arch, shape, num_classes)
  assert d.spectral_norm and d.project_y == (num_classes > 0)
  z, y = _inputs(num_classes)
  for training in (True, False):
    x = g(z, y, training=training)
    assert x.shape == (_N,) + shape and x.dtype == tf.float32
    assert 0.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    logits, h = d(x, y, training=training)
    assert logits.shape == (_N, 1) and logits.dtype == tf.float32
    assert h.shape == (_N, d.feature_dim) and h.dtype == tf.float32
    assert np.isfinite(logits.numpy()).all() and np.isfinite(h.numpy()).all()


@pytest.mark.parametrize("arch,shape", [c for c in _CASES if c[1][0] <= 48])
def test_gradients_reach_every_weight(arch, shape):
  g, d = _models(arch, shape, 10, extra="D.batch_norm = 'batch_norm'")
  z, y = _inputs(10)
  with tf.GradientTape() as tape:
    logits, h = d(g(z, y, training=True), y, training=True)
    loss = tf.reduce_mean(logits) + tf.reduce_mean(h)
  variables = g.trainable_weights + d.trainable_weights
  grads = tape.gradient(loss, variables)
  missing = [v.path for v, gr in zip(variables, grads) if gr is None]
  assert not missing


@pytest.mark.parametrize("arch,shape", [c for c in _CASES if c[1][0] <= 48])
def test_checkpoint_round_trip_covers_every_variable(arch, shape, tmp_path):
  extra = "D.batch_norm = 'batch_norm'"
  g, d = _models(arch, shape, 10, extra)
  path = tf.train.Checkpoint(g=g, d=d).save(str(tmp_path / "ckpt"))
  saved = [n for n, _ in tf.train.list_variables(path)
           if n.startswith(("g/", "d/"))]
  assert len(saved) == len(g.weights) + len(d.weights)
  g2, d2 = _models(arch, shape, 10, extra)
  tf.train.Checkpoint(g=g2, d=d2).restore(path).assert_consumed()
  for a, b in zip(g.weights + d.weights, g2.weights + d2.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
  paths = [v.path for v in g.weights]
  assert len(set(paths)) == len(paths) and paths[0].startswith("generator/")


def test_mixed_precision_computes_low_but_returns_float32():
  keras.mixed_precision.set_global_policy("mixed_bfloat16")
  try:
    g, d = _models("resnet_cifar", (32, 32, 3), 10)
    z, y = _inputs(10)
    x = g(z, y, training=True)
    logits, h = d(x, y, training=True)
    assert (x.dtype, logits.dtype, h.dtype) == (tf.float32,) * 3
    assert g.fc_noise.compute_dtype == "bfloat16"
    assert {v.dtype for v in g.weights + d.weights} == {"float32"}
  finally:
    keras.mixed_precision.set_global_policy("float32")


def test_bad_configurations_raise():
  with pytest.raises(ValueError, match="num_classes=0"):
    resnet_cifar.Generator((32, 32, 3), batch_norm="conditional_batch_norm")
  with pytest.raises(ValueError, match="layer_norm"):
    resnet_cifar.Generator((32, 32, 3), batch_norm="layer_norm")
  with pytest.raises(ValueError, match="32x32"):
    resnet_cifar.Generator((64, 64, 3))
  with pytest.raises(ValueError, match="96"):
    resnet_biggan.Discriminator((96, 96, 3))
  with pytest.raises(ValueError, match="divisible by 6"):
    resnet_biggan.Generator((128, 128, 3), z_dim=128)
  with pytest.raises(ValueError, match="resnet_cifar"):
    registry.make_generator("resnet18", (32, 32, 3))
  g = resnet_cifar.Generator((32, 32, 3), num_classes=10, ch=8)
  with pytest.raises(ValueError, match="needs int32 class ids"):
    g(tf.zeros([2, 128]))
  d = resnet_cifar.Discriminator((32, 32, 3), ch=8)
  with pytest.raises(ValueError, match="32, 32, 3"):
    d(tf.zeros([2, 32, 32, 1]))


def test_registry_names_and_built_networks():
  assert sorted(registry.ARCHITECTURES) == [
      "dcgan", "resnet_biggan", "resnet_cifar", "resnet_stl", "sndcgan",
      "sngan_cifar"]
  g = registry.make_generator("dcgan", (32, 32, 1), z_dim=64)
  assert isinstance(g, dcgan.Generator) and g.built and g.weights
  # The architecture is GAN.architecture; the registry has no knob the GAN overrides.
  with pytest.raises(ValueError, match="make_generator"):
    gin.parse_config('make_generator.architecture = "dcgan"')


# Per architecture at _SMALL widths: an input shape and each block's feature size.
_BLOCK_SIZES = {
    "dcgan": ((32, 32, 1), [4, 8, 64]),  # conv1, conv2, fc (h).
    "sndcgan": ((32, 32, 3), [4, 8, 8, 16, 16, 32, 4 * 4 * 32]),  # h: flat map.
    "resnet_cifar": ((32, 32, 3), [8] * 4),
    "resnet_stl": ((48, 48, 3), [4, 8, 16, 32, 64]),
    "resnet_biggan": ((32, 32, 3), [16] * 4),
    "sngan_cifar": ((32, 32, 3), [8] * 4),
}


@pytest.mark.parametrize("arch", sorted(registry.ARCHITECTURES))
def test_block_features_end_with_the_features_d_returns(arch):
  gin.parse_config(_SMALL + "D.batch_norm = 'batch_norm'")
  shape, sizes = _BLOCK_SIZES[arch]
  d = registry.make_discriminator(arch, shape, num_classes=10)
  x = tf.random.uniform((_N,) + shape)
  features = d.block_features(x)
  assert list(features) == [f"block{k + 1}" for k in range(len(sizes))]
  assert [f.shape for f in features.values()] == [(_N, c) for c in sizes]
  assert all(f.dtype == tf.float32 for f in features.values())
  # Inference mode: batch norm uses its moving statistics, as D(x) does.
  np.testing.assert_allclose(features[f"block{len(sizes)}"],
                             d(x, tf.constant([1, 2]), training=False)[1],
                             rtol=1e-5, atol=1e-6)


def test_block_features_on_a_grid_average_each_cell_of_the_map():
  d = registry.make_discriminator("dcgan", (28, 28, 1))
  x = tf.random.uniform((_N, 28, 28, 1))
  maps = d._block_maps(x, training=False)  # pylint: disable=protected-access
  grid = d.block_features(x, grid=4)
  plain = d.block_features(x)
  for k, feature_map in enumerate(maps[:-1] if not d.pool_is_a_block else maps):
    m = feature_map.numpy()
    height, channels = m.shape[1], m.shape[3]
    edges = [(i * height // 4, -(-(i + 1) * height // 4)) for i in range(4)]
    expected = np.concatenate([m[:, r0:r1, c0:c1, :].mean(axis=(1, 2))
                               for r0, r1 in edges for c0, c1 in edges], axis=1)
    name = f"block{k + 1}"
    assert grid[name].shape == (_N, 16 * channels)
    np.testing.assert_allclose(grid[name], expected, rtol=1e-5, atol=1e-6)
    # The 16 cells' mean is not the global average when cells overlap (7 = 2 + 2 + 2 + 1
    # would not), so compare against the plain pooling only where the map divides evenly.
    if height % 4 == 0:
      np.testing.assert_allclose(expected.reshape(_N, 16, channels).mean(axis=1),
                                 plain[name], rtol=1e-5, atol=1e-6)
  last = f"block{len(grid)}"
  np.testing.assert_array_equal(grid[last], plain[last])  # h is D's own features.
  with pytest.raises(ValueError, match="grid=64 is larger than"):
    d.block_features(x, grid=64)


def test_unconditional_models_ignore_labels():
  g = registry.make_generator("dcgan", (32, 32, 1))  # No SN: deterministic.
  d = registry.make_discriminator("dcgan", (32, 32, 1))
  z = tf.random.uniform([_N, 128])
  x = g(z, training=False)
  np.testing.assert_array_equal(g(z, tf.constant([1, 2]), training=False), x)
  np.testing.assert_array_equal(d(x, tf.constant([1, 2]))[0], d(x)[0])


def test_biggan_structure():
  gin.parse_config(_SMALL)
  g = resnet_biggan.Generator((128, 128, 3), z_dim=120, num_classes=1000,
                              batch_norm="conditional_batch_norm")
  g.build_variables()
  assert g.embed_y.kernel.shape == (1000, 128)
  for block in g.blocks:
    assert block.shortcut.kernel.shape[:2] == (1, 1)
    for bn in (block.bn1, block.bn2):
      assert bn.gamma.kernel.shape[0] == 20 + 128 and not bn.gamma.use_bias
  assert list(g.attention) == ["B4"]
  assert not any(v.name == "bias" for v in g.attention["B4"].weights)
  d = resnet_biggan.Discriminator((128, 128, 3), num_classes=1000)
  assert [b.shortcut is None for b in d.blocks] == [False] * 5 + [True]
  assert list(d.attention) == ["B1"]
  d32 = resnet_biggan.Discriminator((32, 32, 3))
  assert [b.shortcut is None for b in d32.blocks] == [False] + [True] * 3
  assert not d32.project_y  # Projection needs labels.


def _shortcut_kernels(network):
  network.build_variables()
  return [None if b.shortcut is None else b.shortcut.kernel.shape[0]
          for b in network.blocks]


def test_resnet_block_shortcut_knob():
  g = resnet_cifar.Generator((32, 32, 3), ch=8)
  d = resnet_cifar.Discriminator((32, 32, 3), ch=8)
  assert _shortcut_kernels(g) == [3] * 3 and _shortcut_kernels(d) == [3] * 4
  assert g.blocks[0].shortcut.kernel.path == (
      "generator/B1/up_conv_shortcut/kernel")  # Checkpoint names unchanged.
  gin.parse_config('ResNetBlock.shortcut = "identity_or_conv1x1"')
  g = resnet_cifar.Generator((32, 32, 3), ch=8)
  d = resnet_cifar.Discriminator((32, 32, 3), ch=8)
  assert _shortcut_kernels(g) == [1] * 3
  assert _shortcut_kernels(d) == [1, 1, None, None]
  # An identity shortcut adds the block's input unchanged.
  block = d.blocks[3]
  x = tf.random.normal([2, 8, 8, 8])
  h = block.conv2(tf.nn.relu(block.conv1(tf.nn.relu(x))))
  np.testing.assert_allclose(block(x), h + x, atol=1e-5)
  gin.parse_config('ResNetBlock.shortcut = "conv5x5"')
  with pytest.raises(ValueError, match="ResNetBlock.shortcut.*'conv5x5'"):
    resnet_cifar.Discriminator((32, 32, 3), ch=8)


def test_sngan_cifar_structure():
  # SN-GAN's shortcuts whatever ResNetBlock.shortcut says.
  gin.parse_config('ResNetBlock.shortcut = "conv3x3"')
  g = sngan_cifar.Generator((32, 32, 3), ch=8)
  d = sngan_cifar.Discriminator((32, 32, 3), ch=8)
  assert _shortcut_kernels(g) == [1] * 3
  assert _shortcut_kernels(d) == [1, 1, None, None]
  assert d.sum_pool
  # The optimized block: no ReLU on the image (mapped to [-1, 1]); the
  # shortcut pools before its 1x1 conv.
  b1 = d.blocks[0]
  x = tf.random.uniform([2, 32, 32, 3])
  s = 2.0 * x - 1.0
  want = (ops.downsample(b1.conv2(tf.nn.relu(b1.conv1(s)))) +
          b1.shortcut(ops.downsample(s)))
  np.testing.assert_allclose(b1(x), want, atol=1e-5)
  images = g(tf.random.normal([2, 128]), training=True).numpy()
  # (tanh + 1) / 2: the whole range is reachable, unlike a sigmoid's.
  assert images.shape == (2, 32, 32, 3) and 0 <= images.min() <= images.max() <= 1


def test_biggan_initializers():
  gin.parse_config(_SMALL + 'weights.initializer = "orthogonal"')
  g = registry.make_generator("resnet_biggan", (32, 32, 3), 120, 10)
  d = registry.make_discriminator("resnet_biggan", (32, 32, 3), 10)
  for v in g.trainable_weights + d.trainable_weights:
    value = v.numpy()
    if v.name == "kernel" and "embedding_fc" not in v.path:
      m = value.reshape(-1, value.shape[-1])
      m = m if m.shape[0] >= m.shape[1] else m.T
      np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-4,
                                 err_msg=v.path)
    elif v.name in ("bias", "beta", "sigma"):
      np.testing.assert_array_equal(value, 0.0, err_msg=v.path)
  emb = d.embedding_fc.kernel.numpy()  # Glorot normal, ignoring the gin init.
  fan_std = np.sqrt(2.0 / sum(emb.shape))
  assert 0.5 * fan_std < emb.std() < 1.5 * fan_std
