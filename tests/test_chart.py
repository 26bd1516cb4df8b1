"""The chart maths (view/chart.py), SVG charts (view/svg.py) and the terminal plot (view/plot.py), without a browser."""
from __future__ import annotations

import math
import re
import unittest

from tinyxp.errors import ReaderError
from tinyxp.view import chart
from tinyxp.view.curves import Curve, chart_points
from tinyxp.view.plot import BRAILLE, MIN_WIDTH, render_plot
from tinyxp.view.svg import LEGEND_MAX, band_data, path_data, render_chart

NAN, INF = float("nan"), float("inf")


class NumbersTest(unittest.TestCase):
    def test_number_keeps_finite_numbers_only(self) -> None:
        self.assertEqual([chart.number(v) for v in (1, 2.5, True, "3", None, NAN, INF, -INF, [1], 10 ** 400)], [1.0, 2.5, None, None, None, None, None, None, None, None])

    def test_x_and_y_values(self) -> None:
        self.assertEqual(chart.y_values([1, "x", NAN, 2.5, INF, None]), [1.0, None, None, 2.5, None, None])
        self.assertEqual(chart.x_values([10, 20.5]), [10.0, 20.5])
        self.assertEqual(chart.x_values([10, None, 10 ** 400, "a"]), [10.0, 1.0, 2.0, 3.0])  # a bad x: its position
        self.assertEqual(chart.x_values(range(2)), [0.0, 1.0])

    def test_smooth_is_a_trailing_mean_keeping_gaps(self) -> None:
        points = [(0.0, 1.0), (1.0, 3.0), (2.0, None), (3.0, 5.0), (4.0, 7.0)]
        self.assertEqual(chart.smooth(points, 1), points)
        self.assertEqual(chart.smooth(points, 2), [(0.0, 1.0), (1.0, 2.0), (2.0, None), (3.0, 4.0), (4.0, 6.0)])
        self.assertEqual([y for _, y in chart.smooth(points, 3)], [1.0, 2.0, None, 3.0, 5.0])

    def test_downsample_keeps_ends_extremes_and_gaps(self) -> None:
        points = [(float(i), float(i % 10)) for i in range(1002)]
        points[500] = (500.0, None)
        points[700] = (700.0, 100.0)  # a spike
        out = chart.downsample(points, 20)
        self.assertLessEqual(len(out), 2 * 20 + 2 + 20)
        self.assertEqual((out[0], out[-1]), (points[0], points[-1]))
        self.assertIn((700.0, 100.0), out)
        self.assertIn((500.0, None), out)
        self.assertEqual([x for x, _ in out], sorted(x for x, _ in out))
        self.assertEqual(max(y for _, y in out if y is not None), 100.0)
        self.assertEqual(min(y for _, y in out if y is not None), 0.0)

    def test_downsample_leaves_short_curves_alone(self) -> None:
        points = [(float(i), float(i)) for i in range(10)]
        self.assertEqual(chart.downsample(points, 4), points)
        self.assertEqual(chart.downsample(points, 0), points)
        flat = [(float(i), 1.0) for i in range(100)]
        self.assertLess(len(chart.downsample(flat, 10)), 15)  # min is max: one point per bucket
        gaps = [(float(i), None) for i in range(100)]
        self.assertTrue(all(y is None for _, y in chart.downsample(gaps, 10)))

    def test_band_mean_std_and_minmax(self) -> None:
        a = [(0.0, 1.0), (1.0, 2.0), (2.0, None)]
        b = [(0.0, 3.0), (1.0, 2.0), (2.0, 5.0)]
        self.assertEqual(chart.band([a, b]), [(0.0, 2.0, 1.0, 3.0), (1.0, 2.0, 2.0, 2.0), (2.0, 5.0, 5.0, 5.0)])
        self.assertEqual(chart.band([a, b, [(0.0, 8.0)]], "minmax")[0], (0.0, 4.0, 1.0, 8.0))
        self.assertEqual(chart.band([]), [])

    def test_log_leaves_gaps_for_values_it_cannot_show(self) -> None:
        self.assertEqual(chart.for_log([(0.0, 1.0), (1.0, 0.0), (2.0, -1.0), (3.0, None)]), [(0.0, 1.0), (1.0, None), (2.0, None), (3.0, None)])

    def test_extent(self) -> None:
        self.assertEqual(chart.extent([3.0, 1.0, 2.0]), (1.0, 3.0))
        self.assertEqual(chart.extent([]), (0.0, 1.0))
        self.assertEqual(chart.extent([], log=True), (1.0, 10.0))
        self.assertEqual(chart.extent([-1.0, 4.0], log=True), (2.0, 8.0))
        self.assertEqual(chart.extent([5.0, 5.0]), (4.5, 5.5))
        self.assertEqual(chart.extent([0.0]), (-1.0, 1.0))

    def test_scale_linear_and_log(self) -> None:
        linear = chart.Scale(0, 10, 100, 200)
        self.assertEqual((linear(0), linear(5), linear(10)), (100, 150, 200))
        log = chart.Scale(1, 100, 0, 10, log=True)
        self.assertAlmostEqual(log(10), 5)
        flipped = chart.Scale(0, 1, 400, 0)
        self.assertEqual(flipped(1), 0)

    def test_nice_ticks(self) -> None:
        self.assertEqual(chart.nice_ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        self.assertEqual(chart.nice_ticks(0.013, 0.98, 4), [0.2, 0.4, 0.6, 0.8])
        self.assertEqual(chart.nice_ticks(-7, 93, 5), [0, 20, 40, 60, 80])
        self.assertEqual(chart.nice_ticks(3, 3), [3])
        self.assertEqual(chart.nice_ticks(1000, 1e6, 2), [5e5, 1e6])
        for low, high in ((0.0012, 0.0019), (-5e9, 3e9), (17, 18)):
            ticks = chart.nice_ticks(low, high)
            self.assertTrue(2 <= len(ticks) <= 11, (low, high, ticks))
            self.assertTrue(all(low - 1e-12 <= t <= high + 1e-12 for t in ticks), ticks)

    def test_log_ticks(self) -> None:
        self.assertEqual(chart.log_ticks(0.005, 2), [0.01, 0.1, 1.0])
        self.assertEqual(chart.log_ticks(1, 1e12, 4), [1.0, 1e4, 1e8, 1e12])
        self.assertEqual(chart.log_ticks(2, 8), [2, 4, 6, 8])  # no power of ten inside: nice ticks
        self.assertEqual(chart.ticks(2, 8, log=True), chart.log_ticks(2, 8))
        self.assertEqual(chart.ticks(0, 1), chart.nice_ticks(0, 1))

    def test_format_tick(self) -> None:
        self.assertEqual([chart.format_tick(v) for v in (0, 0.001, 2.5, 120, 1e6, 1e-5, 2.5e-5, 123456)],
                         ["0", "0.001", "2.5", "120", "1e+06", "1e-05", "2.5e-05", "1.2e+05"])


def curve(label: str, ys: list, status: str = "", spread: list | None = None) -> Curve:
    return Curve(label, list(zip(chart.x_values(range(len(ys))), chart.y_values(ys))), runs=[label], status=status, spread=spread)


class SvgTest(unittest.TestCase):
    def test_path_breaks_at_gaps_and_marks_lone_points(self) -> None:
        x = chart.Scale(0, 4, 0, 400)
        y = chart.Scale(0, 1, 100, 0)
        points = [(0.0, 0.0), (1.0, 1.0), (2.0, None), (3.0, 0.5), (4.0, None)]
        self.assertEqual(path_data(points, x, y), "M0,100L100,0M300,50h0")
        self.assertEqual(path_data([(0.0, 0.0), (0.001, 0.0), (1.0, 1.0)], x, y), "M0,100L100,0")  # same pixel dropped
        self.assertEqual(path_data([], x, y), "")

    def test_band_outline(self) -> None:
        x = chart.Scale(0, 1, 0, 10)
        y = chart.Scale(0, 10, 10, 0)
        spread = [(0.0, 5.0, 4.0, 6.0), (1.0, 5.0, 3.0, 7.0)]
        self.assertEqual(band_data(spread, x, y), "M0,4L10,3L10,7L0,6Z")
        self.assertEqual(band_data(spread[:1], x, y), "")
        log_y = chart.Scale(0.1, 10, 10, 0, log=True)
        self.assertEqual(band_data([(0.0, 1.0, -1.0, 3.0), (1.0, 1.0, 0.5, 2.0)], x, log_y), "")

    def test_chart_has_a_line_per_curve_ticks_and_a_legend(self) -> None:
        svg = render_chart("train.loss", [curve("run 1", [3, 2, 1]), curve("run 2", [4, NAN, 2], status="RUNNING")])
        self.assertEqual(len(re.findall(r'<path class="line', svg)), 2)
        self.assertIn('class="line partial"', svg)
        self.assertIn("run 2 (RUNNING)", svg)
        self.assertIn(">train.loss</text>", svg)
        self.assertIn(">2.5</text>", svg)  # a y tick
        self.assertNotIn("xmlns", svg)
        standalone = render_chart("t", [curve("a", [1, 2])], standalone=True)
        self.assertTrue(standalone.startswith('<svg viewBox="0 0 1000 ') and 'xmlns="http://www.w3.org/2000/svg"' in standalone)
        self.assertIn("<style>", standalone)

    def test_log_axes_and_bands(self) -> None:
        spread = [(0.0, 2.0, 1.0, 3.0), (1.0, 20.0, 10.0, 30.0)]
        svg = render_chart("m", [curve("g", [2.0, 20.0], spread=spread), curve("h", [0.0, -1.0])], log_y=True, log_x=True)
        self.assertIn(">log</text>", svg)
        self.assertIn("step (log)", svg)
        self.assertIn('class="band"', render_chart("m", [curve("g", [2.0, 20.0], spread=spread)]))

    def test_long_legends_are_cut(self) -> None:
        svg = render_chart("m", [curve(f"run {i}", [i, i + 1]) for i in range(LEGEND_MAX + 5)])
        self.assertIn("and 5 more", svg)
        self.assertEqual(svg.count('<g class="key">'), LEGEND_MAX)

    def test_escapes_names(self) -> None:
        self.assertIn("a&lt;b&gt;", render_chart("a<b>", [curve("<x>", [1])]))

    def test_curves_are_downsampled_to_the_budget(self) -> None:
        curves = [curve(f"run {i}", [math.sin(j / 10) for j in range(1000)]) for i in range(500)]
        points = chart_points(curves, False, False, 24)
        self.assertTrue(all(len(p) <= 2 * 24 + 2 for p in points))


class PlotTest(unittest.TestCase):
    def test_braille_chart_with_axes_and_legend(self) -> None:
        text = render_plot("train.loss", [curve("run 1", [3, 2, 1]), curve("run 2", [1, "x", 3], status="RUNNING")], width=60, height=8)
        lines = text.split("\n")
        self.assertEqual(lines[0], "train.loss")
        self.assertTrue(all(len(line) <= 60 for line in lines), text)
        self.assertTrue(any(BRAILLE < ord(c) <= BRAILLE + 0xFF for c in text))
        self.assertIn("└", text)
        self.assertIn("━━ run 1  ━━ run 2 (RUNNING)", text)
        self.assertNotIn("\x1b", text)

    def test_ascii_chart_uses_a_mark_per_curve(self) -> None:
        text = render_plot("m", [curve("a", [0, 1, 2, 3]), curve("b", [3, 2, 1, 0])], width=40, height=6, unicode=False, log_y=False)
        self.assertTrue(text.isascii())
        self.assertIn("*", text)
        self.assertIn("+", text)
        self.assertIn("** a  ++ b", text)

    def test_colour_log_and_long_legend(self) -> None:
        curves = [curve(f"run {i}", [i + 1, i + 2]) for i in range(15)]
        text = render_plot("m", curves, width=50, color=True, log_y=True, log_x=True)
        self.assertIn("\x1b[34m", text)
        self.assertIn("m (log y)", text)
        self.assertIn("and 3 more", text)

    def test_tick_labels_that_would_overlap_are_left_out(self) -> None:
        from tinyxp.view.plot import Canvas, x_axis

        canvas = Canvas(10, 1, unicode=False)
        axis, labels = x_axis(chart.Scale(0, 1e6, 0, 9), canvas, 2, False, False, "step")
        self.assertEqual(axis, "  ++---+----+")
        self.assertEqual(labels, "   0 5e+05")  # 1e+06 would touch 5e+05; no room for the axis name

    def test_too_narrow(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            render_plot("m", [], width=MIN_WIDTH - 1)
        self.assertEqual(str(caught.exception), "Cannot draw a chart in 39 columns: it needs at least 40 (widen the terminal or set COLUMNS)")

    def test_empty_curves(self) -> None:
        self.assertIn("m", render_plot("m", [curve("a", [NAN, INF])], width=40))


if __name__ == "__main__":
    unittest.main()
