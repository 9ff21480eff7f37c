"""Study files: cells (gin configs + bindings, a short name) x seeds, in gin syntax.

  study.name = "fashion_mnist"
  study.seeds = [0, 1, 2]
  study.shared_configs = ["gin_configs/studies/fashion_mnist/budget.gin"]  # after each cell's
  study.cells = [
      {"name": "uncond", "configs": ["gin_configs/demo/uncond_gan.gin"], "bindings": [],
       "tables": {"ssgan_table1": ("Fashion-MNIST", "Uncond-GAN")}},
      {"name": "cond", "configs": ["gin_configs/demo/cond_gan.gin"], "seeds": [0, 1]},
  ]

The file is read with gin's parser alone (literals only), never into gin's global config,
so it cannot mix with a run's gin. A cell's "tables" place it in report tables as
(row, column); each table's rows and columns come in order of first appearance. A cell's
"seeds" (default: study.seeds) runs it at some of the study's seeds only, so that cells can
share the baseline's seeds at different counts.
"""
import dataclasses
import re
import tokenize
from typing import Dict, List, Tuple

from absl import app
from gin import config_parser

from compare_ssgan import gin_files

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # One directory name.
_REQUIRED_KEYS = ("name", "seeds", "cells")
_OPTIONAL_KEYS = {"shared_configs": []}
_CELL_REQUIRED_KEYS = ("name", "configs")
_CELL_OPTIONAL_KEYS = {"bindings": [], "tables": {}, "seeds": None}


class StudyError(ValueError):
  """A bad study file; the message names the file, the key and the bad value."""


@dataclasses.dataclass(frozen=True)
class Cell:
  name: str
  configs: List[str]
  bindings: List[str]
  tables: Dict[str, Tuple[str, str]]  # {table: (row, column)}
  seeds: List[int]  # Some or all of the study's seeds, in the study's order.


@dataclasses.dataclass(frozen=True)
class Study:
  path: str
  name: str
  seeds: List[int]
  shared_configs: List[str]
  cells: List[Cell]

  def cell(self, name):
    return next(cell for cell in self.cells if cell.name == name)


class _LiteralsOnly(config_parser.ParserDelegate):

  def __init__(self, path):
    self._path = path

  def configurable_reference(self, scoped_configurable_name, evaluate):
    raise StudyError(f"{self._path}: @{scoped_configurable_name} is not allowed in a study "
                     "file (literals only; references belong in the cells' gin configs).")

  def macro(self, macro_name):
    raise StudyError(f"{self._path}: %{macro_name} is not allowed in a study file "
                     "(literals only).")


def load(path):
  """The validated Study in `path`."""
  try:
    with open(path) as f:
      text = f.read()
  except OSError as e:
    raise StudyError(f"--study={path}: cannot read it ({e}).") from e
  values = {}
  try:
    for statement in config_parser.ConfigParser(text, _LiteralsOnly(path)):
      if not isinstance(statement, config_parser.BindingStatement):
        raise StudyError(f"{path}: only `study.<key> = value` lines are allowed; got "
                         f"{type(statement).__name__} at line {statement.location.line_num}.")
      where = f"{path}:{statement.location.line_num}"
      if statement.scope or statement.selector != "study":
        raise StudyError(f"{where}: expected `study.<key> = value`, got "
                         f"'{statement.selector}.{statement.arg_name}'.")
      key = statement.arg_name
      if key not in _REQUIRED_KEYS and key not in _OPTIONAL_KEYS:
        raise StudyError(f"{where}: unknown key study.{key}; expected "
                         f"{list(_REQUIRED_KEYS) + list(_OPTIONAL_KEYS)}.")
      if key in values:
        raise StudyError(f"{where}: study.{key} is set twice.")
      values[key] = statement.value
  except SyntaxError as e:
    raise StudyError("Not a valid study file: " +
                     gin_files.describe_syntax_error(e, path)) from e
  except tokenize.TokenError as e:  # Cut short: a bracket or string never closed.
    raise StudyError("Not a valid study file: " +
                     gin_files.describe_unclosed(text, path)) from e
  return _validated(path, values)


