"""The classroom load client: its bookkeeping on hand-made protocol messages, and a short run
of a few students against a server it starts (pages load, no exception, fragment refreshes
answered, valid JSON written to a temporary file)."""

from __future__ import annotations

import asyncio
import json
import os
import time

import numpy as np
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.classroom_load import (
    LoadConfig,
    Recorder,
    Student,
    cpu_seconds,
    main,
    require_loopback,
    rss_mb,
    summary_ms,
)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8501", "http://localhost:8501/",
                                 "http://[::1]:8501", "http://127.0.0.2:80/app"])
def test_loopback_urls_are_accepted(url):
    require_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8501", "http://example.com",
                                 "http://0.0.0.0:8501", "http://192.168.1.2"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError, match="loopback"):
        require_loopback(url)


def test_summary_matches_numpy_percentiles():
    samples = list(np.random.default_rng(0).exponential(100.0, size=37))
    summary = summary_ms(samples)
    assert summary["n"] == 37
    assert summary["p50_ms"] == pytest.approx(np.percentile(samples, 50), abs=0.05)
    assert summary["p95_ms"] == pytest.approx(np.percentile(samples, 95), abs=0.05)
    assert summary_ms([]) == {"p50_ms": None, "p95_ms": None, "n": 0}


def test_process_readings_of_this_process():
    assert rss_mb(os.getpid()) > 10
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.2
    assert rss_mb(2**22 + 12345) is None  # no such process


class _FakeSocket:
    def __init__(self):
        self.sent = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)


def _message(kind: str, run: str = "", fragments=(), **fields) -> bytes:
    message = ForwardMsg()
    message.metadata.run.script_run_id = run
    message.metadata.run.fragment_ids.extend(fragments)
    if kind == "new_session":
        message.new_session.page_script_hash = "page"
    elif kind == "script_finished":
        message.script_finished = fields["status"]
    return message.SerializeToString()


def test_fragment_requests_are_counted_answered_cut_short_or_superseded():
    async def scenario() -> Recorder:
        recorder = Recorder()
        student = Student("s", "http://127.0.0.1:1", LoadConfig(), recorder,
                          time.monotonic() + 60)
        student.ws = _FakeSocket()
        for _ in range(2):  # two timer ticks before the fragment run starts
            student.pending["A"].append(time.perf_counter())
            recorder.fragment_requests += 1
        student._handle(_message("new_session", "r1", ["A"]))
        student.pending["A"].append(time.perf_counter())  # a tick during the run
        recorder.fragment_requests += 1
        student._handle(_message("script_finished", "r1", ["A"],
                                 status=ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
        student._handle(_message("new_session", "r2", ["A"]))
        student._handle(_message("script_finished", "r2", ["A"],
                                 status=ForwardMsg.FINISHED_EARLY_FOR_RERUN))
        student.pending["B"].append(time.perf_counter())
        recorder.fragment_requests += 1
        student._handle(_message("new_session", "r3"))  # a full-app run
        await student.close()
        return recorder

    recorder = asyncio.run(scenario())
    assert recorder.fragment_requests == 4
    assert recorder.fragment_runs_answered == 1
    assert recorder.requests_served == 2  # the run served what was sent before it began
    assert recorder.requests_cut_short == 1
    assert recorder.requests_superseded == 1
    assert recorder.requests_pending_at_end == 0
    assert len(recorder.fragment_ms) == 1


def test_a_slider_change_in_a_fragment_waits_for_that_fragment_run():
    async def scenario() -> tuple[bool, bool, Recorder]:
        recorder = Recorder()
        student = Student("s", "http://127.0.0.1:1", LoadConfig(), recorder,
                          time.monotonic() + 60)
        student.ws = _FakeSocket()
        nudge = asyncio.create_task(student._fragment_run("A"))
        await asyncio.sleep(0)
        student._handle(_message("new_session", "r1", ["B"]))  # another fragment's run
        student._handle(_message("script_finished", "r1", ["B"],
                                 status=ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
        await asyncio.sleep(0)
        assert not nudge.done()
        student._handle(_message("new_session", "r2", ["A"]))
        student._handle(_message("script_finished", "r2", ["A"],
                                 status=ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
        answered = await nudge
        lost = asyncio.create_task(student._fragment_run("A"))
        await asyncio.sleep(0)
        student._handle(_message("new_session", "r3", ["A"]))
        student._handle(_message("script_finished", "r3", ["A"],
                                 status=ForwardMsg.FINISHED_EARLY_FOR_RERUN))
        cut_short = await lost
        assert len(student.ws.sent) == 2
        return answered, cut_short, recorder

    answered, cut_short, recorder = asyncio.run(scenario())
    assert answered is True
    assert cut_short is False


def test_a_cached_message_is_replayed_from_its_reference():
    async def scenario() -> Student:
        student = Student("s", "http://127.0.0.1:1", LoadConfig(), Recorder(),
                          time.monotonic() + 60)
        message = ForwardMsg(hash="h1")
        message.metadata.cacheable = True
        message.metadata.delta_path.extend([0, 0])
        message.delta.new_element.exception.type = "ValueError"
        student._handle(message.SerializeToString())
        reference = ForwardMsg(ref_hash="h1")
        reference.metadata.delta_path.extend([0, 5])
        student._handle(reference.SerializeToString())
        student._handle(ForwardMsg(ref_hash="unknown").SerializeToString())
        return student

    student = asyncio.run(scenario())
    assert (0, 5) in student.elements  # the reference's metadata places the cached element
    assert len(student.recorder.exceptions) == 2
    assert student.recorder.cache_misses == 1
    assert "h1" in student.cache


def test_a_few_students_against_a_server_it_starts(tmp_path):
    output = tmp_path / "classroom_load.json"
    store = os.environ.get("EXPLORER_RUNS")
    main(["--students", "3", "--duration", "5", "--ramp", "1", "--dwell", "2",
          "--pages", "/,/density", "--settle", "1", "--grace", "40", "--no-static",
          "--output", str(output)])
    report = json.loads(output.read_text())
    assert os.environ.get("EXPLORER_RUNS") == store  # its own run store was only lent
    assert report["server_started_by_client"] is True
    assert report["pages"] == ["/", "/density"]
    assert report["connect_errors"]["count"] == 0
    assert report["page_loads"]["unfinished"] == 0
    assert report["page_load"]["n"] >= 3  # every student loaded at least its first page
    assert report["exceptions"]["count"] == 0, report["exceptions"]
    assert report["page_not_found"]["count"] == 0
    fragment = report["fragment"]  # these pages keep no timers (the sidebar has none since
    # a timer's request cut other fragments' runs short); what is asked is answered
    assert fragment["answered_runs"] <= fragment["requested"]
    rss = report["server"]["rss_mb"]
    assert rss["before_students"] > 0 and rss["peak"] >= rss["before_students"]
    assert report["server"]["cpu_seconds"] > 0
    metrics = report["server"]["streamlit_metrics"]
    assert metrics["before_students"]["active_sessions"] == 0
    assert metrics["after_1s"]["active_sessions"] == 0  # closed tabs are no longer active
