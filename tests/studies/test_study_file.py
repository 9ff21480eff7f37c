"""Reading study files: syntax errors name the file and the position."""
import re

import pytest

from compare_ssgan.studies import study_file

_START = 'study.name = "x"\nstudy.seeds = [0, 1]\n'


@pytest.mark.parametrize("rest, where", [
    # Cut mid-list: the list opened on line 3 is never closed.
    ('study.cells = [\n    {"name": "a", "configs": ["gin_configs/demo/ssgan.gin"]},\n'
     '    {"name": "b", "configs": [\n', r"line 3, column 15: '\[' is not closed"),
    ('study.cells = [{"name": """a\n', r"line 3, column 25: the string is not closed"),
])
def test_cut_study_file_names_the_file_and_the_position(tmp_path, rest, where):
  path = tmp_path / "cut.gin"
  path.write_text(_START + rest)
  with pytest.raises(study_file.StudyError,
                     match=re.escape(f"{path}: ") + where + ".*end of the file"):
    study_file.load(str(path))


def test_syntax_error_names_the_file_and_the_line(tmp_path):
  path = tmp_path / "bad.gin"
  path.write_text(_START + "study.cells = [] []\n")
  with pytest.raises(study_file.StudyError, match=re.escape(f"{path}: ") + ".*line 3"):
    study_file.load(str(path))
