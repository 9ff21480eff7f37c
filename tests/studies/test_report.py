"""Report tables from a synthetic results tree with known numbers, and every report file."""
import json
import os

import numpy as np
import pytest
from scipy import stats

from compare_ssgan.studies import collect
from compare_ssgan.studies import comparisons
from compare_ssgan.studies import report_files
from compare_ssgan.studies import tables
from tests.studies import synthetic


@pytest.fixture(name="cells")
def _cells(tmp_path):
  root = synthetic.write_tree(str(tmp_path / "study"))
  return collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                             use_study_plan=True)


def _grid(cells, name):
  (grid,) = [g for g in tables.grids(cells) if g.name == name]
  return grid


def test_paper_table_has_mean_sample_std_best_and_marks_missing_seeds(cells):
  # uncond final FIDs 50, 30, 40: mean 40, sample std 10 (population std would be 8.16);
  # best steps 40, 30, 35. ssgan: seed 2 is incomplete, so 20 and 24 of 3 planned;
  # cond has no run directory at all.
  assert _grid(cells, "t1_fid_final").text_rows() == [
      ["", "Uncond", "SS-GAN", "Cond"],
      ["C10", "40.00 ± 10.00 (best 30.00)", "22.00 ± 2.83 (best 20.00) n=2/3",
       "not run (n=0/3)"]]
  assert _grid(cells, "t1_fid_best").text_rows()[1][1] == "35.00 ± 5.00 (best 30.00)"
  assert _grid(cells, "t1_kid_final").text_rows()[1][1:3] == [
      "0.2000 ± 0.1000 (best 0.1000)", "0.0300 ± 0.0141 (best 0.0200) n=2/3"]


def test_probe_table_takes_the_highest_accuracy_as_best(cells):
  assert _grid(cells, "probe").text_rows() == [
      ["cell", "block0", "block1"],
      ["uncond", "0.500 ± 0.100 (best 0.600)", "0.800 ± 0.100 (best 0.900)"],
      ["uncond: untrained D (step 0)", "0.500 ± 0.000 (best 0.500)",
       "0.600 ± 0.000 (best 0.600)"]]


def test_probe_table_shows_the_baselines_each_run_reported(tmp_path):
  series = {"fid": {0: 90.0, 20: 30.0}, "probe_top1_block1": {0: 0.5, 20: 0.8},
            "probe_top1_random_block1": {0: 0.6, 20: 0.6}, "probe_top1_pixels": {0: 0.7, 20: 0.7}}
  runs = {("uncond", seed): (True, series) for seed in (0, 1, 2)}
  runs[("ssgan", 0)] = (True, {"fid": {20: 20.0}, "probe_top1_block1": {10: 0.3, 20: 0.9}})
  root = synthetic.write_tree(str(tmp_path / "study"), runs=runs)
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  rows = {row[0]: row[1] for row in _grid(cells, "probe").text_rows()[1:]}
  assert rows == {"uncond": "0.800 ± 0.000 (best 0.800)",
                  "ssgan": "0.900 n=1/3",
                  "uncond: untrained D (step 0)": "0.500 ± 0.000 (best 0.500)",
                  "uncond: random features, same width": "0.600 ± 0.000 (best 0.600)",
                  "uncond: raw pixels (any width)": "0.700 ± 0.000 (best 0.700)"}


def test_precision_recall_density_coverage_get_their_own_table_best_high(tmp_path):
  series = {"fid": {20: 30.0}, "precision": {20: 0.6}, "recall": {20: 0.4},
            "density": {20: 0.9}, "coverage": {20: 0.5}}
  runs = {("uncond", seed): (True, {m: {20: v[20] + 0.1 * seed} for m, v in series.items()})
          for seed in (0, 1, 2)}
  runs[("ssgan", 0)] = (True, {"fid": {20: 20.0}})  # Scored without prdc: no row.
  root = synthetic.write_tree(str(tmp_path / "study"), runs=runs)
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  assert _grid(cells, "prdc").text_rows() == [
      ["cell", "precision", "recall", "density", "coverage"],
      ["uncond", "0.700 ± 0.100 (best 0.800)", "0.500 ± 0.100 (best 0.600)",
       "1.000 ± 0.100 (best 1.100)", "0.600 ± 0.100 (best 0.700)"]]


