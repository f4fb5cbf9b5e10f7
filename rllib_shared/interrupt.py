"""Ctrl-C and SIGTERM during ``tune.run`` save the trial before Tune stops.

Tune's own Ctrl-C handler saves the experiment state but no trial
checkpoint, so a run whose checkpoints come only at the end loses all its
training. :class:`CheckpointOnInterrupt` takes over SIGINT and SIGTERM once
the run has started: the first signal asks the trial to checkpoint its next
result, and once that checkpoint is written it hands the stop to Tune's
handler, so ``resume="AUTO"`` continues from it. A second signal while
waiting stops at once (Tune's way), a third raises KeyboardInterrupt.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from ray import tune


class CheckpointOnInterrupt(tune.Callback):
    """A Tune callback; pass it to ``tune.run(callbacks=[...])``."""

    def __init__(self) -> None:
        self.requested = False
        self.saved = False
        self._tune_handler: Any = None

    def setup(self, **info) -> None:
        # Tune has installed its SIGINT handler by now: keep it for the hand-over.
        try:
            self._tune_handler = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        except ValueError:  # not the main thread: signals stay Tune's
            pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, self._tune_handler)
        signal.signal(signal.SIGTERM, self._tune_handler)
        self.requested = True
        print(f"\n{signal.Signals(signum).name} received: saving a checkpoint after the current "
              "iteration, then stopping (press Ctrl-C again to stop without it)", file=sys.stderr, flush=True)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if self.requested and not self.saved:
            result["should_checkpoint"] = True  # Tune lets callbacks ask for this

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info) -> None:
        if self.requested and not self.saved:
            self.saved = True
            print(f"checkpoint saved at iteration {trial.last_result.get('training_iteration')}; "
                  "stopping", file=sys.stderr, flush=True)
            if callable(self._tune_handler):
                self._tune_handler(signal.SIGINT, None)
