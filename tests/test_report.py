"""`tinyxp report` and `tinyxp plot`: the page, the terminal chart, bad input, and the page in headless Chromium."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from unittest import mock

from .bench import synth
from .support import REPO_ROOT, run_process, run_script, script_env, silence_run, start_script, task_script, temp_dir, wait_for_line, write_project
from tinyxp.cli import main

NAN, INF = float("nan"), float("inf")
UTF8 = {"LC_ALL": "", "LC_CTYPE": "", "LANG": "C.UTF-8", "COLUMNS": "80", "NO_COLOR": ""}


def run_cli(*argv: str, env: dict | None = None, encoding: str = "utf-8") -> tuple:
    """(exit status, stdout, stderr) of tinyxp.cli.main(argv), stdout encoding as given."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, errors="replace")
    err = io.StringIO()
    with mock.patch.dict(os.environ, {**UTF8, **(env or {})}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    out.flush()
    return status, raw.getvalue().decode(encoding), err.getvalue()


def line_paths(page: str, metric: str) -> list[str]:
    """The d of each curve's path in the chart of metric."""
    figure = page.split(f'data-metric="{metric}"', 1)[1].split("</svg>", 1)[0]
    return re.findall(r'<path class="line[^"]*"[^>]* d="([^"]*)"', figure)


class ReportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.log_dir = os.path.join(self.root, "logs")
        synth.write_tree(self.log_dir, 12, n_lines=30)
        self.out = os.path.join(self.root, "report.html")

    def report(self, *options: str) -> str:
        status, _, err = run_cli("report", self.log_dir, "-o", self.out, *options)
        self.assertEqual(status, 0, err)
        with open(self.out, encoding="utf-8") as file:
            return file.read()

    def test_page_has_table_charts_and_differences(self) -> None:
        page = self.report()
        self.assertEqual(re.findall(r'<tr data-run="(\d+)"', page), [str(i) for i in range(1, 13)])
        self.assertIn("<th>optimizer.lr</th>", page)
        self.assertIn("<th>last(train.loss)</th>", page)
        self.assertNotIn("<th>last(train.epoch)</th>", page)  # counters are not charted by default
        self.assertEqual(re.findall(r'data-metric="([^"]+)"', page), ["test.loss", "test.acc", "train.loss", "train.acc"])
        self.assertEqual(len(line_paths(page, "train.loss")), 12)
        self.assertIn('<a href="logs/3/">3</a>', page)  # relative to the report
        self.assertIn("<h3>Config</h3>", page)
        self.assertIn("<td>1-2, 7-8</td>", page)  # runs of optimizer.lr 0.1
        self.assertIn("(not in git)", page)
        self.assertNotIn("http", page.replace("http://www.w3.org", ""))  # nothing fetched
        self.assertFalse([name for name in os.listdir(self.root) if name.startswith(".tmp-")])

    def test_by_groups_with_bands_log_and_smoothing(self) -> None:
        page = self.report("--by", "optimizer.lr", "-m", "train.loss", "--log-y", "--smooth", "3", "--band", "minmax")
        self.assertEqual(len(line_paths(page, "train.loss")), 3)
        self.assertEqual(page.count('class="band"'), 3)
        self.assertIn("optimizer.lr=0.01 (4 runs)", page)
        self.assertIn("trailing mean over 3 values", page)
        self.assertIn("the min and max", page)
        self.assertIn(">log</text>", page)
        page = self.report("--by", "config.model.name", "seed", "-m", "train.loss", "--log", "train.loss", "--log-x")
        self.assertIn("model.name=mlp, seed=0 (3 runs)", page)
        self.assertIn("step (log)", page)

    def test_running_and_lost_runs_are_marked(self) -> None:
        synth.write_run(self.log_dir, 13, {"seed": 5}, status="RUNNING", metrics={"train": [{"loss": 1.0}, {"loss": 0.5}]})
        lost = synth.write_run(self.log_dir, 14, {"seed": 6}, status="RUNNING", metrics={"train": [{"loss": 2.0}, {"loss": 1.5}]})
        silence_run(lost)
        page = self.report("-m", "train.loss")
        self.assertIn("run 13 (RUNNING)", page)
        self.assertIn("run 14 (LOST)", page)
        self.assertEqual(page.count('class="line partial"'), 2)
        self.assertIn('class="s-LOST">LOST', page)

    def test_bad_metric_values_are_gaps(self) -> None:
        values = [1.0, "oops", NAN, INF, -INF, None, True, 0.5, 0.25]
        synth.write_run(self.log_dir, 13, {"seed": 7}, metrics={"odd": [{"loss": v} for v in values]})
        page = self.report("-q", "config.seed == 7", "-m", "odd.loss", "--log-y")
        self.assertRegex(line_paths(page, "odd.loss")[0], r"^M\d+,\d+h0M\d+,\d+L\d+,\d+$")
        status, out, err = run_cli("plot", self.log_dir, "odd.loss", "-q", "config.seed == 7")
        self.assertEqual((status, err), (0, ""))
        self.assertIn("run 13", out)

    def test_tags_are_shown_when_runs_have_some(self) -> None:
        synth.write_run(self.log_dir, 13, {"seed": 8})
        self.assertEqual(run_cli("tag", "13", "best", "v2", "-l", self.log_dir)[0], 0)  # metadata/notes.yaml
        self.assertIn("<td>best, v2</td>", self.report())

    def test_image_artifacts_are_embedded_then_linked(self) -> None:
        from tinyxp.view import report

        run_dir = synth.write_run(self.log_dir, 13, {"seed": 8})
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
        for name in ("a.png", "b.svg", "notes.txt"):
            os.makedirs(os.path.join(run_dir, "artifacts", "image"), exist_ok=True)
            with open(os.path.join(run_dir, "artifacts", "image", name), "wb") as file:
                file.write(png)
        os.symlink(os.path.join(run_dir, "gone.png"), os.path.join(run_dir, "artifacts", "image", "c.png"))
        page = self.report("-q", "config.seed == 8")
        self.assertIn('<img src="data:image/png;base64,iVBORw0KGgo', page)
        self.assertNotIn("c.png", page)  # a link in a run folder is not followed, nor listed
        self.assertIn("run 13: image/b.svg</figcaption>", page)
        self.assertNotIn("notes.txt</figcaption>", page)
        with mock.patch.object(report, "EMBED_BYTES", 150):
            page = self.report("-q", "config.seed == 8")
        self.assertIn('<img src="logs/13/artifacts/image/b.svg"', page)
        self.assertIn("1 image(s) past 0 MB are linked", page)
        self.assertNotIn("<h2>Images</h2>", self.report("-q", "config.seed == 0"))

    def test_empty_selection_says_so(self) -> None:
        page = self.report("-q", "config.seed == 99")
        self.assertIn("No runs match the query &#x27;config.seed == 99&#x27;.", page)
        empty = os.path.join(self.root, "empty")
        os.mkdir(empty)
        self.assertEqual(run_cli("report", empty, "-o", self.out)[0], 0)
        with open(self.out, encoding="utf-8") as file:
            self.assertIn("No runs are in this log directory.", file.read())

    def test_bad_input_exits_2_with_one_message(self) -> None:
        blocker = os.path.join(self.root, "file")
        with open(blocker, "w"):
            pass
        cases = [
            (["report", self.log_dir, "-m", "train.los"], "Unknown metric 'train.los': no selected run has it; did you mean 'train.loss'?"),
            (["report", self.log_dir, "-m", "zzz"], "Unknown metric 'zzz': no selected run has it; they have 'test.epoch', 'test.loss', 'test.acc', 'train.epoch', 'train.loss', 'train.acc'"),
            (["report", self.log_dir, "--by", "optimizer.l"], "Unknown --by key 'optimizer.l': not a config or info field of these runs; did you mean 'config.optimizer.lr'?"),
            (["report", self.log_dir, "--smooth", "0"], "Invalid --smooth 0: expected a number of values, 1 or more"),
            (["report", self.log_dir, "-o", os.path.join(blocker, "r.html")], f"Cannot write the report to {os.path.join(blocker, 'r.html')!r}: Not a directory"),
            (["report", self.log_dir, "-o", self.root], f"Cannot write the report to {self.root!r}: Is a directory"),
            (["plot", self.log_dir, "train.los"], "Unknown metric 'train.los': no selected run has it; did you mean 'train.loss'?"),
            (["plot", self.log_dir, "train.loss", "--by", "nope"], "Unknown --by key 'nope': not a config or info field of these runs; did you mean 'config.seed'?"),
            (["plot", self.log_dir, "train.loss", "-q", "config.seed == 99"], "Cannot plot: no runs match the query"),
            (["plot", self.log_dir, "train.loss", "--svg", os.path.join(blocker, "c.svg")], f"Cannot write the chart to {os.path.join(blocker, 'c.svg')!r}: Not a directory"),
        ]
        before = sorted(os.listdir(self.root))
        for argv, message in cases:
            with self.subTest(argv=argv):
                self.assertEqual(run_cli(*argv), (2, "", f"tinyxp: error: {message}\n"))
        self.assertEqual(sorted(os.listdir(self.root)), before)
        empty = os.path.join(self.root, "empty")
        os.mkdir(empty)
        self.assertEqual(run_cli("plot", empty, "m"), (2, "", f"tinyxp: error: Cannot plot: no runs in {empty!r}\n"))

    def test_plot_narrower_than_40_columns(self) -> None:
        message = "tinyxp: error: Cannot draw a chart in 39 columns: it needs at least 40 (widen the terminal or set COLUMNS)\n"
        self.assertEqual(run_cli("plot", self.log_dir, "train.loss", env={"COLUMNS": "39"}), (2, "", message))


class CurvesTest(unittest.TestCase):
    """view/curves.py on runs that lack a metric, hold it only in middle lines, or are plain rows."""

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_run(self.log_dir, 1, {"lr": 0.1, "seed": 0}, metrics={"train": [{"loss": 2.0}, {"loss": 1.0, "extra": 5}, {"loss": 0.5}]})
        synth.write_run(self.log_dir, 2, {"lr": 0.1, "seed": 1}, metrics={"train": [{"loss": 3.0}, {"loss": 1.0}]})
        synth.write_run(self.log_dir, 3, {"lr": 0.2, "seed": 0}, metrics={"other": [{"x": 1}]},
                        info={"status": "RUNNING", "start_time": "not a time", "duration_s": None})
        from tinyxp.read.reader import Reader

        with mock.patch("sys.stderr", io.StringIO()):
            self.reader = Reader(self.log_dir, progress=False)

    def test_metric_in_middle_lines_only_is_found(self) -> None:
        from tinyxp.view.curves import check_metrics, run_metrics

        df = self.reader.filter()
        self.assertNotIn("train.extra", run_metrics(df))  # the index knows first and last lines
        check_metrics(["train.extra"], df)
        self.assertIn("train.extra", run_metrics(df))

    def test_runs_without_the_metric_and_plain_rows_are_left_out(self) -> None:
        from tinyxp.read.frame import DataFrame
        from tinyxp.view.curves import curves_of, run_metrics

        df = DataFrame([*self.reader.filter(), {"config.lr": 1}])
        self.assertEqual([c.label for c in curves_of(df, "train.loss")], ["run 1", "run 2"])
        grouped = curves_of(df, "train.loss", ["config.lr"])
        self.assertEqual([(c.label, c.points) for c in grouped], [("lr=0.1 (2 runs)", [(0.0, 2.5), (1.0, 1.0), (2.0, 0.5)])])
        self.assertEqual(run_metrics(df), ["train.loss", "train.extra", "other.x"])  # train.jsonl was read

    def test_by_keys_resolve_by_their_ending(self) -> None:
        from tinyxp.view.curves import resolve_keys

        fields = ["config.optimizer.lr", "config.seed", "info.status", "config.a.seed"]
        self.assertEqual(resolve_keys(["lr", "info.status", "config.seed", "optimizer.lr"], fields),
                         ["config.optimizer.lr", "info.status", "config.seed", "config.optimizer.lr"])

    def test_a_start_time_that_is_not_a_time(self) -> None:
        from tinyxp.view.report import duration, format_duration

        row = self.reader.filter("config.lr == 0.2")[0]
        self.assertIsNone(duration(row, time.time()))
        self.assertEqual([format_duration(s) for s in (None, 5.25, 75, 7300)], ["", "5.2s", "1m15s", "2h01m"])

    def test_gc_stays_off_when_it_was_off(self) -> None:
        import gc

        from tinyxp.view.options import paused_gc

        gc.disable()
        try:
            with paused_gc():
                self.assertFalse(gc.isenabled())
            self.assertFalse(gc.isenabled())
        finally:
            gc.enable()


class PlotCommandTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.log_dir = os.path.join(self.root, "logs")
        synth.write_tree(self.log_dir, 6, n_lines=20)

    def test_braille_fits_the_terminal(self) -> None:
        status, out, err = run_cli("plot", self.log_dir, "train.loss", env={"COLUMNS": "72"})
        self.assertEqual((status, err), (0, ""))
        lines = out.rstrip("\n").split("\n")
        self.assertEqual(lines[0], "train.loss")
        self.assertTrue(all(len(line) <= 72 for line in lines))
        self.assertTrue(any("\u2800" < c <= "\u28ff" for c in out))
        self.assertIn("━━ run 1", out)

    def test_ascii_when_the_locale_or_output_is_not_utf8(self) -> None:
        cases = (({"LANG": "C"}, "utf-8"), ({"LC_ALL": "en_US.ISO-8859-1"}, "utf-8"), ({}, "ascii"),
                 ({"LANG": "", "LC_CTYPE": "C.UTF-8"}, "utf-8"))  # Python's own coercion of a C locale
        for env, encoding in cases:
            with self.subTest(env=env, encoding=encoding):
                status, out, _ = run_cli("plot", self.log_dir, "train.loss", "--by", "optimizer.lr", env=env, encoding=encoding)
                self.assertEqual(status, 0)
                self.assertTrue(out.isascii(), out)
                self.assertIn("** optimizer.lr=0.1 (2 runs)", out)

    def test_a_counter_is_drawn_against_its_position(self) -> None:
        status, out, _ = run_cli("plot", self.log_dir, "train.epoch", "--height", "4")
        self.assertEqual(status, 0)
        self.assertIn("15 ┤", out)

    def test_a_user_utf8_ctype_is_utf8(self) -> None:
        status, out, _ = run_cli("plot", self.log_dir, "train.loss", env={"LANG": "", "LC_CTYPE": "en_US.UTF-8"})
        self.assertEqual(status, 0)
        self.assertFalse(out.isascii())

    def test_svg_writes_the_same_chart(self) -> None:
        path = os.path.join(self.root, "loss.svg")
        status, out, err = run_cli("plot", self.log_dir, "train.loss", "--svg", path, "--log-y")
        self.assertEqual((status, out, err), (0, "", f"tinyxp: wrote {path}\n"))
        with open(path, encoding="utf-8") as file:
            svg = file.read()
        self.assertTrue(svg.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in svg)
        self.assertEqual(svg.count('<path class="line'), 6)

    def test_colour_only_on_a_terminal_without_no_color(self) -> None:
        class Terminal(io.StringIO):
            encoding = "utf-8"

            def isatty(self) -> bool:
                return True

        for no_color, coloured in (("", True), ("1", False)):
            out = Terminal()
            with mock.patch.dict(os.environ, {**UTF8, "NO_COLOR": no_color}), contextlib.redirect_stdout(out):
                self.assertEqual(main(["plot", self.log_dir, "train.loss"]), 0)
            self.assertEqual("\x1b[" in out.getvalue(), coloured)


@unittest.skipUnless(shutil.which("chromium"), "needs Debian's chromium for the browser test (apt-get install chromium)")
class BrowserTest(unittest.TestCase):
    """Real launched runs (finished, one still RUNNING, one LOST), the report opened in headless Chromium."""

    def setUp(self) -> None:
        self.root = temp_dir(self)
        body = """
            import math
            for step in range(30):
                loss = ctx.config.lr * 10 / (step + 1) + ctx.config.seed * 0.01
                ctx.logger.log_metrics({"step": step, "loss": float("nan") if step == 5 else loss, "acc": 1 - loss / 10})
            ctx.logger.log_metrics({"loss": "diverged?"})
        """
        script = write_project(self.root, script=task_script(body, 'config_path="configs"'))
        done = run_script(script, ["+sweep", "lr=0.1,0.01", "seed=range(2)"])
        self.assertEqual(done.returncode, 0, done.stderr)
        waiting = os.path.join(self.root, "wait.py")
        with open(waiting, "w", encoding="utf-8") as file:
            file.write(WAITING_SCRIPT)
        self.running = start_script(waiting, ["lr=0.05"], test=self)
        wait_for_line(self.running, "started")
        self.log_dir = os.path.join(self.root, "logs")
        lost = synth.write_run(self.log_dir, 6, {"seed": 9, "lr": 0.5, "epochs": 3}, status="RUNNING",
                               metrics={"train": [{"step": i, "loss": 3.0 - i} for i in range(3)]})
        silence_run(lost)

    def tearDown(self) -> None:
        with open(os.path.join(self.root, "go"), "w"):
            pass

    def chromium(self, *options: str, url: str) -> str:
        profile = os.path.join(self.root, "profile")
        done = run_process(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *options, url],
                           timeout=90, stdout=-1, stderr=-1, universal_newlines=True)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        return done.stdout

    def test_page_in_chromium(self) -> None:
        out = os.path.join(self.root, "report.html")
        done = run_process([sys.executable, "-m", "tinyxp", "report", self.log_dir, "-o", out], timeout=120,
                           env=script_env(), cwd=REPO_ROOT, stdout=-1, stderr=-1, universal_newlines=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        url = "file://" + out
        dom = self.chromium("--dump-dom", url=url + "#sort=-id")
        self.assertRegex(dom, r'<body data-ready="[1-9]\d*"')  # the script ran to its end (the value: ms since navigation)
        self.assertEqual(re.findall(r'<tr data-run="(\d+)"', dom), ["6", "5", "4", "3", "2", "1"])  # sorted by the click
        self.assertIn('<th class="desc">id</th>', dom)
        self.assertEqual(len(line_paths(dom, "train.loss")), 6)
        self.assertEqual(len(line_paths(dom, "train.acc")), 4)  # not the RUNNING and LOST runs
        self.assertIn("run 5 (RUNNING)", dom)
        self.assertIn("run 6 (LOST)", dom)
        self.assertTrue(all(d.startswith("M") for d in line_paths(dom, "train.loss")))
        self.assertGreaterEqual(line_paths(dom, "train.loss")[0].count("M"), 2)  # the NaN is a gap
        dom = self.chromium("--dump-dom", url=url + "#sort=min(train.loss)&filter=COMPLETE")
        rows = re.findall(r'<tr data-run="(\d+)"( style="display: none;")?', dom)
        self.assertEqual([run for run, hidden in rows if not hidden], ["3", "4", "1", "2"])  # lr 0.01 first, then seed
        self.assertIn("4 of 6 runs", dom)
        shot = os.path.join(tempfile.gettempdir(), "tinyxp-report-screenshot.png")  # kept: a CI artifact
        self.chromium(f"--screenshot={shot}", "--window-size=1200,2000", url=url)
        self.assertGreater(os.path.getsize(shot), 10_000)


WAITING_SCRIPT = """\
import os
import time
import tinyxp

@tinyxp.launch(config_path="configs")
def train(ctx):
    for step in range(10):
        ctx.logger.log_metrics({"step": step, "loss": 1.0 / (step + 1)})
    print("started", flush=True)
    deadline = time.time() + 60
    while not os.path.exists("go") and time.time() < deadline:
        time.sleep(0.05)

train()
"""


if __name__ == "__main__":
    unittest.main()
