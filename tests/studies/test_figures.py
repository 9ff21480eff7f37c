"""Report figures show what they claim: every series its own look, the legend off the data."""
import matplotlib
from matplotlib import image as mpl_image

from compare_ssgan.studies import collect
from compare_ssgan.studies import figures
from tests.studies import synthetic

_CELLS = 12


def _twelve_cells(tmp_path):
  study = dict(synthetic.STUDY, cells={f"cell{i:02d}": {} for i in range(_CELLS)})
  runs = {(f"cell{i:02d}", 0): (True, {"fid": {0: 100.0 + i, 10: 50.0 + i, 20: 40.0 + i},
                                       "probe_top1_block1": {0: 0.5, 10: 0.6, 20: 0.7}})
          for i in range(_CELLS)}
  root = synthetic.write_tree(str(tmp_path / "study"), runs, study)
  return collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                             use_study_plan=True)


def test_styles_are_distinct_and_the_legend_is_outside_the_data(tmp_path, monkeypatch):
  cells = _twelve_cells(tmp_path)
  saved = {}
  original = matplotlib.figure.Figure.savefig

  def keep(figure, path, **kwargs):
    saved[str(path)] = figure
    return original(figure, path, **kwargs)

  monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
  path = str(tmp_path / "curves.png")
  assert figures.curves(cells, ["fid"], path) == path
  figure = saved[path]
  (axis,) = figure.axes
  looks = [(line.get_color(), line.get_linestyle(), line.get_marker())
           for line in axis.get_lines()]
  assert len(looks) == _CELLS and len(set(looks)) == _CELLS
  assert len({style[:2] for style in looks}) == _CELLS  # Colour and line style alone too.
  renderer = figure._get_renderer()  # pylint: disable=protected-access
  (legend,) = figure.legends
  assert len(legend.get_texts()) == _CELLS  # No series left out of the legend.
  legend_box = legend.get_window_extent(renderer)
  assert not legend_box.overlaps(axis.get_window_extent(renderer))
  assert axis.get_ylabel() == "FID ↓ (N = 100)" and "generator steps" in axis.get_xlabel()
  title = figure._suptitle.get_text()  # pylint: disable=protected-access
  assert "seeds 0" in title and "N = 100" in title and "raw G" in title
  assert mpl_image.imread(path).shape[1] > 500  # The legend is in the PNG, not cut off.
  probe_path = str(tmp_path / "probe_vs_fid.png")
  figures.probe_vs_fid(cells, "probe_top1_block1", probe_path)
  (probe_axis,) = saved[probe_path].axes
  offsets = [tuple(c.get_facecolor()[0]) + (c.get_paths()[0].vertices.tobytes(),)
             for c in probe_axis.collections]
  assert len(set(offsets)) == _CELLS
  assert probe_axis.get_ylabel() == "probe top-1 accuracy, block1 ↑"  # Counts not recorded.


def test_a_style_is_distinct_for_forty_cells():
  assert len({figures.style(i)[:2] for i in range(40)}) == 40
  assert figures.axis_label("probe_top1_block3") == "probe top-1 accuracy, block3 ↑"


def test_a_probe_panel_draws_its_baselines_with_their_own_look_and_legend(tmp_path,
                                                                          monkeypatch):
  study = dict(synthetic.STUDY, cells={"uncond": {}, "ssgan": {}})
  series = {"fid": {0: 100.0, 20: 40.0}, "probe_top1_block1": {0: 0.5, 20: 0.8},
            "probe_top1_random_block1": {0: 0.6, 20: 0.6}, "probe_top1_pixels": {0: 0.7, 20: 0.7},
            "probe_num_train": {0: 5000, 20: 5000}, "probe_num_test": {0: 2000, 20: 2000}}
  runs = {(cell, 0): (True, series) for cell in ("uncond", "ssgan")}
  root = synthetic.write_tree(str(tmp_path / "study"), runs, study)
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  saved = {}
  original = matplotlib.figure.Figure.savefig
  monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                      lambda figure, path, **kw: saved.setdefault(str(path), figure) and
                      original(figure, path, **kw))
  path = str(tmp_path / "probe.png")
  figures.curves(cells, ["probe_top1_block1"], path)
  (axis,) = saved[path].axes
  lines = {line.get_label(): line for line in axis.get_lines()}
  assert list(lines.get("baseline: raw pixels").get_ydata()) == [0.7, 0.7]
  assert list(lines.get("baseline: random features, same width").get_ydata()) == [0.6, 0.6]
  looks = [(line.get_color(), line.get_linestyle()) for line in axis.get_lines()]
  assert len(set(looks)) == len(looks) == 4  # Two cells, two baselines.
  (legend,) = saved[path].legends
  assert len(legend.get_texts()) == 4
  # The probe's own counts, not FID's N.
  assert axis.get_ylabel() == "probe top-1 accuracy, block1 ↑ (5000 train / 2000 test reals)"
  # The probe reads D on reals: its title gives no FID sample count or generator.
  title = saved[path]._suptitle.get_text()  # pylint: disable=protected-access
  assert "seeds 0" in title and "N =" not in title and "raw G" not in title


def test_a_probe_count_that_is_not_finite_leaves_the_axis_without_counts(tmp_path):
  study = dict(synthetic.STUDY, cells={"uncond": {}})
  series = {"fid": {20: 40.0}, "probe_top1_block1": {20: 0.8},
            "probe_num_train": {20: float("nan")}, "probe_num_test": {20: 2000}}
  root = synthetic.write_tree(str(tmp_path / "study"), {("uncond", 0): (True, series)}, study)
  cells = collect.group_cells([collect.read_run(d) for d in collect.find_run_dirs(root)],
                              use_study_plan=True)
  assert figures._y_label(cells, "probe_top1_block1") == (  # pylint: disable=protected-access
      "probe top-1 accuracy, block1 ↑")
