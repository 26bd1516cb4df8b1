"""A sweep in this process: every run attempted in turn, a summary at the end, a clean stop on a signal.

A run that fails does not stop the sweep; a signal does: SIGINT (Ctrl-C), SIGTERM or
SIGUSR1 stops the run in progress (INTERRUPTED) or, between two runs, keeps the next
one from starting. The summary then says what completed, failed, was interrupted and
never started, and the sweep exits with 128 + the signal's number (130 for Ctrl-C),
without a traceback.
"""
from __future__ import annotations

import signal
import sys

from .lifecycle import install_signal_handlers, restore_signal_handlers

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable

    from .run import Context, Plan, Run

EXIT_SWEEP_FAILED = 1


class Sweep:
    """The runs of a sweep, in order, with what became of each."""

    def __init__(self, plans: list[Plan]) -> None:
        self.plans = plans
        self.results: list[Any] = []
        self.failures: list[tuple[Plan, str, BaseException]] = []
        self.interrupted: tuple[Plan, str] | None = None
        self.stop_signal: int | None = None

    def run(self, new_run: Callable[[Plan, str], Run], task: Callable[[Context], Any]) -> list[Any]:
        """The task's values (None for a run that failed); SystemExit after the summary on a failure or a signal."""
        previous = install_signal_handlers(self._stop_between_runs, self.plans[0].xp.requeue_signal)
        try:
            for index, plan in enumerate(self.plans, 1):
                if self.stop_signal is not None:
                    break
                self._run_one(new_run(plan, f"[{index}/{len(self.plans)}] {plan.label}"), task)
        finally:
            restore_signal_handlers(previous)
        print(self.summary(), file=sys.stderr)
        if self.stop_signal is not None:
            raise SystemExit(128 + self.stop_signal)
        if self.failures:
            raise SystemExit(EXIT_SWEEP_FAILED)
        return self.results

    def _stop_between_runs(self, signum: int, frame: Any) -> None:
        """A signal while no run is in progress: the next run does not start."""
        self.stop_signal = signum

    def _run_one(self, run: Run, task: Callable[[Context], Any]) -> None:
        try:
            self.results.append(run.execute(task))
        except (Exception, SystemExit, KeyboardInterrupt) as err:
            self.results.append(None)
            if run.interrupted:  # the whole sweep is being stopped
                self.stop_signal = run.stop_signal or signal.SIGINT
                if run.status == "INTERRUPTED":
                    self.interrupted = (run.plan, run.shown_dir)
                    return
            if run.status == "COMPLETE":  # sys.exit(0) in the task
                return
            if run.status is None:  # the run could not start (a full disk...): neither can the next ones
                raise
            import traceback  # only when a run fails

            traceback.print_exc()
            self.failures.append((run.plan, run.shown_dir, err))

    def summary(self) -> str:
        """`sweep: 6 runs, 5 complete, 1 failed`, then a line per run that did not complete."""
        attempted = len(self.results)
        complete = attempted - len(self.failures) - (self.interrupted is not None)
        counts = [f"{len(self.plans)} runs", f"{complete} complete", f"{len(self.failures)} failed"]
        head = "sweep: "
        if self.stop_signal is not None:
            head = f"sweep: stopped by {signal.Signals(self.stop_signal).name}: "
            counts += [f"{self.interrupted is not None:d} interrupted", f"{len(self.plans) - attempted} not started"]
        lines = [head + ", ".join(counts)]
        lines += [failed_line(plan.label, shown_dir, f"{type(err).__name__}: {err}") for plan, shown_dir, err in self.failures]
        if self.interrupted is not None:
            lines.append(f"  INTERRUPTED {self.interrupted[0].label} -> {self.interrupted[1]}")
        lines += [f"  NOT STARTED {plan.label}" for plan in self.plans[attempted:]]
        return "\n".join(lines)


def failed_line(label: str, shown_dir: str, why: str) -> str:
    return f"  FAILED {label} -> {shown_dir}: {why}"


def processes_summary(total: int, failures: list[tuple[str, str, str]]) -> str:
    """The summary of a sweep run as separate processes (xp.scheduler=local): failures are (label, run dir, why)."""
    lines = [f"sweep: {total} runs, {total - len(failures)} complete, {len(failures)} failed"]
    return "\n".join(lines + [failed_line(*failure) for failure in failures])
