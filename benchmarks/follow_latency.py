"""Presenter mode under a classroom: how long after the presenter's click do N followers
show it? One simulated presenter steps the PixelCNN sampler a row at a time; N followers
(?follow=CODE) each report when their page shows the new pixel count. Protocol-level
clients on loopback (benchmarks/classroom_load.py), so no browser shares the CPU.
Writes benchmarks/results/follow_latency.json.

Run: python -m benchmarks.follow_latency [--followers 30] [--clicks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

from benchmarks.classroom_load import LoadConfig, Recorder, Student, launch_server, warm_up
from benchmarks.common import percentiles, write_results
from benchmarks.step_click import DATA

DEBUG = False
LOG = None  # a path: the server's output goes there


def pixels_shown(student: Student) -> int | None:
    """The "Pixels sampled" metric on a student's page, or None."""
    for element in student.elements.values():
        if element.WhichOneof("type") == "metric" and element.metric.label == "Pixels sampled":
            return int(element.metric.body.split("/")[0])
    return None


def code_shown(student: Student) -> str | None:
    for element in student.elements.values():
        if element.WhichOneof("type") == "code":
            match = re.search(r"follow=(\w+)", element.code.code_text)
            if match:
                return match.group(1)
    return None


async def press(student: Student, label: str) -> None:
    """Click a button by its label, in its fragment when it has one."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    path, button = next(((p, e.button) for p, e in sorted(student.elements.items())
                         if e.WhichOneof("type") == "button" and e.button.label == label))
    trigger = WidgetState(id=button.id, trigger_value=True)
    fragment = student.element_fragment.get(path, "")
    if not fragment:
        await student._full_run(student.page, record=False, extra_states=[trigger],
                                page_script_hash=student.pages.get(student.page, ""))
        return
    waiter = asyncio.get_running_loop().create_future()
    student.fragment_waiters[fragment] = waiter
    student._send_rerun(page_script_hash=student.pages.get(student.page, ""),
                        fragment_id=fragment, extra_states=[trigger])
    await asyncio.wait_for(waiter, 60)


async def measure(url: str, followers: int, clicks: int) -> dict:
    config = LoadConfig(students=followers, fetch_static=False, warmup=False)
    deadline = time.monotonic() + 900
    # the lecturer's server has been up a while: its models are loaded and the page's
    # gallery drawn before the class joins
    await warm_up(url, config, ["autoregressive"], deadline)
    lead = Student("presenter", url, config, Recorder(), deadline)
    assert await lead.open("autoregressive")
    await press(lead, "Present")
    code = code_shown(lead)
    assert code, "no follow code shown"
    crowd = [Student(f"f{i}", url, config, Recorder(), deadline) for i in range(followers)]
    for student in crowd:
        student.query_string = f"follow={code}"
    joined = time.perf_counter()
    await asyncio.gather(*(s.open("") for s in crowd))
    # steady following is measured, not joining: wait until every follower shows the
    # presenter's page (the time that took is reported as join_s)
    until = time.perf_counter() + 60
    while time.perf_counter() < until and any(pixels_shown(s) != pixels_shown(lead)
                                              for s in crowd):
        await asyncio.sleep(0.05)
    join_s = time.perf_counter() - joined
    caught_up = sum(pixels_shown(s) == pixels_shown(lead) for s in crowd)
    await asyncio.sleep(1.0)
    latencies, missed, per_click = [], 0, []
    for _ in range(clicks):
        target = (pixels_shown(lead) or 0) + 28
        started = time.perf_counter()
        await press(lead, "Step 1 row")
        pressed = 1000 * (time.perf_counter() - started)
        arrived: dict[str, float] = {}
        until = time.perf_counter() + 15
        while len(arrived) < followers and time.perf_counter() < until:
            for student in crowd:
                if student.name not in arrived and pixels_shown(student) == target:
                    arrived[student.name] = 1000 * (time.perf_counter() - started)
            await asyncio.sleep(0.01)
        latencies += arrived.values()
        per_click.append([round(pressed), round(min(arrived.values(), default=0)),
                          round(max(arrived.values(), default=0))])
        missed += followers - len(arrived)
        if len(arrived) < followers and DEBUG:
            print("target", target, "missing", [(s.name, pixels_shown(s), s.page,
                                                 list(s.trace)[-3:]) for s in crowd
                                                if s.name not in arrived])
        await asyncio.sleep(1.0)
    for student in [lead, *crowd]:
        await student.close()
    return {"latency_ms": percentiles(latencies), "join_s": round(join_s, 2),
            "followers_caught_up_before_clicking": caught_up,
            "presenter_first_last_ms_per_click": per_click,
            "missed_updates": missed,
            "updates_expected": followers * clicks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=30)
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    with launch_server(env={"EXPLORER_DATA": str(DATA)}, log=LOG) as server:
        result = asyncio.run(measure(server.url, args.followers, args.clicks))
    write_results("follow_latency", {
        "followers": args.followers, "clicks": args.clicks, **result, "goal_p95_ms": 1000,
        "what": "presenter presses 'Step 1 row' on the PixelCNN page; time until each "
                "follower's page shows the new pixel count (protocol clients on loopback, "
                "one server process), after one warm-up visit to the page and once every "
                "follower shows the presenter's view; join_s: from the followers opening "
                "the link until all of them show it"})


if __name__ == "__main__":
    main()
