"""Checks for gin knobs, run where a knob enters (a constructor or factory).

Each check names the binding, the bad value and what was expected, so that a typo in a
config fails at once, before any data or network is built, with a message that says which
line to fix. `bool` is not accepted as a number: `Trainer.batch_size = True` is a mistake.
"""
import math
import numbers


def _fail(binding, value, expected, error=ValueError):
  raise error(f"{binding} must be {expected}; got {value!r} ({type(value).__name__}).")


def _bounds(minimum, maximum, min_inclusive=True, max_inclusive=True):
  """' >= 1', ' in [0, 1)', or '' when unbounded."""
  if minimum is not None and maximum is not None:
    return (f" in {'[' if min_inclusive else '('}{minimum}, "
            f"{maximum}{']' if max_inclusive else ')'}")
  if minimum is not None:
    return f" {'>=' if min_inclusive else '>'} {minimum}"
  if maximum is not None:
    return f" {'<=' if max_inclusive else '<'} {maximum}"
  return ""


def _in_bounds(value, minimum, maximum, min_inclusive, max_inclusive):
  if minimum is not None and (value < minimum if min_inclusive else value <= minimum):
    return False
  return maximum is None or (value <= maximum if max_inclusive else value < maximum)


def integer(binding, value, minimum=None, maximum=None):
  """Returns `value` as an int if it is an integer (not a bool) in [minimum, maximum]."""
  expected = "an integer" + _bounds(minimum, maximum)
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    _fail(binding, value, expected, TypeError)
  if not _in_bounds(value, minimum, maximum, True, True):
    _fail(binding, value, expected)
  return int(value)


def number(binding, value, minimum=None, maximum=None, min_inclusive=True,
           max_inclusive=True):
  """Returns `value` as a float if it is a finite real number (not a bool) in range."""
  expected = "a finite number" + _bounds(minimum, maximum, min_inclusive, max_inclusive)
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    _fail(binding, value, expected, TypeError)
  if not math.isfinite(value) or not _in_bounds(value, minimum, maximum, min_inclusive,
                                                max_inclusive):
    _fail(binding, value, expected)
  return float(value)


def boolean(binding, value):
  """Returns `value` if it is True or False (not 0, 1 or a string)."""
  if not isinstance(value, bool):
    _fail(binding, value, "True or False", TypeError)
  return value


def choice(binding, value, options):
  """Returns `value` if it is one of `options`."""
  if value not in options:
    _fail(binding, value, f"one of {tuple(options)}")
  return value
