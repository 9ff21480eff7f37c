"""TF_CONFIG is checked, naming it and the position, before TF reads it."""
import pytest

from compare_ssgan.training import strategy as strategy_lib


@pytest.mark.parametrize("name", ["mirrored", "multi_worker"])
@pytest.mark.parametrize("value, match", [
    ('{"cluster": {"worker": ["a:1"]}, "task": ',
     r"TF_CONFIG is not valid JSON: Expecting value: line 1 column 42 \(char 41\)"),
    ("", r"TF_CONFIG is not valid JSON: Expecting value: line 1 column 1 \(char 0\)"),
    ('["a:1"]', r"TF_CONFIG must be a JSON object .*cluster.*task.*; got a list"),
])
def test_bad_tf_config_is_named_with_the_position(monkeypatch, name, value, match):
  monkeypatch.setenv("TF_CONFIG", value)
  with pytest.raises(ValueError, match=match) as e:
    strategy_lib.make_strategy(name)
  assert f"--strategy={name}" in str(e.value)


def test_default_strategy_does_not_read_tf_config(monkeypatch):
  monkeypatch.setenv("TF_CONFIG", "not json")
  assert strategy_lib.this_worker(strategy_lib.make_strategy()).is_chief
