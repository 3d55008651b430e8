"""Classroom load: N simulated students on one Streamlit server, speaking its websocket protocol.

A student here is what one browser tab sends and receives, without a browser eating the CPU:
it opens a page by deep link, clicks through the navigation, nudges the first slider of each
page, runs the browser's auto-rerun timers for live fragments and fetches the images it is
shown. The client measures what the students wait for and what the server pays for it.

Wire protocol (streamlit 1.67; read from streamlit/web/server/starlette/starlette_websocket.py,
streamlit/runtime/app_session.py, runtime/scriptrunner_utils/script_requests.py and the
frontend's App.tsx, WidgetStateManager and ForwardMessageCache):

- A tab GETs the page (index.html for any path), the scripts it names, /_stcore/health and
  /_stcore/host-config, then opens the websocket /_stcore/stream with the subprotocol
  "streamlit" (the header's second and third entries carry an XSRF token and a session id
  to resume; a new tab sends neither). Both directions carry binary protobufs.
- BackMsg.rerun_script(ClientState) asks for a script run. The first names the page by its
  URL path (page_name: "elbo_lab"; "" is the default page); a navigation click names it by
  page_script_hash (from the ForwardMsg.navigation pages) and drops the page's widget
  states. A widget change sends all widget states the tab holds (WidgetStates, ids from the
  Element protos) plus the fragment_id of the fragment holding the widget, if any.
- ForwardMsg.new_session opens each run; metadata.run names it (script_run_id) and, for a
  fragment run, its fragment ids. Deltas carry elements (delta.fragment_id marks fragment
  content), ForwardMsg.auto_rerun(fragment_id, interval) arms a fragment timer, and
  script_finished ends the run: FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
  FINISHED_EARLY_FOR_RERUN (st.rerun or a newer request) or FINISHED_WITH_COMPILE_ERROR.
  Messages of 10 kB or more are cacheable: the tab lists the hashes it holds in
  cached_message_hashes and the server then sends ref_hash instead of the message.
- Fragment timers: the browser calls setInterval(interval) and sends
  rerun_script(fragment_id, is_auto_rerun) at every tick, without waiting for the previous
  fragment run to finish; a full-app new_session clears every timer and stop_auto_rerun
  clears some. The server folds a request for a fragment already queued into the queued one,
  so under load fewer fragment runs happen than requests are sent ("answered/requested").
  --fragment-timer after-finish sends the next request only after the previous one was
  answered (what a gentler client would do), for comparison.
- Image URLs (/media/<hash>.png) live in the server's memory until the session's next run
  replaces them; a fetch that comes too late gets 404.

The server's RSS and CPU seconds come from /proc/<pid>/status and /proc/<pid>/stat of the
server process the client started (or was given, or found listening on the port).
Streamlit keeps the sessions of closed tabs for server.disconnectedSessionTTL (120 s) so a
reconnecting tab can resume, and reaps expired ones only when another session is stored
(a later disconnect): --settle 130 with the closing probe visit measures memory after that.

With --start-lab-run the lecturer starts the ELBO lab's run and leaves; the run's steps per
second are read from the run store for 20 s with nobody watching, then again while the
students watch (after their ramp), and lab_run.watched_vs_unwatched_speed is the ratio of
the two, measured in one run. A lecturer comes back at the end and presses Stop.

Run (loopback only; it stops by itself after --duration plus at most --grace seconds):
    python -m benchmarks.classroom_load --students 10 --duration 60 --scenario browse
    python -m benchmarks.classroom_load --students 30 --scenario watch --pages elbo_lab \
        --start-lab-run
    python -m benchmarks.classroom_load --url http://127.0.0.1:8501 --server-pid 1234
Writes benchmarks/results/classroom_load.json (or --output PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from benchmarks.common import ROOT, wait_healthy, write_results
from explorer import elbo_lab, lab_runs
from explorer.run_store import RunStore, default_root

SCENARIOS = ("browse", "watch")
FRAGMENT_TIMERS = ("interval", "after-finish")
FIRST_EXAMPLES = 5  # how many exception / error texts the report quotes
MEDIA_PARALLEL = 6  # a browser's connections per host
WATCH_POLL_S = 0.25  # as POLL_MS in app_pages/components/presentation_watcher.js
AFTER_FINISH_WAIT_S = 30.0  # --fragment-timer after-finish: give up on an unanswered request
TRACE_LENGTH = 200  # protocol events kept since a student's last full-app rerun (report)
NUDGE_WAIT_S = 30.0  # a fragment's slider change unanswered this long is counted as lost
ASSET_PATTERN = re.compile(r'(?:src|href)="\./(static/[^"]+)"')


@dataclass
class LoadConfig:
    """One load run. Times in seconds."""

    students: int = 10
    duration_s: float = 60.0  # students stop starting new actions after this
    grace_s: float = 60.0  # hard deadline = duration + grace: unfinished work is cut off
    scenario: str = "browse"  # "browse": every page in turn; "watch": stay on one page
    pages: list[str] | None = None  # URL paths without "/" ("" = home); None = every page
    ramp_s: float = 5.0  # students arrive evenly spread over this time
    dwell_s: float = 5.0  # mean time on a page before the next click (browse), +-50 %
    fragment_timer: str = "interval"  # "interval" (the browser's setInterval) or "after-finish"
    start_lab_run: bool = False  # a lecturer presses the ELBO lab's Start, and Stop at the end
    unwatched_s: float = 20.0  # the run's speed is measured this long before the students come
    lab_page: str = "elbo_lab"
    fetch_static: bool = True  # a first visit GETs index.html's scripts like an empty cache
    warmup: bool = True  # one visitor opens every page first, so models are loaded
    settle_s: float = 10.0  # wait after the students leave before measuring RSS again
    probe: bool = True  # then one visit to the home page (reaps expired closed sessions)
    seed: int = 0
    cookies: tuple[str, ...] = ()  # student i sends cookies[i % len] ("key=value"): identities


def require_loopback(url: str) -> None:
    """Refuse any server that is not on this machine: this is a load generator."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"refusing a non-loopback URL {url!r}: the load client runs on loopback "
                     "only (127.0.0.0/8, ::1, localhost)")


