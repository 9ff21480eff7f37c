"""Cell-vs-baseline statistics against scipy called directly, on data with known answers."""
import math

import numpy as np
import pytest
from scipy import stats

from compare_ssgan.studies import comparisons

BASE = {0: 140.0, 1: 150.0, 2: 130.0, 3: 145.0, 4: 135.0}


def test_a_known_paired_difference_gives_scipys_interval_and_p_value():
  shift = {0: -10.0, 1: -12.0, 2: -9.0, 3: -11.0, 4: -8.0}
  cell = {s: BASE[s] + shift[s] for s in BASE}
  found = comparisons.paired("ssgan", "uncond", "fid", cell, BASE)
  diffs = np.array([shift[s] for s in sorted(BASE)])
  assert found.test == "paired t" and found.n == 5
  assert found.difference == pytest.approx(-10.0)
  ci = stats.t.interval(0.95, 4, loc=diffs.mean(), scale=stats.sem(diffs))
  assert found.ci_t == pytest.approx(ci, rel=1e-12)
  assert found.p == pytest.approx(stats.ttest_rel(list(cell.values()),
                                                  list(BASE.values())).pvalue, rel=1e-12)
  assert found.effect_size == pytest.approx(diffs.mean() / diffs.std(ddof=1))
  assert all(math.isnan(end) for end in found.ci_bootstrap)  # Too few seeds for it.
  assert found.detected
  assert found.p < 0.0005 and comparisons.sentence(found, "FID", 2).endswith(
      "(paired t, n = 5, p < 0.001, Holm p = —): the interval excludes 0.")  # Not corrected.
  found.p_holm = 0.04
  assert comparisons.sentence(found, "FID", 2).endswith("the interval excludes 0.")
  found.p_holm = 0.095
  assert comparisons.sentence(found, "FID", 2, family="the 3 cells").endswith(
      "Holm p = 0.095): the interval excludes 0, but not after Holm's correction over the "
      "3 cells (Holm p ≥ 0.05).")


def test_the_bootstrap_interval_is_given_from_its_minimum_number_of_seeds_on():
  n = comparisons.BOOTSTRAP_MIN_SEEDS
  base = {s: 140.0 + s for s in range(n)}
  shift = {s: -10.0 + (s % 3 - 1) for s in range(n)}
  found = comparisons.paired("ssgan", "uncond", "fid",
                             {s: base[s] + shift[s] for s in base}, base)
  low, high = found.ci_bootstrap
  assert min(shift.values()) <= low < found.difference < high <= max(shift.values())
  fewer = comparisons.paired("ssgan", "uncond", "fid",
                             {s: base[s] + shift[s] for s in range(n - 1)}, base)
  assert all(math.isnan(end) for end in fewer.ci_bootstrap)


def test_p_values_print_to_three_decimals_and_small_ones_as_a_bound():
  assert [comparisons.format_p(p) for p in (0.0004999, 0.0005, 0.0123, 1.0, math.nan)] == [
      "< 0.001", "0.001", "0.012", "1.000", "—"]


def test_no_difference_is_said_so_and_one_seed_gets_no_interval():
  noise = {0: 3.0, 1: -4.0, 2: 2.0, 3: -1.0, 4: 0.5}
  cell = {s: BASE[s] + noise[s] for s in BASE}
  found = comparisons.paired("sbn", "uncond", "fid", cell, BASE)
  assert not found.detected and found.ci_t[0] < 0 < found.ci_t[1]
  assert "no difference was detected at this sample size" in comparisons.sentence(
      found, "FID", 2)
  single = comparisons.paired("cr", "uncond", "fid", {0: 120.0}, BASE)
  assert single.test is None and math.isnan(single.ci_t[0])
  assert "1 shared seed: a confidence interval needs at least 2" in single.reason
  assert "no claim" in comparisons.sentence(single, "FID", 2)


def test_unpaired_cells_use_welch_as_scipy_does():
  a, b = [120.0, 125.0, 131.0], [140.0, 150.0, 130.0, 145.0]
  found = comparisons.welch("x", "uncond", "fid", a, b)
  assert found.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue,
                                  rel=1e-12)
  result = stats.ttest_ind(a, b, equal_var=False)
  assert found.ci_t == pytest.approx(tuple(result.confidence_interval(0.95)), rel=1e-9)


def test_holm_adjusts_as_by_hand_and_compare_pairs_only_shared_seeds():
  assert comparisons.holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx(
      [0.03, 0.06, 0.06, math.nan], nan_ok=True)
  values = {"uncond": BASE, "ssgan": {s: v - 10 + s for s, v in BASE.items()},
            "other_seeds": {10: 120.0, 11: 125.0}}
  ssgan, other = comparisons.compare(values, "uncond", "fid")
  assert (ssgan.test, other.test) == ("paired t", "Welch t")
  small, large = sorted([ssgan.p, other.p])
  adjusted = {small: min(1.0, 2 * small), large: max(min(1.0, 2 * small), large)}
  assert (ssgan.p_holm, other.p_holm) == pytest.approx((adjusted[ssgan.p],
                                                        adjusted[other.p]))


def test_mean_interval_is_scipys_one_sample_t_interval():
  values = [0.91, 0.88, 0.93, 0.90]
  mean, low, high = comparisons.mean_interval(values)
  assert mean == pytest.approx(np.mean(values))
  expected = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                              scale=stats.sem(values))
  assert (low, high) == pytest.approx(expected, rel=1e-12)
  assert low < mean < high
  single = comparisons.mean_interval([0.9])
  assert single[0] == 0.9 and math.isnan(single[1]) and math.isnan(single[2])
  with pytest.raises(ValueError, match="no values"):
    comparisons.mean_interval([])


def test_a_value_that_is_not_finite_gets_no_interval_and_no_claim():
  cell = {**BASE, 2: math.nan}
  found = comparisons.paired("cr", "uncond", "fid", cell, BASE)
  assert found.test is None and math.isnan(found.ci_t[0]) and "seeds [2]" in found.reason
  assert comparisons.sentence(found, "FID", 2).endswith("(not a finite value at seeds [2]; "
                                                        "no claim).")
  unpaired = comparisons.welch("cr", "uncond", "fid", [1.0, math.inf, 2.0], [1.0, 2.0])
  assert unpaired.test is None and "no claim" in comparisons.sentence(unpaired, "FID", 2)