def test_without_precision_rows_there_is_no_prdc_table(cells):
  assert "prdc" not in [g.name for g in tables.grids(cells)]


def test_records_give_the_numbers_and_the_seeds(cells):
  (record,) = [r for r in _grid(cells, "t1_fid_final").records() if r["cell"] == "ssgan"]
  assert record["values"] == {"0": 20.0, "1": 24.0}
  assert (record["n"], record["planned"], record["mean"], record["best_seed"]) == (2, 3, 22.0, 0)


def test_report_writes_every_file(cells, tmp_path):
  out = tmp_path / "report"
  report_files.write_report(cells, str(out))
  for name in (report_files.MARKDOWN, report_files.CSV, report_files.SERIES_CSV,
               report_files.JSON, report_files.LATEX, report_files.CURVES,
               report_files.PROBE_CURVES, report_files.PROBE_VS_FID, report_files.MONTAGE):
    assert (out / name).stat().st_size > 0, name
  assert os.listdir(out / report_files.HPARAMS)
  report = json.loads((out / report_files.JSON).read_text())
  assert report["montage_seeds"] == {"uncond": 1, "ssgan": 0}  # lowest final FID
  # Every value at every checkpoint, step 0 included, in the JSON and the series CSV.
  (run,) = [r for r in report["runs"] if (r["cell"], r["seed"]) == ("uncond", 0)]
  assert run["series"]["probe_top1_block1"] == {"0": 0.6, "20": 0.8}
  series_csv = (out / report_files.SERIES_CSV).read_text().splitlines()
  assert series_csv[0] == "cell,seed,complete,metric,step,value"
  assert "uncond,0,True,probe_top1_block1,0,0.6" in series_csv
  assert len(series_csv) - 1 == sum(len(v) for _, series in synthetic.RUNS.values()
                                    for v in series.values())
  assert "22.00 ± 2.83 (best 20.00) n=2/3" in (out / report_files.MARKDOWN).read_text()
  latex = (out / report_files.LATEX).read_text()
  assert r"\toprule" in latex and r"40.00 $\pm$ 10.00 (best 30.00)" in latex
  # ssgan against the first cell, uncond, over the seeds both completed.
  (fid,) = report["comparisons"]["fid"]
  assert (fid["cell"], fid["baseline"], fid["test"]) == ("ssgan", "uncond", "paired t")
  markdown = (out / report_files.MARKDOWN).read_text()
  assert "### Differences from uncond at the final step" in markdown
  assert "ssgan − uncond" in markdown
  # Each complete run's own values, KID with its standard error where it has one.
  assert "| uncond | 0 | 20 | 50.00 | 0.2000 |" in markdown
  assert "| ssgan | 0 | 20 | 20.00 | 0.0200 ± 0.0030 |" in markdown
  assert "| ssgan | 2 |" not in markdown.split("### Each run at its final step")[1]
  with pytest.raises(ValueError, match="--baseline=nope is not a cell"):
    report_files.write_report(cells, str(out), baseline="nope")


def test_probe_only_runs_count_and_unstarted_runs_keep_their_cell(tmp_path):
  # Rot-only is scored by the probe alone; a run the runner has not started yet (no
  # study.json) is named by the study's layout <cell>/seed_<seed>, not "seed_<seed>".
  study = dict(synthetic.STUDY, cells={"rot_only": {}})
  probe = {"probe_top1_block1": {0: 0.5, 20: 0.7}}
  root = str(tmp_path / "study")
  synthetic.write_tree(root, {("rot_only", 0): (True, probe)}, study)
  synthetic.write_tree(root, {("rot_only", 1): (True, probe)}, study, records=False)
  runs = [collect.read_run(d) for d in collect.find_run_dirs(root)]
  assert sorted((r.cell, r.seed, r.complete) for r in runs) == [
      ("rot_only", 0, True), ("rot_only", 1, True)]
  cells = collect.group_cells(runs, use_study_plan=True)
  (cell,) = cells
  assert tables.stat(cell, "fid", "final").text() == "not scored (probe only)"
  assert tables.stat(cell, "probe_top1_block1", "final").text().startswith("0.700")


