"""The run store without worker processes: claims, quotas, commands, lost heartbeats."""

import threading
import time

import pytest

from explorer import run_store
from explorer.run_store import RatePoint, RunStore, RunStoreError


def test_concurrent_claims_give_one_run(tmp_path):
    store = RunStore(tmp_path)
    created = []

    def claim():
        created.append(store.claim("lab", "lab", {"seed": 0})[1])

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created.count(True) == 1 and len(created) == 8


def test_quota_commands_and_results(tmp_path):
    store = RunStore(tmp_path)
    status, _ = store.claim("lab", "lab", {})
    with pytest.raises(RunStoreError, match="still going"):
        store.claim("other", "lab", {}, max_active=1)
    first = store.send("lab", "pause")
    second = store.send("lab", "set", {"knob": "beta", "value": 2.0})
    assert [c[1] for c in store.pending("lab", status.generation)] == ["pause", "set"]
    store.acknowledge(first, {"ok": True})
    assert store.result(first) == {"ok": True} and store.result(second) is None
    assert [c[0] for c in store.pending("lab", status.generation)] == [second]
    with pytest.raises(RunStoreError):
        store.send("absent", "stop")


def test_a_silent_worker_is_lost_and_the_name_can_be_claimed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(run_store, "LOST_AFTER_SECONDS", 0.2)
    store = RunStore(tmp_path)
    first, _ = store.claim("lab", "lab", {})
    store.report("lab", first.generation, state="running", step=5)
    time.sleep(0.3)
    lost = store.status("lab")
    assert lost.state == "lost" and not lost.active and lost.step == 5
    again, created = store.claim("lab", "lab", {})
    assert created and again.generation == first.generation + 1
    store.report("lab", first.generation, state="running", step=99)  # the old worker
    assert store.status("lab").step == 0  # cannot overwrite the new generation


def test_snapshots_and_points_are_shared(tmp_path):
    store = RunStore(tmp_path)
    assert store.get_snapshot("lab") is None and store.snapshot_version("lab") == 0
    assert store.put_snapshot("lab", b"one") == 1 and store.put_snapshot("lab", b"two") == 2
    assert RunStore(tmp_path).get_snapshot("lab") == (2, b"two")  # another process's view
    store.add_point(RatePoint(3.0, 90.0, 1.0, "run at beta=1", "lab"))
    assert [p.label for p in RunStore(tmp_path).points()] == ["run at beta=1"]
    turned = RatePoint(4.0, 80.0, 1.0, "run at beta=1->...->1", "lab", betas=(1.0, 4.0, 1.0))
    store.add_point(turned)
    assert RunStore(tmp_path).points()[-1] == turned  # the β history round-trips
    assert RunStore(tmp_path).points()[0].betas == ()


def test_a_store_made_before_the_beta_history_gains_its_column(tmp_path):
    """CREATE TABLE IF NOT EXISTS leaves an older store's points table as it was: the
    store adds the column it lacks, keeps the old points, and takes new ones."""
    import sqlite3

    tmp_path.mkdir(exist_ok=True)
    old = sqlite3.connect(tmp_path / "runs.sqlite")
    old.executescript(
        "CREATE TABLE points (id INTEGER PRIMARY KEY AUTOINCREMENT, rate REAL NOT NULL, "
        "distortion REAL NOT NULL, beta REAL NOT NULL, label TEXT NOT NULL, run TEXT NOT "
        "NULL, created REAL NOT NULL); INSERT INTO points (rate, distortion, beta, label, "
        "run, created) VALUES (3, 90, 10, 'run at beta=1->10', 'lab', 0);")
    old.commit()
    old.close()
    store = RunStore(tmp_path)
    store.add_point(RatePoint(5.0, 70.0, 2.0, "sweep beta=2", "sweep", betas=(2.0,)))
    assert [(p.rate, p.betas) for p in store.points()] == [(3.0, ()), (5.0, (2.0,))]
    RunStore(tmp_path)  # a second start finds the column there: no error


def test_recent_reads_are_shared_for_a_moment_and_refreshed_for_a_newer_version(tmp_path):
    store = RunStore(tmp_path)
    recent = run_store.RecentReads(store, max_age=60)
    code, token = store.start_presentation()
    assert recent.presentation(code).version == 0
    version = store.publish(code, token, "autoregressive", {"widgets": {}, "params": {"a": "1"}})
    assert version == 1
    assert recent.presentation(code).version == 0  # kept: one read serves every follower
    assert recent.presentation(code, at_least=1).version == 1  # a page saw version 1
    assert recent.presentation("ZZZZ") is None
    assert recent.runs() == []
    brief = run_store.RecentReads(store, max_age=0.05)
    assert brief.presentation(code).version == 1
    store.publish(code, token, "home", {"widgets": {}, "params": {}})
    time.sleep(0.1)
    assert brief.presentation(code).version == 2  # aged out: read again


def test_ending_a_presentation_is_a_new_version_and_needs_the_token(tmp_path):
    store = RunStore(tmp_path)
    code, token = store.start_presentation()
    published = store.publish(code, token, "autoregressive", {"widgets": {}, "params": {}})
    assert store.end_presentation(code, "forged-token") is None
    assert store.presentation(code).present  # a wrong token ends nothing
    ended = store.end_presentation(code, token)
    assert ended == published + 1 == store.presentation(code).version  # watchers notice
    assert not store.presentation(code).present


def test_a_folder_removed_under_a_running_server_is_made_anew(tmp_path):
    """A cleaner emptying /tmp under a running server: every page failed with sqlite's
    "unable to open database file". The store starts again, empty, and takes new runs."""
    import shutil

    store = RunStore(tmp_path / "runs")
    store.claim("lab", "lab", {"seed": 0})
    shutil.rmtree(tmp_path / "runs")
    assert store.runs() == []
    assert store.claim("lab", "lab", {"seed": 1})[1]