def summary_ms(samples_ms: list[float]) -> dict:
    """p50/p95 in ms and the count; None when nothing was measured."""
    if not samples_ms:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    ordered = sorted(samples_ms)

    def at(q: float) -> float:  # linear interpolation, as numpy.percentile
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return {"p50_ms": round(at(0.50), 1), "p95_ms": round(at(0.95), 1), "n": len(ordered)}


# ---- the server process ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    pid: int | None
    process: subprocess.Popen | None = None  # set when this module started it


@contextmanager
def launch_server(port: int | None = None, extra_args: tuple[str, ...] = (),
                  env: dict[str, str] | None = None, log: Path | None = None,
                  timeout: float = 120.0, script: str = "streamlit_app.py"
                  ) -> Iterator[Server]:
    """Run `streamlit run <script>` (relative to the repo root) on 127.0.0.1:<port>; stop it
    on exit.

    Raises RuntimeError when /_stcore/health does not answer within `timeout` seconds.
    """
    port = port or free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / script),
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", *extra_args]
    output = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, process, timeout)
        except RuntimeError:
            raise RuntimeError(f"streamlit did not start on {url}") from None
        yield Server(url, process.pid, process)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if log:
            output.close()


def find_listening_pid(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:<port> (via /proc), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return int(pid)
    return None


def rss_mb(pid: int) -> float | None:
    """Resident set size of `pid` in MB (VmRSS in /proc/<pid>/status), None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of all threads of `pid` (/proc/<pid>/stat fields 14, 15)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            after_name = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


class ProcessMonitor:
    """Samples a process's RSS every `interval` seconds while the load runs."""

    def __init__(self, pid: int | None, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.peak_mb: float | None = None
        self._task: asyncio.Task | None = None

    def rss(self) -> float | None:
        value = rss_mb(self.pid) if self.pid else None
        if value is not None:
            self.peak_mb = max(self.peak_mb or 0.0, value)
        return value

    def cpu(self) -> float | None:
        return cpu_seconds(self.pid) if self.pid else None

    def start(self) -> None:
        async def sample() -> None:
            while True:
                self.rss()
                await asyncio.sleep(self.interval)
        self._task = asyncio.create_task(sample())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


# ---- what the students measured --------------------------------------------------------


@dataclass
class Recorder:
    """Everything the students saw, in ms where it is a time. One per run, one event loop."""

    page_load_ms: list[float] = field(default_factory=list)  # rerun sent -> script_finished
    page_load_by_page: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    page_load_by_kind: dict[str, list[float]] = field(  # "deep_link /x", "navigation /x"
        default_factory=lambda: defaultdict(list))
    first_open_ms: list[float] = field(default_factory=list)  # GET page -> script_finished
    nudge_ms: list[float] = field(default_factory=list)  # slider change -> its run finished
    fragment_ms: list[float] = field(default_factory=list)  # first served request -> finished
    fragment_requests: int = 0  # timer requests sent
    watch_requests: int = 0  # presentation watchers' reads of the version file
    fragment_runs_answered: int = 0  # fragment runs that finished and served >= 1 request
    requests_served: int = 0  # requests a finished fragment run served
    requests_superseded: int = 0  # pending when a full-app run started (it repaints all)
    requests_cut_short: int = 0  # their fragment run started but never finished
    requests_pending_at_end: int = 0
    page_loads_started: int = 0
    page_loads_unfinished: int = 0  # no script_finished before the hard deadline
    nudges_skipped: int = 0  # pages without an enabled slider
    nudges_unanswered: int = 0  # a slider change whose run was cut short or never answered
    unanswered_traces: dict[str, list[str]] = field(default_factory=dict)  # the first few
    exceptions: list[str] = field(default_factory=list)
    error_alerts: list[str] = field(default_factory=list)
    page_not_found: list[str] = field(default_factory=list)
    media_requested: int = 0
    media_status: Counter = field(default_factory=Counter)
    media_first_errors: list[str] = field(default_factory=list)
    cache_misses: int = 0  # ref_hash for a message this client never got
    connect_errors: list[str] = field(default_factory=list)
    closed_by_server: int = 0
    cut_off_at_deadline: list[str] = field(default_factory=list)  # "student3: what it awaited"
    cut_off_traces: dict[str, list[str]] = field(default_factory=dict)  # their last events

    def report(self) -> dict:
        media_errors = sum(n for status, n in self.media_status.items() if status != 200)
        requested = self.fragment_requests
        return {
            "page_load": summary_ms(self.page_load_ms),
            "page_load_by_page": {f"/{page}": summary_ms(values)
                                  for page, values in sorted(self.page_load_by_page.items())},
            "page_load_by_kind_and_page": {key: summary_ms(values) for key, values
                                           in sorted(self.page_load_by_kind.items())},
            "first_open": summary_ms(self.first_open_ms),
            "slider_nudge": summary_ms(self.nudge_ms),
            "fragment": {
                **summary_ms(self.fragment_ms),
                "requested": requested,
                "answered_runs": self.fragment_runs_answered,
                "answered_per_request": round(self.fragment_runs_answered / requested, 3)
                if requested else None,
                "requests_served": self.requests_served,
                "requests_superseded_by_full_run": self.requests_superseded,
                "requests_cut_short": self.requests_cut_short,
                "requests_pending_at_end": self.requests_pending_at_end,
            },
            "page_loads": {"started": self.page_loads_started,
                           "unfinished": self.page_loads_unfinished},
            "nudges_skipped_no_slider": self.nudges_skipped,
            "nudges_unanswered": {"count": self.nudges_unanswered,
                                  "traces": self.unanswered_traces},
            "exceptions": {"count": len(self.exceptions),
                           "first": self.exceptions[:FIRST_EXAMPLES]},
            "error_alerts": {"count": len(self.error_alerts),
                             "first": list(dict.fromkeys(self.error_alerts))[:FIRST_EXAMPLES]},
            "page_not_found": {"count": len(self.page_not_found),
                               "first": self.page_not_found[:FIRST_EXAMPLES]},
            "media": {"requested": self.media_requested, "errors": media_errors,
                      "by_status": {str(k): v for k, v in sorted(self.media_status.items())},
                      "first_errors": self.media_first_errors[:FIRST_EXAMPLES]},
            "message_cache_misses": self.cache_misses,
            "connect_errors": {"count": len(self.connect_errors),
                               "first": self.connect_errors[:FIRST_EXAMPLES]},
            "closed_by_server": self.closed_by_server,
            "cut_off_at_deadline": {
                "count": len(self.cut_off_at_deadline),
                "first": self.cut_off_at_deadline[:FIRST_EXAMPLES],
                "traces": dict(list(self.cut_off_traces.items())[:FIRST_EXAMPLES])},
        }


# ---- HTTP (a few GETs on loopback need no library) ----------------------------------------


async def http_get(host: str, port: int, target: str, cookies: dict[str, str],
                   timeout: float = 60.0) -> tuple[int, bytes, list[str]]:
    """GET over HTTP/1.1 with Connection: close; returns (status, body, Set-Cookie values).

    The body is returned raw: no Accept-Encoding is sent, so it is never compressed, and a
    chunked body keeps its framing (callers only search it or count its bytes).
    """
    async def fetch() -> tuple[int, bytes, list[str]]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
            request = (f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                       "User-Agent: classroom-load\r\nAccept: */*\r\nConnection: close\r\n"
                       + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n")
            writer.write(request.encode("latin-1"))
            await writer.drain()
            raw = await reader.read(-1)
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        set_cookies = [line.split(":", 1)[1].strip() for line in lines[1:]
                       if line.lower().startswith("set-cookie:")]
        return status, body, set_cookies
    return await asyncio.wait_for(fetch(), timeout)


METRIC_LINE = re.compile(r'^cache_memory_bytes\{cache_type="([^"]*)",cache="([^"]*)"\} (\S+)$')


async def server_metrics(base_url: str, timeout: float = 30.0) -> dict | None:
    """Streamlit's own accounting (/_stcore/metrics): open sessions and the memory of its
    caches and of all sessions' state, in MB; None if the endpoint does not answer.

    RSS says how much the process holds; this says how much of it Streamlit can name, so
    memory that stays after the students left can be told apart from session state.
    """
    parts = urlsplit(base_url)
    target = (f"{parts.path.rstrip('/')}/_stcore/metrics"
              "?families=cache_memory_bytes&families=active_sessions")
    try:
        status, body, _ = await http_get(parts.hostname or "127.0.0.1", parts.port or 80,
                                         target, {}, timeout)
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        return None
    if status != 200:
        return None
    by_type: Counter = Counter()
    by_cache: Counter = Counter()
    sessions = None
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("active_sessions "):
            sessions = int(float(line.split()[1]))
        elif match := METRIC_LINE.match(line):
            cache_type, cache, value = match.groups()
            by_type[cache_type] += float(value) / 2**20
            by_cache[f"{cache} ({cache_type})" if cache else cache_type] += float(value) / 2**20
    return {"active_sessions": sessions,
            "memory_mb_by_type": {k: round(v, 1) for k, v in sorted(by_type.items())},
            "largest_mb": [[name, round(mb, 1)] for name, mb in by_cache.most_common(5)]}


# ---- one student ----------------------------------------------------------------------


class Student:
    """One browser tab, on the wire. All methods run on one asyncio event loop."""

    def __init__(self, name: str, base_url: str, config: LoadConfig, recorder: Recorder,
                 deadline: float, cookie: str | None = None):
        parts = urlsplit(base_url)
        self.name, self.config, self.recorder, self.deadline = name, config, recorder, deadline
        self.activity_end = deadline  # the scenario's end of new actions (<= deadline)
        self.doing = "nothing yet"  # what it is waiting for (reported if the deadline cuts it)
        self.trace: deque[str] = deque(maxlen=TRACE_LENGTH)  # its last reruns and run events
        self.born = time.monotonic()
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base_path = parts.path.rstrip("/")
        self.ws_url = f"ws://{self.host}:{self.port}{self.base_path}/_stcore/stream"
        self.cookies: dict[str, str] = {}
        if cookie:  # "key=value", e.g. a sticky-session route a proxy hashes
            key, _, value = cookie.partition("=")
            self.cookies[key] = value
        self.ws = None
        self.receiver: asyncio.Task | None = None
        self.closed = False
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path -> page_script_hash (from navigation)
        self.page = ""  # url path of the page shown
        self.elements: dict[tuple[int, ...], object] = {}  # delta path -> Element
        self.element_fragment: dict[tuple[int, ...], str] = {}
        self.widget_states: dict[str, object] = {}  # widget id -> WidgetState proto
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment id -> timer
        self.watched: dict[str, dict] = {}  # presentation watcher id -> its data and fragment
        self.watch_task: asyncio.Task | None = None
        self.pending: dict[str, list[float]] = defaultdict(list)  # fid -> request times
        self.serving: dict[str, dict[str, list[float]]] = {}  # run id -> fid -> times
        self.answered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.full_waiter: asyncio.Future | None = None
        self.fragment_waiters: dict[str, asyncio.Future] = {}
        self.cache: dict[str, tuple[bytes, int]] = {}  # hash -> (message, run count)
        self.run_count = 0
        self.max_cache_age = 2
        self.media_slots = asyncio.Semaphore(MEDIA_PARALLEL)
        self.background: set[asyncio.Task] = set()
        self.query_string = ""  # the URL's query (e.g. "follow=ABCD"), sent with every rerun

    # -- lifecycle

    async def open(self, page: str, resume_session_id: str = "") -> bool:
        """Open http://host/<page> in a new tab: page GETs, websocket, first script run.

        With `resume_session_id` it reconnects like a tab whose websocket dropped: the server
        that still holds that session resumes it (new_session then carries the same id).
        """
        from websockets.asyncio.client import connect

        self.doing = f"opening /{page}"
        started = time.perf_counter()
        try:
            status, body, set_cookies = await http_get(self.host, self.port,
                                                       f"{self.base_path}/{page}", self.cookies)
            self._keep_cookies(set_cookies)
            if status != 200:
                raise ConnectionError(f"GET /{page} answered {status}")
            if self.config.fetch_static:
                assets = dict.fromkeys(ASSET_PATTERN.findall(body.decode("utf-8", "replace")))
                await asyncio.gather(*(self._get(f"{self.base_path}/{a}") for a in assets))
            for endpoint in ("_stcore/health", "_stcore/host-config"):
                await self._get(f"{self.base_path}/{endpoint}")
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            # what the browser sends: "streamlit", then the XSRF cookie (or a placeholder),
            # then the id of the session to resume, if any
            protocols = ["streamlit", self.cookies.get("_streamlit_xsrf", "PLACEHOLDER_AUTH_TOKEN"),
                         *([resume_session_id] if resume_session_id else [])]
            self.ws = await connect(
                self.ws_url, subprotocols=protocols, origin=f"http://{self.host}:{self.port}",
                additional_headers={"Cookie": cookie} if cookie else None, proxy=None,
                max_size=None, ping_interval=None, open_timeout=max(1.0, self._left()),
                user_agent_header="classroom-load")
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            self.recorder.connect_errors.append(f"{self.name}: {type(exc).__name__}: {exc}")
            self.closed = True
            return False
        self.receiver = asyncio.create_task(self._receive())
        loaded = await self._full_run(page, page_name=page, kind="deep_link")
        if loaded is not None:
            self.recorder.first_open_ms.append(1000 * (time.perf_counter() - started))
        return loaded is not None

    async def close(self) -> None:
        """Close the tab: timers stop, the websocket closes, pending work is counted."""
        for _, timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        if self.watch_task is not None:
            self.watch_task.cancel()
        self.recorder.requests_pending_at_end += sum(len(v) for v in self.pending.values())
        self.recorder.requests_pending_at_end += sum(
            len(times) for run in self.serving.values() for times in run.values())
        self.pending.clear()
        self.serving.clear()
        self.closed = True
        if self.ws is not None:
            with suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.receiver is not None:
            self.receiver.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.receiver
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)

    # -- what a student does

    async def navigate(self, page: str) -> bool:
        """Click the navigation link to `page` (a rerun naming its page_script_hash)."""
        page_hash = self.pages.get(page)
        if page_hash is None:  # not in the navigation: the browser would load the URL
            return await self._full_run(page, page_name=page) is not None
        self.widget_states.clear()  # a page change keeps only the shared script's widgets
        self._drop_timers()  # the browser's onPageChange clears them before the rerun
        return await self._full_run(page, page_script_hash=page_hash) is not None

    def first_slider(self):
        """(Element.slider, its fragment id) of the page's first enabled slider, or None."""
        for path in sorted(self.elements):
            element = self.elements[path]
            if element.WhichOneof("type") == "slider" and not element.slider.disabled:
                return element.slider, self.element_fragment.get(path, "")
        return None

    async def nudge_first_slider(self) -> bool:
        """Move the first enabled slider one step (down at its maximum) and time the run."""
        from streamlit.proto.Slider_pb2 import Slider
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        found = self.first_slider()
        if found is None:
            self.recorder.nudges_skipped += 1
            return False
        slider, fragment_id = found
        select = slider.type == Slider.Type.SELECT_SLIDER
        options = list(slider.options)
        if select and slider.raw_value:  # a value set from session state, as option labels
            current = [float(options.index(v)) for v in slider.raw_value if v in options]
        else:
            current = list(slider.value) or list(slider.default)
        if not current:
            self.recorder.nudges_skipped += 1
            return False
        first = current[0] + slider.step
        if first > slider.max:
            first = current[0] - slider.step
        values = [min(max(first, slider.min), slider.max), *current[1:]]
        state = WidgetState(id=slider.id)
        if select:
            state.string_array_value.data.extend(options[int(v)] for v in values)
        else:
            state.double_array_value.data.extend(values)
        self.widget_states[slider.id] = state
        started = time.perf_counter()
        self.trace = deque(list(self.trace)[-4:], maxlen=TRACE_LENGTH)
        self._note(f"nudge {slider.label!r} to {values}")
        if fragment_id:
            done = await self._fragment_run(fragment_id)
        else:
            done = await self._full_run(self.page, page_script_hash=self.pages.get(self.page, ""),
                                        record=False, wait_s=self._widget_wait()) is not None
        if done:
            self.recorder.nudge_ms.append(1000 * (time.perf_counter() - started))
        else:
            self.recorder.nudges_unanswered += 1
            if len(self.recorder.unanswered_traces) < FIRST_EXAMPLES:
                self.recorder.unanswered_traces[f"{self.name} on /{self.page}"] = list(self.trace)
        return done

    def find_button(self, key: str):
        """The Button proto whose user key or label is `key`, or None."""
        for path in sorted(self.elements):
            element = self.elements[path]
            if element.WhichOneof("type") == "button" and (
                    element.button.id.endswith(f"-{key}") or element.button.label == key):
                return element.button
        return None

    async def press_button(self, key: str) -> bool:
        """Click a button (a trigger_value sent once); False if it is absent or disabled."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        button = self.find_button(key)
        if button is None or button.disabled:
            return False
        trigger = WidgetState(id=button.id, trigger_value=True)
        result = await self._full_run(self.page, page_script_hash=self.pages.get(self.page, ""),
                                      record=False, extra_states=[trigger])
        return result is not None

    def texts(self) -> list[str]:
        """Markdown bodies on the page (captions, st.markdown, st.write of strings)."""
        return [e.markdown.body for e in self.elements.values()
                if e.WhichOneof("type") == "markdown"]

    async def dwell(self, seconds: float) -> None:
        """Stay on the page (its fragment timers keep running)."""
        self.doing = f"staying on /{self.page}"
        await asyncio.sleep(max(0.0, min(seconds, self._left())))

    # -- requests

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _note(self, event: str) -> None:
        self.trace.append(f"{time.monotonic() - self.born:.2f}s {event}")

    def _send_rerun(self, page_name: str = "", page_script_hash: str = "",
                    fragment_id: str = "", auto: bool = False, extra_states=()) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_name = page_name
        state.page_script_hash = page_script_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend([*self.widget_states.values(), *extra_states])
        state.cached_message_hashes.extend(self.cache)
        if not fragment_id:  # keep what follows a full-app rerun, and a little before it
            self.trace = deque(list(self.trace)[-4:], maxlen=TRACE_LENGTH)
        self._note(f"sent rerun /{self.page}" + (f" fragment {fragment_id[:6]}" if fragment_id
                                                else (" page " + (page_name or page_script_hash[:6]))))
        context = state.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url = f"http://{self.host}:{self.port}{self.base_path}/{self.page}"
        context.is_embedded, context.color_scheme = False, "light"
        self._spawn(self.ws.send(message.SerializeToString()))

    def _spawn(self, coroutine) -> None:
        """Run in the background; a send on a closed websocket is the receiver's to report."""
        def finished(task: asyncio.Task) -> None:
            self.background.discard(task)
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it
        task = asyncio.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(finished)

    def _widget_wait(self) -> float:
        """How long to wait for a widget change's run: NUDGE_WAIT_S past the activity's end."""
        return max(0.1, min(self._left(),
                            max(self.activity_end - time.monotonic(), NUDGE_WAIT_S)))

    async def _full_run(self, page: str, page_name: str = "", page_script_hash: str = "",
                        record: bool = True, extra_states=(), kind: str = "navigation",
                        wait_s: float | None = None) -> float | None:
        """Send a full-app rerun and wait for its script_finished; its time in ms or None.

        `kind` files a recorded page load under "deep_link" (a session's first run) or
        "navigation" (a click to another page of the same session). It waits `wait_s`
        seconds, or until the hard deadline.
        """
        if self.closed:
            return None
        self.page = page
        self.doing = f"{kind if record else 'a widget run'} on /{page}"
        waiter = asyncio.get_running_loop().create_future()
        self.full_waiter = waiter
        if record:
            self.recorder.page_loads_started += 1
        started = time.perf_counter()
        self._send_rerun(page_name=page_name, page_script_hash=page_script_hash,
                         extra_states=extra_states)
        try:
            await asyncio.wait_for(waiter, max(0.1, self._left() if wait_s is None else wait_s))
        except (asyncio.TimeoutError, ConnectionError):
            if record:
                self.recorder.page_loads_unfinished += 1
            return None
        except asyncio.CancelledError:  # the hard deadline
            if record:
                self.recorder.page_loads_unfinished += 1
            raise
        elapsed = 1000 * (time.perf_counter() - started)
        if record:
            self.recorder.page_load_ms.append(elapsed)
            self.recorder.page_load_by_page[page].append(elapsed)
            self.recorder.page_load_by_kind[f"{kind} /{page}"].append(elapsed)
        return elapsed

    async def _fragment_run(self, fragment_id: str) -> bool:
        """A widget change inside a fragment: rerun that fragment and wait until it finished.

        False when its run was cut short, or no answer came within NUDGE_WAIT_S past the
        end of the student's activity: a request for one fragment that arrives while
        another fragment runs can cut that run short, and then nothing may ever answer.
        """
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if self.closed:
            return False
        self.doing = f"a fragment's slider on /{self.page}"
        waiter = asyncio.get_running_loop().create_future()
        self.fragment_waiters[fragment_id] = waiter
        self._send_rerun(page_script_hash=self.pages.get(self.page, ""), fragment_id=fragment_id)
        try:
            status = await asyncio.wait_for(waiter, self._widget_wait())
        except (asyncio.TimeoutError, ConnectionError):
            status = None
        if status is None or status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.fragment_waiters.pop(fragment_id, None)
            return False
        return True

    def _arm_timer(self, fragment_id: str, interval: float) -> None:
        """ForwardMsg.auto_rerun: the browser's setInterval for one fragment."""
        current = self.timers.get(fragment_id)
        if current and current[0] == interval:
            return
        if current:
            current[1].cancel()
        self.timers[fragment_id] = (interval, asyncio.create_task(
            self._timer(fragment_id, interval)))

    async def _timer(self, fragment_id: str, interval: float) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time() + interval
        while not self.closed:
            await asyncio.sleep(max(0.0, tick - loop.time()))
            tick = max(tick + interval, loop.time())  # setInterval skips missed ticks
            if self.closed:
                return
            self.answered[fragment_id].clear()
            self.pending[fragment_id].append(time.perf_counter())
            self.recorder.fragment_requests += 1
            self._send_rerun(page_script_hash=self.pages.get(self.page, ""),
                             fragment_id=fragment_id, auto=True)
            if self.config.fragment_timer == "after-finish":  # answered, cut short or lost
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.answered[fragment_id].wait(), AFTER_FINISH_WAIT_S)
                tick = loop.time() + interval

    def _drop_timers(self, fragment_ids=None) -> None:
        for fragment_id in list(self.timers if fragment_ids is None else fragment_ids):
            timer = self.timers.pop(fragment_id, None)
            if timer:
                timer[1].cancel()

    # -- what the server sends

    async def _receive(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for data in self.ws:
                self._handle(data)
        except ConnectionClosed:
            pass
        finally:
            if not self.closed:
                self.recorder.closed_by_server += 1
                self.closed = True
            for waiter in [self.full_waiter, *self.fragment_waiters.values()]:
                if waiter and not waiter.done():
                    waiter.set_exception(ConnectionError("websocket closed"))
            for event in self.answered.values():
                event.set()

    def _handle(self, data: bytes) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = ForwardMsg.FromString(data)
        if message.WhichOneof("type") == "ref_hash":
            cached = self.cache.get(message.ref_hash)
            if cached is None:
                self.recorder.cache_misses += 1
                return
            metadata = message.metadata
            message = ForwardMsg.FromString(cached[0])
            message.metadata.CopyFrom(metadata)
        elif message.metadata.cacheable and message.hash:
            self.cache.setdefault(message.hash, (data, self.run_count))
        kind = message.WhichOneof("type")
        if kind in ("new_session", "script_finished"):
            run = message.metadata.run
            status = (f" {ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)}"
                      if kind == "script_finished" else "")
            self._note(f"got {kind}{status} run {run.script_run_id[:6]}"
                       + (f" fragments {','.join(f[:6] for f in run.fragment_ids)}"
                          if run.fragment_ids else ""))
        if kind == "new_session":
            self._on_new_session(message)
        elif kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash
                          for page in message.navigation.app_pages}
        elif kind == "delta":
            self._on_delta(message)
        elif kind == "auto_rerun":
            self._arm_timer(message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            self._drop_timers(message.stop_auto_rerun.fragment_ids)
        elif kind == "script_finished":
            self._on_script_finished(message)
        elif kind == "page_info_changed":  # the app changed the URL's query, as a browser
            self.query_string = message.page_info_changed.query_string  # keeps it
        elif kind == "page_not_found":
            self.recorder.page_not_found.append(f"/{message.page_not_found.page_name}")
        elif kind == "session_event" and message.session_event.HasField(
                "script_compilation_exception"):
            error = message.session_event.script_compilation_exception
            self.recorder.exceptions.append(f"{error.type}: {error.message}")

    def _on_new_session(self, message) -> None:
        session = message.new_session
        if session.initialize.session_id:
            self.session_id = session.initialize.session_id
        self.max_cache_age = session.config.max_cached_message_age or self.max_cache_age
        run = message.metadata.run
        fragment_ids = list(run.fragment_ids)
        if not fragment_ids:  # a full-app run repaints everything and resets the timers
            shown = next((path for path, page_hash in self.pages.items()
                          if page_hash == session.page_script_hash), None)
            if shown is not None:  # the app may have switched pages (st.switch_page)
                self.page = shown
            self._drop_timers()
            self.elements.clear()
            self.element_fragment.clear()
            self.recorder.requests_superseded += sum(len(v) for v in self.pending.values())
            self.recorder.requests_cut_short += sum(
                len(times) for served in self.serving.values() for times in served.values())
            self.pending.clear()
            self.serving.clear()
            for event in self.answered.values():
                event.set()
            return
        # this fragment run serves every request for its fragments sent before it began
        self.serving[run.script_run_id] = {fid: self.pending.pop(fid, []) for fid in fragment_ids}

    def _on_delta(self, message) -> None:
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            return
        path = tuple(message.metadata.delta_path)
        element = delta.new_element
        self.elements[path] = element
        self.element_fragment[path] = delta.fragment_id
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.recorder.exceptions.append(
                f"/{self.page}: {element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.recorder.error_alerts.append(f"/{self.page}: {element.alert.body[:300]}")
        elif kind == "imgs":
            for image in element.imgs.imgs:
                self._fetch_media(image.url)
        elif kind in ("audio", "video") and getattr(element, kind).url:
            self._fetch_media(getattr(element, kind).url)
        elif kind == "bidi_component" and \
                element.bidi_component.component_name.endswith("presentation_watcher"):
            self._watch(element.bidi_component, delta.fragment_id)

    # -- the presentation watcher (app_pages/components/presentation_watcher.js)

    def _watch(self, component, fragment_id: str) -> None:
        """What the watcher's script does in a browser: read the presentation's version file
        every WATCH_POLL_S and, when it is newer than the version the page applied, send the
        component's trigger, which reruns the fragment holding it."""
        data = json.loads(component.json or "{}")
        self.watched = {component.id: {"url": data.get("url", ""),
                                       "applied": int(data.get("applied") or 0),
                                       "fragment": fragment_id}}
        if self.watch_task is None or self.watch_task.done():
            self.watch_task = asyncio.create_task(self._watch_loop())

    async def _watch_loop(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        asked, asked_at = 0, 0.0
        while not self.closed and self.watched:
            await asyncio.sleep(WATCH_POLL_S)
            for component_id, watched in list(self.watched.items()):
                if asked > watched["applied"] and time.monotonic() - asked_at < 2:
                    continue  # as the page's script: no reads while its change is drawn
                status, body, _ = await http_get(self.host, self.port,
                                                 urlsplit(watched["url"]).path, self.cookies,
                                                 timeout=10)
                self.recorder.watch_requests += 1
                version = int(body) if status == 200 and body.strip().isdigit() else -1
                now = time.monotonic()
                if version > watched["applied"] and (version != asked or now - asked_at > 2):
                    asked, asked_at = version, now
                    trigger = WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{component_id}__events",
                                          json_trigger_value=json.dumps(
                                              [{"event": "changed", "value": version}]))
                    self._send_rerun(page_script_hash=self.pages.get(self.page, ""),
                                     fragment_id=watched["fragment"], extra_states=[trigger])

    def _on_script_finished(self, message) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        status = message.script_finished
        run = message.metadata.run
        if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            served = self.serving.pop(run.script_run_id, {})
            now = time.perf_counter()
            times = [t for fid_times in served.values() for t in fid_times]
            if times:
                self.recorder.fragment_runs_answered += 1
                self.recorder.requests_served += len(times)
                self.recorder.fragment_ms.append(1000 * (now - min(times)))
            for fragment_id in run.fragment_ids:
                self.answered[fragment_id].set()
                waiter = self.fragment_waiters.pop(fragment_id, None)
                if waiter and not waiter.done():
                    waiter.set_result(status)
            return
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            served = self.serving.pop(run.script_run_id, {})
            self.recorder.requests_cut_short += sum(len(t) for t in served.values())
            for fragment_id in run.fragment_ids:
                self.answered[fragment_id].set()
                waiter = self.fragment_waiters.pop(fragment_id, None)
                if waiter and not waiter.done():
                    waiter.set_result(status)
            return  # the rerun that cut it short sends its own script_finished
        # FINISHED_SUCCESSFULLY or FINISHED_WITH_COMPILE_ERROR: a full run is over
        self.run_count += 1
        self.cache = {h: (m, n) for h, (m, n) in self.cache.items()
                      if self.run_count - n <= self.max_cache_age}
        for waiter in [self.full_waiter, *self.fragment_waiters.values()]:
            if waiter and not waiter.done():
                waiter.set_result(status)
        self.fragment_waiters.clear()

    # -- media and static files

    def _fetch_media(self, url: str) -> None:
        if not url or url.startswith("data:"):
            return
        if url.startswith("http"):
            require_loopback(url)
            target = urlsplit(url).path
        else:
            target = f"{self.base_path}/{url.lstrip('/')}"
        self._spawn(self._get_media(target))

    async def _get_media(self, target: str) -> None:
        self.recorder.media_requested += 1
        async with self.media_slots:
            try:
                status, _, _ = await http_get(self.host, self.port, target, self.cookies,
                                              timeout=max(1.0, self._left()))
            except (OSError, asyncio.TimeoutError, ValueError, IndexError) as exc:
                status = type(exc).__name__
        self.recorder.media_status[status] += 1
        if status != 200:
            self.recorder.media_first_errors.append(f"{target}: {status}")

    async def _get(self, target: str) -> int:
        try:
            async with self.media_slots:
                status, _, set_cookies = await http_get(self.host, self.port, target,
                                                        self.cookies,
                                                        timeout=max(1.0, self._left()))
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            return 0
        self._keep_cookies(set_cookies)
        return status

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            name, _, value = header.split(";", 1)[0].partition("=")
            if name.strip():
                self.cookies[name.strip()] = value.strip()


# ---- scenarios ------------------------------------------------------------------------


async def browse(student: Student, pages: list[str], first: int, end: float,
                 rng: random.Random) -> None:
    """Deep link to one page, then click through every page in turn until `end`."""
    order = pages[first:] + pages[:first]
    student.activity_end = end
    if not await student.open(order[0]):
        return
    step = 0
    while time.monotonic() < end and not student.closed:
        await student.nudge_first_slider()
        await student.dwell(min(end - time.monotonic(),
                                student.config.dwell_s * rng.uniform(0.5, 1.5)))
        if time.monotonic() >= end or student.closed:
            break
        step += 1
        await student.navigate(order[step % len(order)])


async def watch(student: Student, page: str, end: float) -> None:
    """Open one page, nudge its first slider once, and watch its live views until `end`."""
    student.activity_end = end
    if not await student.open(page):
        return
    await student.nudge_first_slider()
    await student.dwell(end - time.monotonic())


async def discover_pages(base_url: str, config: LoadConfig, deadline: float) -> list[str]:
    """URL paths of the app's pages, from the navigation message of a visit to the home page."""
    visitor = Student("discover", base_url, config, Recorder(), deadline)
    try:
        if not await visitor.open(""):
            raise RuntimeError(f"could not load the home page of {base_url}")
        return list(visitor.pages)
    finally:
        await visitor.close()


async def warm_up(base_url: str, config: LoadConfig, pages: list[str], deadline: float) -> None:
    """One visitor opens every page once, so models are loaded before the students come."""
    visitor = Student("warmup", base_url, replace_config(config, fetch_static=False), Recorder(),
                      deadline)
    try:
        if await visitor.open(pages[0]):
            for page in pages[1:]:
                await visitor.navigate(page)
    finally:
        await visitor.close()


def replace_config(config: LoadConfig, **changes) -> LoadConfig:
    return LoadConfig(**{**asdict(config), **changes})


async def lab_state(lecturer: Student, wanted: tuple[str, ...], timeout: float) -> str | None:
    """Wait until the lab's live caption shows one of `wanted` run states; that state or None."""
    pattern = re.compile(r"\*\*(\w+)\*\*: step")
    until = time.monotonic() + timeout
    while time.monotonic() < until and not lecturer.closed:
        for text in lecturer.texts():
            match = pattern.match(text)
            if match and match.group(1) in wanted:
                return match.group(1)
        await asyncio.sleep(0.2)
    return None


async def training_rate(seconds: float) -> float | None:
    """The lab run's optimisation steps per second of wall time over the next `seconds`, read
    from the run store this machine's server uses ($EXPLORER_RUNS); None when the run is not
    found there (a server started elsewhere with another store) or not running."""
    store = RunStore(default_root())
    first = store.status(elbo_lab.LAB_RUN)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    last = store.status(elbo_lab.LAB_RUN)
    if first is None or last is None or last.state != "running" or last.step <= first.step:
        return None
    return (last.step - first.step) / (time.monotonic() - started)


async def run_load(base_url: str, config: LoadConfig, pid: int | None) -> dict:
    """Run the scenario against `base_url`; the report as a dict (see module docstring)."""
    require_loopback(base_url)
    if config.scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    if config.fragment_timer not in FRAGMENT_TIMERS:
        raise ValueError(f"fragment_timer must be one of {FRAGMENT_TIMERS}")
    setup_deadline = time.monotonic() + 600
    monitor = ProcessMonitor(pid)
    monitor.start()
    rss_cold = monitor.rss()
    known = await discover_pages(base_url, config, setup_deadline)
    pages = known if not config.pages else [p.strip("/") for p in config.pages]
    if config.scenario == "watch":
        pages = pages[:1] if config.pages else [config.lab_page]
    if config.warmup:
        await warm_up(base_url, config, pages, setup_deadline)
        await asyncio.sleep(1.0)
    rss_before, cpu_before = monitor.rss(), monitor.cpu()
    metrics = {"before_students": await server_metrics(base_url)}
    client_cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    monitor.peak_mb = rss_before

    recorder = Recorder()
    started = time.monotonic()
    end = started + config.duration_s
    deadline = end + config.grace_s
    lab: dict = {}
    lecturer = None
    if config.start_lab_run:
        lecturer = Student("lecturer", base_url, config, Recorder(), deadline)
        await lecturer.open(config.lab_page)
        pressed = await lecturer.press_button("lab_start")
        state = await lab_state(lecturer, ("running",), 60) if pressed else None
        lab = {"start_pressed": pressed, "running": state == "running",
               "note": "" if pressed else "no enabled Start button: a run existed already?"}
        if state == "running":  # its speed with nobody watching: the lecturer leaves first
            await lecturer.close()
            await asyncio.sleep(lab_runs.WATCH_SECONDS + 1.0)  # the worker stops drawing
            lab["unwatched_steps_per_s"] = await training_rate(config.unwatched_s)
            lecturer = None
        end = time.monotonic() + config.duration_s
        deadline = end + config.grace_s
        if lecturer is not None:
            lecturer.deadline = deadline

    rng = random.Random(config.seed)
    students = [Student(f"student{i}", base_url, config, recorder, deadline,
                        config.cookies[i % len(config.cookies)] if config.cookies else None)
                for i in range(config.students)]

    async def one(index: int, student: Student) -> None:
        await asyncio.sleep(config.ramp_s * index / max(1, config.students))
        if config.scenario == "browse":
            await browse(student, pages, index % len(pages), end, random.Random(rng.random()))
        else:
            await watch(student, pages[0], end)

    tasks = [asyncio.create_task(one(i, s)) for i, s in enumerate(students)]
    watched_rate = None
    if lab.get("running"):  # training speed while everyone watches, after the ramp
        async def measure_watched() -> float | None:
            await asyncio.sleep(min(config.ramp_s + 5.0, config.duration_s / 3))
            return await training_rate(max(5.0, end - time.monotonic() - 5.0))
        watched_rate = asyncio.create_task(measure_watched())
    done, not_done = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for task in not_done:
        task.cancel()
    recorder.cut_off_at_deadline = [f"{s.name}: {s.doing}" for s, t in zip(students, tasks)
                                    if t in not_done]
    recorder.cut_off_traces = {s.name: list(s.trace) for s, t in zip(students, tasks)
                               if t in not_done}
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            recorder.connect_errors.append(f"student task: {task.exception()!r}")

    if watched_rate is not None:
        lab["watched_steps_per_s"] = await watched_rate
        if lab["watched_steps_per_s"] and lab.get("unwatched_steps_per_s"):
            lab["watched_vs_unwatched_speed"] = round(
                lab["watched_steps_per_s"] / lab["unwatched_steps_per_s"], 3)
    if lab.get("running") and lecturer is None:  # the lecturer comes back to press Stop
        lecturer = Student("lecturer", base_url, config, Recorder(), time.monotonic() + 90)
        await lecturer.open(config.lab_page)
    if lecturer is not None:  # Stop, pressed while the students are still connected
        lecturer.deadline = time.monotonic() + 60
        stop_started = time.perf_counter()
        pressed = await lecturer.press_button("lab_stop")
        state = await lab_state(lecturer, ("stopped", "finished"), 30) if pressed else None
        lab.update(stop_pressed=pressed, stop_took_effect=state is not None,
                   stop_seconds=round(time.perf_counter() - stop_started, 2) if state else None)
    students_end = time.monotonic()
    await asyncio.gather(*(s.close() for s in students))
    if lecturer is not None:
        await lecturer.close()
    cpu_after = monitor.cpu()
    client_cpu = resource.getrusage(resource.RUSAGE_SELF)
    rss_at_close = monitor.rss()
    peak = monitor.peak_mb
    metrics["at_close"] = await server_metrics(base_url)
    await asyncio.sleep(config.settle_s)
    rss_settled = monitor.rss()
    metrics[f"after_{config.settle_s:g}s"] = await server_metrics(base_url)
    rss_probe = None
    if config.probe:
        probe = Student("probe", base_url, replace_config(config, fetch_static=False),
                        Recorder(), time.monotonic() + 120)
        if await probe.open(""):
            await probe.close()
            await asyncio.sleep(3.0)
            rss_probe = monitor.rss()
            metrics["after_probe_visit"] = await server_metrics(base_url)
        else:
            await probe.close()
    await monitor.stop()

    def mb(value: float | None) -> float | None:
        return None if value is None else round(value, 1)
    wall = students_end - started
    cpu_used = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "url": base_url,
        "config": {k: v for k, v in asdict(config).items() if k != "cookies"},
        "pages": [f"/{p}" for p in pages],
        "students_seconds": round(wall, 1),
        **recorder.report(),
        "lab_run": lab or None,
        "server": {
            "pid": pid,
            "rss_mb": {"cold": mb(rss_cold), "before_students": mb(rss_before),
                       "peak": mb(peak), "at_close": mb(rss_at_close),
                       f"after_{config.settle_s:g}s": mb(rss_settled),
                       "after_probe_visit": mb(rss_probe)},
            "rss_growth_after_leave_mb": mb(None if rss_before is None or rss_settled is None
                                            else rss_settled - rss_before),
            "cpu_seconds": mb(cpu_used),
            "cpu_cores_used": round(cpu_used / wall, 2) if cpu_used is not None and wall else None,
            "streamlit_metrics": metrics,
        },
        "client_cpu_seconds": round(
            client_cpu.ru_utime + client_cpu.ru_stime
            - client_cpu_before.ru_utime - client_cpu_before.ru_stime, 1),
        "note": "page_load: rerun sent -> script_finished (full-app run); first_open adds the "
                "page GETs and the websocket handshake; fragment: per answered fragment run, "
                "from the first request it served to its script_finished; answered_per_request "
                "= answered_runs / requested. The client shares the machine with the server.",
    }


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, LoadConfig]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of activity")
    parser.add_argument("--grace", type=float, default=60.0,
                        help="hard deadline after --duration: unfinished runs are cut off")
    parser.add_argument("--scenario", choices=SCENARIOS, default="browse")
    parser.add_argument("--pages", default="all",
                        help='comma-separated URL paths ("/", "/elbo_lab") or "all"')
    parser.add_argument("--ramp", type=float, default=5.0, help="students arrive over S s")
    parser.add_argument("--dwell", type=float, default=5.0, help="mean seconds on a page")
    parser.add_argument("--fragment-timer", choices=FRAGMENT_TIMERS, default="interval")
    parser.add_argument("--start-lab-run", action="store_true",
                        help="a lecturer presses the ELBO lab's Start first and Stop at the end")
    parser.add_argument("--no-static", action="store_true",
                        help="skip the page's script files on first visit (a warm browser cache)")
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds after the students leave before RSS is read again")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="attach to a running server (loopback) instead")
    parser.add_argument("--server-pid", type=int, help="pid of the --url server, for RSS/CPU")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra `streamlit run` argument for the server it starts")
    parser.add_argument("--output", type=Path, help="JSON path (default "
                        "benchmarks/results/classroom_load.json)")
    args = parser.parse_args(argv)
    pages = None if args.pages.strip() == "all" else [
        p.strip().strip("/") for p in args.pages.split(",")]
    config = LoadConfig(
        students=args.students, duration_s=args.duration, grace_s=args.grace,
        scenario=args.scenario, pages=pages, ramp_s=args.ramp, dwell_s=args.dwell,
        fragment_timer=args.fragment_timer, start_lab_run=args.start_lab_run,
        fetch_static=not args.no_static, warmup=not args.no_warmup, settle_s=args.settle,
        seed=args.seed)
    return args, config


def main(argv: list[str] | None = None) -> dict:
    args, config = parse_args(argv)
    if args.url:
        try:
            require_loopback(args.url)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        pid = args.server_pid or find_listening_pid(urlsplit(args.url).port or 80)
        results = asyncio.run(run_load(args.url.rstrip("/"), config, pid))
        results["server_started_by_client"] = False
    else:
        log = ROOT / ".pytest_cache" / "classroom_load_server.log" \
            if (ROOT / ".pytest_cache").is_dir() else None
        # a run store of its own, so the lecturer finds the lab's Start button (not a run
        # left by someone else); the client reads the run's speed from the same folder
        previous = os.environ.get("EXPLORER_RUNS")
        os.environ["EXPLORER_RUNS"] = tempfile.mkdtemp(prefix="classroom-runs-")
        try:
            with launch_server(extra_args=tuple(args.server_arg), log=log) as server:
                results = asyncio.run(run_load(server.url, config, server.pid))
        finally:
            if previous is None:
                os.environ.pop("EXPLORER_RUNS", None)
            else:
                os.environ["EXPLORER_RUNS"] = previous
        results["server_started_by_client"] = True
    if args.output:
        write_results(args.output.stem, results, path=args.output)
    else:
        write_results("classroom_load", results)
    return results


if __name__ == "__main__":
    main()