def test_a_cell_whose_runs_are_unfinished_says_so(tmp_path):
  root = str(tmp_path / "study")
  synthetic.write_tree(root, {("uncond", 0): (True, {"fid": {0: 90.0, 20: 50.0}}),
                              ("ssgan", 0): (False, {"fid": {0: 90.0}})})
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  texts = {cell.name: tables.stat(cell, "fid", "final").text() for cell in cells}
  assert texts == {"uncond": "50.00 n=1/3", "ssgan": "incomplete (n=0/3)",
                   "cond": "not run (n=0/3)"}


def test_the_probe_of_every_block_is_compared_with_the_baseline_as_scipy_does(tmp_path):
  study = dict(synthetic.STUDY, cells={"uncond": {}, "ssgan": {}, "rot_only": {}})
  accuracy = {"uncond": [0.80, 0.82, 0.81], "ssgan": [0.84, 0.85, 0.86],
              "rot_only": [0.79, 0.84, 0.83]}
  runs = {(cell, seed): (True, {"probe_top1_block1": {0: 0.5, 20: 0.6 + seed / 100},
                                "probe_top1_block2": {0: 0.5, 20: values[seed]}})
          for cell, values in accuracy.items() for seed in range(3)}
  root = synthetic.write_tree(str(tmp_path / "study"), runs, study)
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  out = tmp_path / "report"
  report_files.write_report(cells, str(out), baseline="uncond")
  found = json.loads((out / report_files.JSON).read_text())["comparisons"]
  assert "fid" not in found  # Probe-only runs: nothing to compare by FID.
  block2 = {c["cell"]: c for c in found["probe_top1_block2"]}
  p_values = {cell: stats.ttest_rel(accuracy[cell], accuracy["uncond"]).pvalue
              for cell in ("ssgan", "rot_only")}
  low, high = sorted(p_values.values())
  holm = {cell: (2 * low if p == low else max(2 * low, high)) for cell, p in p_values.items()}
  for cell in ("ssgan", "rot_only"):
    assert block2[cell]["difference"] == pytest.approx(
        np.mean(accuracy[cell]) - np.mean(accuracy["uncond"]))
    assert block2[cell]["p"] == pytest.approx(p_values[cell], rel=1e-9)
    assert block2[cell]["p_holm"] == pytest.approx(holm[cell], rel=1e-9)
  # Block 1 is the same in every cell: a difference of 0, with no spread to test.
  assert {c["cell"]: c["difference"] for c in found["probe_top1_block1"]} == pytest.approx(
      {"ssgan": 0.0, "rot_only": 0.0})
  markdown = (out / report_files.MARKDOWN).read_text()
  assert "| ssgan | uncond | probe top-1, block2 | +0.040 |" in markdown
  assert "- ssgan − uncond = +0.040 probe top-1, block2, 95 % CI [0.015, 0.065]" in markdown


def _three_cells(tmp_path, fid):
  study = dict(synthetic.STUDY, cells={"uncond": {}, "cr": {}, "bcr": {}, "zcr": {}})
  runs = {(cell, seed): (True, {"fid": {0: 100.0, 20: value}})
          for cell, values in fid.items() for seed, value in enumerate(values)}
  root = synthetic.write_tree(str(tmp_path / "study"), runs, study)
  return collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                             use_study_plan=True)


def test_chosen_pairs_are_compared_as_scipy_does_and_holm_runs_over_the_pairs(tmp_path):
  fid = {"uncond": [50.0, 48.0, 53.0], "cr": [40.0, 39.0, 44.0], "bcr": [35.0, 36.5, 38.0],
         "zcr": [41.0, 37.0, 45.5]}
  out = tmp_path / "report"
  report_files.write_report(_three_cells(tmp_path, fid), str(out), baseline="uncond",
                            pairs=[("bcr", "cr"), ("zcr", "cr")])
  report = json.loads((out / report_files.JSON).read_text())
  pairs = {c["cell"]: c for c in report["pair_comparisons"]["fid"]}
  p_values = {cell: stats.ttest_rel(fid[cell], fid["cr"]).pvalue for cell in ("bcr", "zcr")}
  low, high = sorted(p_values.values())
  for cell in ("bcr", "zcr"):
    assert pairs[cell]["baseline"] == "cr"
    assert pairs[cell]["difference"] == pytest.approx(np.mean(fid[cell]) - np.mean(fid["cr"]))
    assert pairs[cell]["p"] == pytest.approx(p_values[cell], rel=1e-9)
    assert pairs[cell]["p_holm"] == pytest.approx(
        2 * low if p_values[cell] == low else max(2 * low, high), rel=1e-9)
  # The baseline's family is unchanged by the pairs: three cells against uncond.
  assert {c["cell"] for c in report["comparisons"]["fid"]} == {"cr", "bcr", "zcr"}
  markdown = (out / report_files.MARKDOWN).read_text()
  section = markdown.split("### Differences between the chosen pairs at the final step")[1]
  assert "| bcr | cr | FID | -4.50 |" in section
  assert "p corrected over the pairs by Holm's method" in section
  assert "- bcr − cr = -4.50 FID, 95 % CI" in section


