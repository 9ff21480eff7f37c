"""The docs quote the committed reports: every comparison sentence and every
"mean ± std (best b)" in them is one a report under reports/ states word for word, so a
regenerated report cannot leave stale numbers in the docs."""
import glob
import os
import re

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SUMMARY = re.compile(r"-?\d+\.\d+ ± \d+\.\d+ \(best -?\d+\.\d+\)")
_SENTENCE = re.compile(r"^- (\S+ − \S+ = .*(?:95 % CI|no claim).*)$", re.MULTILINE)


def _quotes(text):
  return _SUMMARY.findall(text) + _SENTENCE.findall(text)


def _reports():
  return "\n".join(open(p, encoding="utf-8").read()
                   for p in glob.glob(os.path.join(_ROOT, "reports", "*", "*.md")))


def test_the_patterns_find_what_a_report_writes():
  text = ("| uncond | 45.71 ± 2.15 (best 43.60) |\n"
          "- ssgan − uncond = +21.24 FID, 95 % CI [16.13, 26.34] (paired t, n = 5): x.\n"
          "- cond − uncond = +1.00 FID (a confidence interval needs at least 2 seeds; no claim).")
  assert _quotes(text) == [
      "45.71 ± 2.15 (best 43.60)",
      "ssgan − uncond = +21.24 FID, 95 % CI [16.13, 26.34] (paired t, n = 5): x.",
      "cond − uncond = +1.00 FID (a confidence interval needs at least 2 seeds; no claim)."]


@pytest.mark.parametrize("doc", ["README.md", "docs/studies.md"])
def test_numbers_quoted_from_reports_are_in_them(doc):
  quotes = _quotes(open(os.path.join(_ROOT, doc), encoding="utf-8").read())
  reports = _reports()
  assert [q for q in quotes if q not in reports] == []
  if doc == "docs/studies.md":
    assert len(quotes) > 30  # The patterns still match the doc's tables and sentences.
