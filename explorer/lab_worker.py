"""The process that trains one ELBO-lab run (or a beta sweep), steered through the RunStore:

    python -m explorer.lab_worker --store DIR --run NAME

It reads the run's settings from the store, trains in a background thread, and in its main
thread, several times a second: applies queued commands (pause, resume, stop, knob changes,
save, bounds), reports its status (the heartbeat), and, while some server watches, writes a
live snapshot. Its resume state (state.pt in the run's folder) is written every few seconds
and when the run ends or fails, so a killed worker's run can be continued.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

import torch

from explorer import data, elbo_lab, lab_runs
from explorer.device import device_name
from explorer.run_store import RatePoint, RunStatus, RunStore

TICK_SECONDS = 0.1  # how often commands are read
SNAPSHOT_SECONDS = 1.0  # the live view's refresh while watched


def training_data(settings: elbo_lab.LabSettings) -> tuple[torch.Tensor, torch.Tensor,
                                                          torch.Tensor]:
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    images, labels = train.images, train.labels
    if settings.train_limit:
        images, labels = images[:settings.train_limit], labels[:settings.train_limit]
    return images, labels, test.images[:elbo_lab.PROBE_IMAGES]


LINGER_POLL_SECONDS = 1.0  # how often an ended run's worker looks for requests


class Worker:
    def __init__(self, store: RunStore, status: RunStatus):
        self.store, self.name, self.generation = store, status.name, status.generation
        self.settings = elbo_lab.LabSettings.from_dict(status.settings)
        self.extra = status.settings
        self.state_path = str(store.run_dir(self.name) / "state.pt")
        self.last_snapshot = 0.0
        self.trainer = None

    def report(self, **fields: Any) -> None:
        self.store.report(self.name, self.generation, **fields)

    # ---- a single run ----------------------------------------------------------------------
    def run_lab(self) -> None:
        images, labels, probe = training_data(self.settings)
        trainer = elbo_lab.make_trainer(self.settings, images, labels,
                                        state_path=self.state_path)
        self.trainer = trainer
        trainer.start()
        self.report(state="running", device=device_name(trainer.device, trainer.config.threads))
        last_report = 0.0
        while True:
            self.handle_commands()
            alive = trainer.active
            now = time.monotonic()
            if not alive:
                break
            if now - last_report >= 0.5:
                self.report_trainer()
                last_report = now
            if self.watched() and now - self.last_snapshot >= SNAPSHOT_SECONDS:
                self.publish(probe)
            time.sleep(TICK_SECONDS)
        trainer.join()
        if trainer.state in ("stopped", "finished"):
            rate, distortion = elbo_lab.rate_distortion(trainer.eval_copy(), probe)
            beta, markers = trainer.hyper.get("beta", 1.0), trainer.log.markers()
            self.store.add_point(RatePoint(
                rate, distortion, beta, elbo_lab.finished_point_label(
                    "run", trainer.hyper, markers, self.settings.beta), self.name,
                betas=elbo_lab.beta_history(trainer.hyper, markers, self.settings.beta)))
        self.publish(probe)  # the final view, whatever the state
        # the end is reported last: a page stops refreshing when it reads it, so the point
        # and the final view must be in by then (reported first, a page kept the last live
        # view and spoke of a green point it did not show)
        self.report_trainer()
        self.linger()

    def report_trainer(self) -> None:
        trainer = self.trainer
        speed = trainer.step * trainer.config.batch_size / max(trainer.train_seconds, 1e-9)
        self.report(state=trainer.state, reason=trainer.reason, step=trainer.step,
                    epoch=trainer.epoch, seconds=trainer.train_seconds,
                    images_per_second=speed, hyper=trainer.current_hyper())

    def watched(self) -> bool:
        return time.time() - self.store.watched_since(self.name) < lab_runs.WATCH_SECONDS

    def publish(self, probe: torch.Tensor) -> None:
        trainer = self.trainer
        snapshot = elbo_lab.live_snapshot(trainer, probe)
        latest = trainer.log.latest() or {}
        self.store.put_snapshot(self.name, elbo_lab.snapshot_bytes(snapshot, {
            "step": trainer.step, "state": trainer.state,
            "latest": {k: latest.get(k) for k in ("elbo", "reconstruction", "kl")},
            "hyper": trainer.current_hyper()}))
        self.last_snapshot = time.monotonic()

    def handle_commands(self) -> None:
        for command_id, command, value in self.store.pending(self.name, self.generation):
            result: dict[str, Any] = {}
            trainer = self.trainer
            try:
                if command == "pause" and trainer is not None:
                    trainer.pause()
                elif command == "resume" and trainer is not None:
                    trainer.resume()
                elif command == "stop":
                    if trainer is not None:
                        trainer.stop()
                elif command == "set" and trainer is not None:
                    trainer.set_hyper(value["knob"], value["value"])
                elif command in ("save", "bounds") and trainer is not None:
                    result = lab_runs.perform(command, {
                        **value, "seconds": round(trainer.train_seconds, 1),
                        "hardware": device_name(trainer.device, trainer.config.threads)},
                        trainer.eval_copy(), trainer.current_hyper())
                else:
                    result = {"error": f"'{command}' is not possible now"}
            except (KeyError, ValueError) as exc:
                result = {"error": str(exc)}
            self.store.acknowledge(command_id, result)

    def linger(self, seconds: float = 600.0) -> None:
        """After the run ends, answer save and bounds requests for a while, then exit. It
        polls every LINGER_POLL_SECONDS: four times a second cost an idle worker about 7% of
        a core for its ten minutes, and a save answered within a second is soon enough."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = self.store.status(self.name)
            if status is None or status.generation != self.generation:
                return  # reset or replaced by a new run
            self.handle_commands()
            self.report()  # heartbeat only
            time.sleep(LINGER_POLL_SECONDS)

    # ---- a beta sweep -----------------------------------------------------------------
    def run_sweep(self) -> None:
        images, labels, probe = training_data(self.settings)
        betas = [float(b) for b in self.extra.get("betas", [])]
        steps = int(self.extra.get("sweep_steps", 300))
        stop = threading.Event()
        done: list[float] = []

        def sweep() -> None:
            for beta in betas:
                if stop.is_set():
                    return
                elbo_lab.run_beta_sweep([beta], self.settings, images, labels, probe, steps,
                                        add_point=self.store.add_point, stop=stop)
                done.append(beta)

        thread = threading.Thread(target=sweep, daemon=True)
        thread.start()
        self.report(state="running", device=device_name())
        while thread.is_alive():
            for command_id, command, _ in self.store.pending(self.name, self.generation):
                if command == "stop":
                    stop.set()
                self.store.acknowledge(command_id, {})
            self.report(step=len(done), epoch=float(len(done)))
            time.sleep(0.25)
        self.report(state="stopped" if stop.is_set() else "finished", step=len(done),
                    epoch=float(len(done)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.lab_worker", description=__doc__)
    parser.add_argument("--store", required=True, help="the RunStore folder")
    parser.add_argument("--run", required=True, help="the run's name in the store")
    args = parser.parse_args(argv)
    store = RunStore(args.store)
    status = store.status(args.run)
    if status is None:
        print(f"no run named {args.run!r} in {args.store}", file=sys.stderr)
        return 2
    worker = Worker(store, status)
    worker.report(pid=os.getpid())
    try:
        if status.kind == "sweep":
            worker.run_sweep()
        else:
            worker.run_lab()
    except Exception as exc:  # report any failure where the page shows it
        worker.report(state="failed", reason=f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
