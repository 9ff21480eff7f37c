"""Finding and parsing the runs' gin files (no flags, so any command line can use it).

A syntax error names the file (the included one, when it is in an `include`d file) or
--gin_bindings, with the line and column: of the error, or of the bracket or string that
is still open where a file cut short ends (gin's tokenizer itself says only "EOF in
multi-line statement").
"""
import io
import os
import tokenize
import traceback

from absl import app
import gin
from gin import config_parser

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDINGS = "--gin_bindings"  # How messages name the bindings (gin joins them by lines).


def parse_gin(config_files, bindings):
  """Parses configs; a missing file, unknown configurable or parameter fails here, naming it."""
  gin.add_config_file_search_path(REPO_ROOT)  # For the files' `include`s.
  config_files = [find_config_file(path) for path in config_files]
  try:
    gin.parse_config_files_and_bindings(config_files, bindings)
  except tokenize.TokenError as e:
    where = _file_being_parsed(e)
    text = "\n".join(bindings) if where is None else _read(where)
    raise app.UsageError("Bad gin configuration: " +
                         describe_unclosed(text, where or BINDINGS)) from e
  except SyntaxError as e:
    raise app.UsageError("Bad gin configuration: " +
                         describe_syntax_error(e, BINDINGS)) from e
  except (ValueError, KeyError, OSError) as e:
    raise app.UsageError(f"Bad gin configuration: {e}") from e


def describe_syntax_error(error, where):
  """'FILE: line L: what' of a SyntaxError of gin's parser (whose own message names the
  file by its base name), or `where` in place of a file it does not name."""
  text = f"\n    {error.text.strip()}" if error.text and error.text.strip() else ""
  return f"{error.filename or where}: line {error.lineno}: {error.msg}{text}"


def describe_unclosed(text, where):
  """'WHERE: line L, column C: what is not closed' of a `text` that Python's tokenizer
  (gin's) cannot finish: the first bracket still open at its end, or the string."""
  opened = []
  try:
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
      if token.type == tokenize.OP and token.string in "([{":
        opened.append(token)
      elif token.type == tokenize.OP and token.string in ")]}" and opened:
        opened.pop()
  except tokenize.TokenError as e:
    message, (line, column) = e.args
  else:
    return f"{where}: ends inside a statement"
  if message.startswith("EOF in multi-line string"):  # At the string's start.
    return (f"{where}: line {line}, column {column + 1}: the string is not closed by the "
            "end of the file")
  if not opened:  # E.g. a backslash continuation on the last line.
    return f"{where}: line {line}, column {column + 1}: {message}"
  first = opened[0]
  return (f"{where}: line {first.start[0]}, column {first.start[1] + 1}: "
          f"'{first.string}' is not closed by the end of the file (is it cut short?)")


def _file_being_parsed(error):
  """The file gin's innermost parser was reading when `error` was raised, None for the
  bindings (an `include`d file is parsed inside its includer's parse)."""
  parsers = [frame.f_locals.get("self") for frame, _ in traceback.walk_tb(error.__traceback__)]
  parsers = [p for p in parsers if isinstance(p, config_parser.ConfigParser)]
  return getattr(parsers[-1], "_filename", None) if parsers else None


def _read(path):
  with open(path) as f:
    return f.read()


def find_config_file(path):
  """`path` as given, else relative to the repository root (as gin_configs/... in the docs).

  Gin's own lookup would take a missing `dir/file.gin` for a Python package and fail with
  a TypeError that names nothing.
  """
  candidates = [path] if os.path.isabs(path) else [path, os.path.join(REPO_ROOT, path)]
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  raise app.UsageError(f"--gin_config={path}: no such file (looked for "
                       f"{[os.path.abspath(c) for c in candidates]}).")