def _validated(path, values):
  missing = [key for key in _REQUIRED_KEYS if key not in values]
  if missing:
    raise StudyError(f"{path}: missing {', '.join('study.' + k for k in missing)}.")
  name = _name(path, "study.name", values["name"])
  seeds = values["seeds"]
  if (not isinstance(seeds, (list, tuple)) or not seeds or
      not all(type(s) is int and 0 <= s < 2**31 for s in seeds)):  # pylint: disable=unidiomatic-typecheck
    raise StudyError(f"{path}: study.seeds must be a non-empty list of integers in "
                     f"[0, 2**31); got {seeds!r}.")
  if len(set(seeds)) != len(seeds):
    raise StudyError(f"{path}: study.seeds has duplicates: {seeds!r}.")
  shared = _config_files(path, "study.shared_configs",
                         values.get("shared_configs", _OPTIONAL_KEYS["shared_configs"]))
  cells_value = values["cells"]
  if not isinstance(cells_value, (list, tuple)) or not cells_value:
    raise StudyError(f"{path}: study.cells must be a non-empty list of dicts; got "
                     f"{cells_value!r}.")
  cells = [_cell(path, index, value, seeds) for index, value in enumerate(cells_value)]
  names = [cell.name for cell in cells]
  duplicates = sorted({n for n in names if names.count(n) > 1})
  if duplicates:
    raise StudyError(f"{path}: study.cells has duplicate names {duplicates}.")
  study = Study(path, name, list(seeds), shared, cells)
  table_layouts(study)  # Two cells in one table position fail here.
  return study


def _name(path, key, value):
  if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
    raise StudyError(f"{path}: {key} must be a name made of letters, digits, '_', '.' "
                     f"and '-' (it names a directory); got {value!r}.")
  return value


def _strings(path, key, value):
  if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
    raise StudyError(f"{path}: {key} must be a list of strings; got {value!r}.")
  return list(value)


def _config_files(path, key, value):
  files = _strings(path, key, value)
  for config in files:
    try:
      gin_files.find_config_file(config)
    except app.UsageError as e:
      raise StudyError(f"{path}: {key}: {e}") from e
  return files


def _cell(path, index, value, study_seeds):
  where = f"study.cells[{index}]"
  if not isinstance(value, dict):
    raise StudyError(f"{path}: {where} must be a dict; got {value!r}.")
  unknown = sorted(set(value) - set(_CELL_REQUIRED_KEYS) - set(_CELL_OPTIONAL_KEYS))
  missing = [key for key in _CELL_REQUIRED_KEYS if key not in value]
  if unknown or missing:
    raise StudyError(f"{path}: {where} has unknown keys {unknown} / misses {missing}; "
                     f"expected {list(_CELL_REQUIRED_KEYS)} and optionally "
                     f"{list(_CELL_OPTIONAL_KEYS)}.")
  name = _name(path, f"{where}['name']", value["name"])
  where = f"study.cells[{index}] ({name!r})"
  configs = _config_files(path, f"{where}['configs']", value["configs"])
  if not configs:
    raise StudyError(f"{path}: {where}['configs'] is empty.")
  bindings = _strings(path, f"{where}['bindings']",
                      value.get("bindings", _CELL_OPTIONAL_KEYS["bindings"]))
  tables = value.get("tables", _CELL_OPTIONAL_KEYS["tables"])
  if not isinstance(tables, dict):
    raise StudyError(f"{path}: {where}['tables'] must be a dict {{table: (row, column)}}; "
                     f"got {tables!r}.")
  for table, position in tables.items():
    if (not isinstance(table, str) or not table or not isinstance(position, (list, tuple))
        or len(position) != 2 or not all(isinstance(p, str) and p for p in position)):
      raise StudyError(f"{path}: {where}['tables'] entry {table!r}: {position!r} must map a "
                       "table name to a (row, column) pair of non-empty strings.")
  seeds = value.get("seeds")
  if seeds is None:
    seeds = study_seeds
  elif (not isinstance(seeds, (list, tuple)) or not seeds or
        not all(type(s) is int for s in seeds) or  # pylint: disable=unidiomatic-typecheck
        len(set(seeds)) != len(seeds) or not set(seeds) <= set(study_seeds)):
    raise StudyError(f"{path}: {where}['seeds'] must be a non-empty list of distinct seeds "
                     f"from study.seeds {list(study_seeds)}; got {seeds!r}.")
  return Cell(name, configs, bindings, {t: tuple(p) for t, p in tables.items()},
              [s for s in study_seeds if s in seeds])


def table_layouts(study_or_tables):
  """{table: (rows, columns)} in order of first appearance.

  Args:
    study_or_tables: a Study, or [(cell name, {table: (row, column)})].
  """
  cell_tables = ([(c.name, c.tables) for c in study_or_tables.cells]
                 if isinstance(study_or_tables, Study) else study_or_tables)
  layouts, taken = {}, {}
  for cell, tables in cell_tables:
    for table, (row, column) in tables.items():
      rows, columns = layouts.setdefault(table, ([], []))
      rows.extend([row] if row not in rows else [])
      columns.extend([column] if column not in columns else [])
      other = taken.setdefault((table, row, column), cell)
      if other != cell:
        raise StudyError(f"Cells {other!r} and {cell!r} both sit at table {table!r}, row "
                         f"{row!r}, column {column!r}.")
  return layouts
