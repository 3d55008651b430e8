"""LabRuns: a web server's handle on ELBO-lab runs that train in their own process.

start() claims the run in the shared RunStore and launches `python -m explorer.lab_worker`
in a new session (so it outlives the server); pause, resume, stop and knob changes are
commands the worker applies within a fraction of a second; snapshot() reads the worker's
latest live view (cached per version, shared by every browser of this server).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from explorer import checkpoints, elbo_lab
from explorer.models.vae import VAE, VAEConfig
from explorer.run_store import RatePoint, RecentReads, RunStatus, RunStore, RunStoreError

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_RUNS_ENV_VAR = "EXPLORER_MAX_RUNS"  # heavy runs allowed at once on this machine
WATCH_SECONDS = 5.0  # the worker draws snapshots while a server asked within this window


class LabRuns:
    """Start, steer and watch lab runs in `store` (one per server process, shared by every
    session: create it with st.cache_resource)."""

    def __init__(self, store: RunStore, max_active: int | None = None):
        self.store = store
        self.recent = RecentReads(store)  # for views that poll (sidebar, followers)
        self.max_active = max_active or int(os.environ.get(MAX_RUNS_ENV_VAR, "1"))
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[int, elbo_lab.LiveSnapshot, dict[str, Any]]] = {}
        self._figures: dict[tuple[str, int, int, bool], dict[str, Any]] = {}

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self, settings: elbo_lab.LabSettings, name: str = elbo_lab.LAB_RUN,
              kind: str = "lab", extra: dict[str, Any] | None = None) -> RunStatus:
        """Claim `name` and launch its worker; a run already active there is returned as is
        (a double click or two browsers give one run). Raises RunStoreError when the
        machine's quota of active runs is used."""
        status, created = self.store.claim(name, kind, {**asdict(settings), **(extra or {})},
                                           self.max_active)
        if created:
            log = open(self.store.run_dir(name) / "worker.log", "ab")
            subprocess.Popen([sys.executable, "-m", "explorer.lab_worker",
                              "--store", str(self.store.root), "--run", name],
                             cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
        return status

    def start_sweep(self, betas: list[float], steps: int,
                    settings: elbo_lab.LabSettings | None = None) -> RunStatus:
        """A beta sweep: one short run per beta, in its own worker, points to the store."""
        return self.start(settings or elbo_lab.LabSettings(), elbo_lab.SWEEP_RUN, "sweep",
                          {"betas": [float(b) for b in betas], "sweep_steps": int(steps)})

    def status(self, name: str = elbo_lab.LAB_RUN) -> RunStatus | None:
        return self.store.status(name)

    def runs(self) -> list[RunStatus]:
        return self.store.runs()

    def pause(self, name: str = elbo_lab.LAB_RUN) -> None:
        self.store.send(name, "pause")

    def resume(self, name: str = elbo_lab.LAB_RUN) -> None:
        self.store.send(name, "resume")

    def stop(self, name: str = elbo_lab.LAB_RUN) -> None:
        self.store.send(name, "stop")

    def stopping(self, name: str = elbo_lab.LAB_RUN, status: RunStatus | None = None) -> bool:
        """A stop was asked for and the worker has not taken it yet (its controls are then
        of no use: the run ends within a step or two)."""
        status = status or self.store.status(name)
        return status is not None and any(
            command == "stop" for _, command, _ in self.store.pending(name, status.generation))

    def set_knob(self, knob: str, value: float, name: str = elbo_lab.LAB_RUN) -> None:
        """Change a live knob (beta, sigma, free_bits, learning_rate) from the next step. A
        value equal to the one in force (knobs(): pending requests included) sends nothing:
        a widget echoing the value it was set to logged a knob change that changed nothing
        (β→1 in a run at β = 1)."""
        if self.knobs(name).get(knob) == float(value):
            return
        self.store.send(name, "set", {"knob": knob, "value": float(value)})

    def knobs(self, name: str = elbo_lab.LAB_RUN) -> dict[str, float]:
        """The knob values in force, with changes still waiting for the worker applied, so
        every browser shows the latest request."""
        status = self.store.status(name)
        hyper = dict(status.hyper) if status else {}
        if status is not None:
            for _, command, value in self.store.pending(name, status.generation):
                if command == "set":
                    hyper[value["knob"]] = value["value"]
        return hyper

    def remove(self, name: str = elbo_lab.LAB_RUN) -> None:
        """Stop the run (if it lives) and forget it."""
        status = self.store.status(name)
        if status is not None and status.active:
            self.store.send(name, "stop")
        self.store.forget(name)
        with self._lock:
            self._snapshots.pop(name, None)

    def state_file(self, name: str = elbo_lab.LAB_RUN) -> Path:
        return self.store.run_dir(name) / "state.pt"

    def continue_run(self, name: str = elbo_lab.LAB_RUN, rate_factor: float = 1.0
                     ) -> RunStatus:
        """After a failure or a lost worker: a new run from the last saved state. With
        rate_factor = 1 it resumes exactly; otherwise it starts from those weights with the
        learning rate scaled (a diverged run continues at 10x lower with 0.1)."""
        status = self.store.status(name)
        if status is None or status.active:
            raise RunStoreError("Only an ended run can be continued.")
        if not self.state_file(name).is_file():
            raise RunStoreError("This run saved no state to continue from.")
        held = self.state_file(name).with_name("state_before_restart.pt")
        os.replace(self.state_file(name), held)
        settings = elbo_lab.LabSettings.from_dict(status.settings)
        settings.warm_start = None
        if rate_factor == 1.0:
            settings.resume_state, settings.start_weights = str(held), None
        else:
            hyper = status.hyper
            settings.resume_state, settings.start_weights = None, str(held)
            settings.learning_rate = float(hyper.get("learning_rate", settings.learning_rate)
                                           ) * rate_factor
            settings.sigma = float(hyper.get("sigma", settings.sigma))
            settings.beta = float(hyper.get("beta", settings.beta))
            settings.free_bits = float(hyper.get("free_bits", settings.free_bits))
        return self.start(settings, name, status.kind)

    # ---- watching ------------------------------------------------------------------------
    def snapshot(self, name: str = elbo_lab.LAB_RUN
                 ) -> tuple[int, elbo_lab.LiveSnapshot, dict[str, Any]] | None:
        """(version, snapshot, extra) of the run's latest live view, decoded once per version
        in this process; marks the run as watched so the worker keeps drawing."""
        self.store.mark_watched(name)
        version = self.store.snapshot_version(name)
        with self._lock:
            cached = self._snapshots.get(name)
            if cached is not None and cached[0] == version:
                return cached
        got = self.store.get_snapshot(name)
        if got is None:
            return None
        snapshot, extra = elbo_lab.snapshot_from_bytes(got[1])
        with self._lock:
            self._snapshots[name] = (got[0], snapshot, extra)
            return self._snapshots[name]

    def figures(self, name: str = elbo_lab.LAB_RUN, status: RunStatus | None = None
                ) -> tuple[dict[str, Any], dict] | None:
        """The live figures for the latest snapshot (and its extra info), built once per
        snapshot version and finished-run count for every browser of this server. `status`:
        the run's, when the caller has just read it (else it is read here)."""
        got = self.snapshot(name)
        if got is None:
            return None
        version, snapshot, extra = got
        finished = self.store.points()
        status = status or self.store.status(name)
        live = status is not None and status.active and not self.stopping(name, status)
        key = (name, version, len(finished), live)
        with self._lock:
            drawn = self._figures.get(key)
        if drawn is None:
            drawn = elbo_lab.live_figures(snapshot, finished, live)
            with self._lock:
                self._figures = {k: v for k, v in self._figures.items() if k[0] != name}
                self._figures[key] = drawn
        return drawn, {"snapshot": snapshot, "version": version, "finished": finished, **extra}

    def points(self) -> list[RatePoint]:
        return self.store.points()

    # ---- work on the run's model -----------------------------------------------------------
    def _model(self, name: str) -> VAE:
        """The run's latest saved weights (written every few seconds and when it ends)."""
        state = checkpoints.load_state(self.state_file(name))
        model = VAE(VAEConfig(**state["model_config"]))
        model.load_state_dict(state["weights"])
        return model.eval()

    def ask(self, name: str, command: str, value: dict[str, Any], timeout: float = 120.0
            ) -> dict[str, Any]:
        """Have the live worker do something with the current model and wait for its answer;
        when no worker answers (it has ended), do it here from the saved state."""
        status = self.store.status(name)
        if status is not None and status.active and time.time() - status.heartbeat < 5:
            result = self.store.result(self.store.send(name, command, value), timeout)
            if result is not None:
                return result
            raise RunStoreError(f"The training process did not answer '{command}' within "
                                f"{timeout:.0f} s.")
        return perform(command, value, self._model(name), status.hyper if status else {})


def perform(command: str, value: dict[str, Any], model: VAE, hyper: dict[str, float]
            ) -> dict[str, Any]:
    """The model-side work behind `ask`, the same in the worker and in the server."""
    from explorer import data  # the test images, loaded where the work happens

    test = data.load("mnist", "test").images
    if command == "save":
        card = {"dataset": "mnist", "command": "ELBO lab (streamlit page)", "epochs": None,
                "train_seconds": value.get("seconds"), "hardware": value.get("hardware", ""),
                "live_hyperparameters": hyper}
        try:
            saved = elbo_lab.save_run(model, card, value["path"], test[:500])
        except checkpoints.CheckpointError as exc:
            return {"error": str(exc)}
        return {"path": value["path"], "test_nll_nats": saved["test_nll_nats"]}
    if command == "bounds":
        return {str(k): v for k, v in elbo_lab.bounds(model, test[:100]).items()}
    return {"error": f"unknown request '{command}'"}
