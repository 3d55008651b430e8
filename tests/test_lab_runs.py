"""ELBO-lab runs in their own process: start, knobs, pause and stop through the store, live
snapshots, save, a diverged run, and kill -9 of either side."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from explorer import checkpoints, elbo_lab, lab_runs
from explorer.lab_runs import LabRuns
from explorer.run_store import RunStore, RunStoreError
from tests.conftest import kill_workers, requires_mnist, wait_until

TINY = dict(latent_dim=2, hidden=16, batch_size=64, device="cpu", threads=1, train_limit=2048)


@pytest.fixture
def runs(tmp_path):
    handle = LabRuns(RunStore(tmp_path / "runs"), max_active=1)
    yield handle
    kill_workers(handle)


@requires_mnist
def test_a_run_trains_in_its_own_process_and_obeys(runs):
    status = runs.start(elbo_lab.LabSettings(**TINY))
    again = runs.start(elbo_lab.LabSettings(**TINY))  # a double click: the same run
    assert again.generation == status.generation
    running = wait_until(lambda: (s := runs.status()) and s.step > 30 and s)
    assert running.pid and running.pid != os.getpid() and running.state == "running"
    runs.set_knob("beta", 3.0)
    assert runs.knobs()["beta"] == 3.0  # every browser sees the request at once
    wait_until(lambda: runs.status().hyper.get("beta") == 3.0)
    runs.pause()
    paused = wait_until(lambda: (s := runs.status()).state == "paused" and s)
    time.sleep(1.0)
    assert runs.status().step == paused.step  # no steps while paused
    runs.resume()
    wait_until(lambda: runs.status().step > paused.step)
    figures, info = wait_until(runs.figures, timeout=30)  # watched: the worker draws
    assert set(figures) == {"terms", "elbo", "rd", "kl_bars", "std_hist"}
    assert any(m["name"] == "beta" for m in info["snapshot"].markers)
    with pytest.raises(RunStoreError):
        runs.start(elbo_lab.LabSettings(**TINY), name="another")  # one heavy run at a time
    runs.stop()
    stopped = wait_until(lambda: (s := runs.status()).state == "stopped" and s, every=0.01)
    assert stopped.step >= paused.step
    # the end is reported once its point and final view are in: a page that stops
    # refreshing when it reads "stopped" shows both (it spoke of a point it did not show)
    points = runs.points()
    assert points and points[-1].beta == 3.0 and points[-1].rate >= 0 \
        and points[-1].distortion > 0
    assert points[-1].betas == (1.0, 3.0)  # the plane names it from this: "β=1→3"
    assert runs.snapshot(elbo_lab.LAB_RUN)[2]["state"] == "stopped"


@requires_mnist
def test_save_uses_the_knobs_in_force_and_reproduces_on_reload(runs, tmp_path):
    """Change sigma mid-run: the saved card and NLL use the new sigma, not the first one."""
    runs.start(elbo_lab.LabSettings(**TINY, likelihood="gaussian", sigma=0.1))
    wait_until(lambda: runs.status().step > 20)
    runs.set_knob("sigma", 1.0)
    wait_until(lambda: runs.status().hyper.get("sigma") == 1.0)
    result = runs.ask(elbo_lab.LAB_RUN, "save", {"path": str(tmp_path / "mine")})
    model, card = checkpoints.load(tmp_path / "mine")
    assert card["config"]["sigma"] == 1.0
    from explorer import data
    test = data.load("mnist", "test").images[:500]
    with torch.no_grad():
        x = model.prepare(test, train=False)
        again = float(-model.estimate_log_likelihood(
            x, samples=100, generator=torch.Generator().manual_seed(0)).mean())
    assert again == pytest.approx(result["test_nll_nats"], abs=0.01)
    runs.stop()


@requires_mnist
def test_a_diverged_run_says_why_and_continues_slower(runs):
    settings = elbo_lab.LabSettings(**{**TINY, "likelihood": "gaussian", "sigma": 0.03,
                                       "learning_rate": 1e6, "beta": 0.0})
    runs.start(settings)
    failed = wait_until(lambda: (s := runs.status()).state == "failed" and s)
    assert "NaN/Inf" in failed.reason
    assert checkpoints.all_finite(checkpoints.load_state(runs.state_file())["weights"])
    again = runs.continue_run(rate_factor=0.1)
    assert again.generation == failed.generation + 1
    assert again.settings["learning_rate"] == pytest.approx(1e5)
    assert again.settings["sigma"] == pytest.approx(0.03)
    wait_until(lambda: runs.status().state in ("running", "failed"))
    runs.remove()


@requires_mnist
def test_kill_9_of_the_worker_is_noticed_and_the_run_resumes_exactly(runs, monkeypatch):
    import explorer.run_store as run_store
    monkeypatch.setattr(run_store, "LOST_AFTER_SECONDS", 3.0)
    runs.start(elbo_lab.LabSettings(**TINY))
    status = wait_until(lambda: (s := runs.status()).step > 40 and s)
    wait_until(lambda: runs.state_file().is_file())
    os.kill(status.pid, signal.SIGKILL)
    lost = wait_until(lambda: (s := runs.status()).state == "lost" and s, timeout=20)
    saved_step = checkpoints.load_state(runs.state_file())["step"]
    assert "stopped reporting" in lost.reason and saved_step > 0
    runs.continue_run()
    resumed = wait_until(lambda: (s := runs.status()).state == "running" and s)
    assert resumed.settings["resume_state"]
    wait_until(lambda: runs.status().step > saved_step)
    runs.stop()


@requires_mnist
def test_the_run_outlives_the_server_that_started_it(tmp_path):
    """kill -9 of the server process: the worker trains on; a new server sees and stops it."""
    store = tmp_path / "runs"
    code = ("import sys; from explorer import elbo_lab; from explorer.lab_runs import LabRuns; "
            "from explorer.run_store import RunStore; "
            f"LabRuns(RunStore({str(store)!r})).start(elbo_lab.LabSettings(**{TINY!r})); "
            "import time; time.sleep(600)")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=str(lab_runs.REPO_ROOT))
    runs = LabRuns(RunStore(store))
    try:
        wait_until(lambda: (s := runs.status()) and s.step > 10)
        server.kill()
        server.wait(10)
        before = runs.status().step
        wait_until(lambda: runs.status().step > before + 10)  # still training
        runs.stop()
        wait_until(lambda: runs.status().state == "stopped")
    finally:
        server.kill()
        status = runs.status()
        if status and status.pid:
            try:
                os.kill(status.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_stop_waiting_for_the_worker_reads_as_stopping(tmp_path):
    handle = LabRuns(RunStore(tmp_path / "runs"))
    handle.store.claim(elbo_lab.LAB_RUN, "lab", {})  # an active run, no worker yet
    assert handle.status().active and not handle.stopping()
    handle.pause()
    assert not handle.stopping()  # other commands are not a stop
    handle.stop()
    assert handle.stopping()  # the page hides the knobs and greys Pause and Stop


def test_a_knob_set_to_the_value_in_force_is_no_change(tmp_path):
    """A widget echoing the value in force logged "β→1" in a run at β = 1: only a request
    that changes a knob reaches the worker (and its log of knob changes)."""
    handle = LabRuns(RunStore(tmp_path / "runs"))
    status, _ = handle.store.claim(elbo_lab.LAB_RUN, "lab", {})  # active, no worker yet

    def sets() -> list:
        return [v for _, command, v in handle.store.pending(elbo_lab.LAB_RUN, status.generation)
                if command == "set"]

    handle.set_knob("beta", 2.0)
    handle.set_knob("beta", 2.0)  # the same again: pending already asks for it
    handle.set_knob("free_bits", 0.5)
    assert sets() == [{"knob": "beta", "value": 2.0}, {"knob": "free_bits", "value": 0.5}]
    handle.set_knob("beta", 1.0)
    assert sets()[-1] == {"knob": "beta", "value": 1.0}


def test_an_ended_runs_worker_polls_about_once_a_second(monkeypatch):
    """While it lingers to answer save requests, an idle worker polled four times a second
    (about 7% of a core for ten minutes); it waits LINGER_POLL_SECONDS between looks."""
    from types import SimpleNamespace

    from explorer import lab_worker

    looks, sleeps = [], []

    class Store:
        def status(self, name):
            looks.append(name)  # the third look finds the run reset: the worker exits
            return SimpleNamespace(generation=1) if len(looks) < 3 else None

    worker = object.__new__(lab_worker.Worker)
    worker.store, worker.name, worker.generation = Store(), "lab", 1
    worker.handle_commands = lambda: None
    worker.report = lambda **_: None
    monkeypatch.setattr(lab_worker.time, "sleep", sleeps.append)
    worker.linger(seconds=60)
    assert len(looks) == 3 and sleeps == [lab_worker.LINGER_POLL_SECONDS] * 2
    assert lab_worker.LINGER_POLL_SECONDS >= 1.0
