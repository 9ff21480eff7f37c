"""Parsing the runs' gin files: a bad file or binding is named with its position."""
import re

from absl import app
import pytest

from compare_ssgan import gin_files


def _parse(configs=(), bindings=()):
  with pytest.raises(app.UsageError) as e:
    gin_files.parse_gin(list(configs), list(bindings))
  return str(e.value)


def test_config_file_cut_mid_statement_names_the_file_and_the_position(tmp_path):
  path = tmp_path / "cut.gin"
  path.write_text("Trainer.training_steps = 10\nTrainer.batch_size = (1,\n")
  message = _parse([str(path)])
  assert re.search(re.escape(f"{path}: line 2, column 22: '(' is not closed") +
                   ".*end of the file", message), message


def test_included_file_cut_short_is_the_one_named(tmp_path):
  cut = tmp_path / "base.gin"
  cut.write_text('dataset.name = "npz"\nTrainer.seed = [\n')
  top = tmp_path / "top.gin"
  top.write_text(f'include "{cut}"\nTrainer.training_steps = 10\n')
  message = _parse([str(top)])
  assert f"{cut}: line 2, column 16: '[' is not closed" in message, message


def test_binding_cut_short_names_the_flag():
  message = _parse(bindings=["Trainer.seed = 1", "Trainer.batch_size = {'a': (1,"])
  assert "--gin_bindings: line 2, column 22: '{' is not closed" in message, message


def test_syntax_error_names_the_whole_path_and_the_line(tmp_path):
  path = tmp_path / "sub" / "bad.gin"
  path.parent.mkdir()
  path.write_text("Trainer.training_steps = 10\nTrainer.batch_size = 1 2\n")
  message = _parse([str(path)])
  assert f"{path}: line 2: Expected newline" in message, message