def test_the_bootstrap_column_appears_only_with_enough_paired_seeds(tmp_path):
  seeds = list(range(comparisons.BOOTSTRAP_MIN_SEEDS))
  study = dict(synthetic.STUDY, seeds=seeds, cells={"uncond": {}, "cr": {}})
  fid = {"uncond": [50.0 + s for s in seeds], "cr": [44.0 + s + s % 3 for s in seeds]}
  markdowns = {}
  for n in (len(seeds), len(seeds) - 1):
    runs = {(cell, seed): (True, {"fid": {0: 100.0, 20: values[seed]}})
            for cell, values in fid.items() for seed in seeds[:n]}
    root = synthetic.write_tree(str(tmp_path / f"study{n}"), runs, study)
    cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                                use_study_plan=True)
    report_files.write_report(cells, str(tmp_path / f"report{n}"), baseline="uncond")
    markdowns[n] = (tmp_path / f"report{n}" / report_files.MARKDOWN).read_text()
  with_it, without = markdowns[len(seeds)], markdowns[len(seeds) - 1]
  assert "| 95 % CI (t) | 95 % CI (bootstrap) | test, n |" in with_it
  row = next(line for line in with_it.splitlines() if line.startswith("| cr | uncond | FID"))
  assert row.count("[") == 2 and row.count("|") == 11  # 10 columns.
  assert "95 % CI (bootstrap) |" not in without
  row = next(line for line in without.splitlines() if line.startswith("| cr | uncond | FID"))
  assert row.count("[") == 1 and row.count("|") == 10


def test_holms_family_counts_only_the_cells_with_a_test(tmp_path):
  # cr: p = 0.042 alone, 0.084 after Holm over cr and bcr; zcr's one seed has no test.
  fid = {"uncond": [50.0, 48.0, 53.0], "cr": [44.0, 45.0, 46.5], "bcr": [45.0, 46.0, 47.0],
         "zcr": [41.0]}
  out = tmp_path / "report"
  report_files.write_report(_three_cells(tmp_path, fid), str(out), baseline="uncond")
  markdown = (out / report_files.MARKDOWN).read_text()
  assert ("- cr − uncond = -5.17 FID, 95 % CI [-9.87, -0.46] (paired t, n = 3, p = 0.042, "
          "Holm p = 0.084): the interval excludes 0, but not after Holm's correction over the "
          "2 cells") in markdown
  assert "- zcr − uncond = -9.33 FID (" in markdown and "no claim" in markdown


@pytest.mark.parametrize("pairs, error", [
    ([("bcr", "nope")], r"--pairs entry bcr:nope: nope is not a cell"),
    ([("bcr", "bcr")], r"--pairs entry bcr:bcr: a cell compared with itself"),
    ([("bcr", "uncond")], r"--pairs entry bcr:uncond: every cell is already compared"),
    ([("uncond", "cr")], r"--pairs entry uncond:cr: every cell is already compared"),
    ([("bcr", "cr"), ("cr", "bcr")], r"--pairs entry cr:bcr: this pair is given twice"),
])
def test_a_bad_pair_is_named_and_nothing_is_written(tmp_path, pairs, error):
  fid = {cell: [40.0, 41.0, 42.0] for cell in ("uncond", "cr", "bcr", "zcr")}
  cells = _three_cells(tmp_path, fid)
  with pytest.raises(ValueError, match=error):
    report_files.write_report(cells, str(tmp_path / "report"), baseline="uncond", pairs=pairs)
  assert not (tmp_path / "report").exists()
