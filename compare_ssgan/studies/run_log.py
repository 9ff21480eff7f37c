"""A study run's log (run_dir.STUDY_LOG): one block per attempt, and its wall time.

The runner appends each attempt's output after a start line and closes the attempt with an
end line:

  # 2026-12-05 10:05:25 <command>
  ... the run's output ...
  # 2026-12-05 10:31:02 exit 0 after 1537.1 s

An attempt without an end line (its runner was killed, or the log predates end lines) ends
at the last timestamped line of absl's format (`I1205 10:30:59.123456 ...`) in it. The wall
time of a run is the sum of its attempts: time between attempts (a stopped study) is not
counted.
"""
import datetime
import re
import time

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_START_RE = re.compile(r"^# (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?!exit -?\d+ after )")
_END_RE = re.compile(r"^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d exit (-?\d+) after ([0-9.]+) s$")
_ABSL_RE = re.compile(r"^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d+) ")


def start_line(command_text):
  return f"\n# {time.strftime(_TIME_FORMAT)} {command_text}\n"


def end_line(status, seconds):
  return f"# {time.strftime(_TIME_FORMAT)} exit {status} after {seconds:.1f} s\n"


def _last_absl_time(lines, start):
  """Seconds from `start` to the last absl-timestamped line (None if there is none)."""
  for line in reversed(lines):
    match = _ABSL_RE.match(line)
    if match:
      month, day, hour, minute, second, fraction = match.groups()
      stamp = start.replace(month=int(month), day=int(day), hour=int(hour),
                            minute=int(minute), second=int(second),
                            microsecond=int(fraction[:6].ljust(6, "0")))
      if stamp < start:  # The log's line crossed a new year.
        stamp = stamp.replace(year=start.year + 1)
      return (stamp - start).total_seconds()
  return None


def attempt_seconds(text):
  """[seconds of each attempt in the log `text`] (None where an attempt has no time)."""
  attempts = []  # [(start datetime, its lines)]
  for line in text.splitlines():
    match = _START_RE.match(line)
    if match:
      attempts.append((datetime.datetime.strptime(match.group(1), _TIME_FORMAT), []))
    elif attempts:
      attempts[-1][1].append(line)
  found = []
  for start, lines in attempts:
    end = next((m for m in map(_END_RE.match, lines) if m), None)
    found.append(float(end.group(2)) if end else _last_absl_time(lines, start))
  return found
