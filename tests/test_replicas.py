"""Past one process: two `streamlit run` replicas behind nginx (deploy/nginx.conf) with
sticky sessions, on loopback. Pages and their images load through the proxy, every request
of one browser reaches one replica, different browsers reach both replicas, and a dropped
websocket resumes its session because it comes back to the same replica.

Skips when nginx is not installed (apt-get install nginx), except under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks.classroom_load import (
    LoadConfig,
    Recorder,
    Student,
    free_port,
    launch_server,
    run_load,
)
from benchmarks.common import wait_healthy
from tests.conftest import requires_mnist, wait_until

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
LOG_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) upstream=(?P<upstream>\S+) '
                      r'route=(?P<route>\S+)')


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None)


def render_config(template: str, listen_port: int, replica_ports: list[int]) -> str:
    """deploy/nginx.conf with this test's listening port and replicas."""
    text, count = re.subn(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{listen_port};",
                          template)
    assert count == 1, "deploy/nginx.conf should have one `listen 127.0.0.1:<port>;` line"
    servers = "".join(f"        server 127.0.0.1:{port};\n" for port in replica_ports)
    text, count = re.subn(r"(        server 127\.0\.0\.1:\d+;\n)+", servers, text)
    assert count == 1, "deploy/nginx.conf should list its replicas as `server` lines"
    return text


def read_log(prefix: Path) -> list[dict[str, str]]:
    lines = (prefix / "logs" / "access.log").read_text().splitlines()
    return [match.groupdict() for line in lines if (match := LOG_LINE.search(line))]


@pytest.fixture(scope="module")
def nginx_path() -> str:
    path = find_nginx()
    if path is None:
        reason = "nginx is not installed (apt-get install nginx)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the replica test must run in CI: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def run_store_folder() -> Path:
    """The run store both replicas share (as a machine's replicas share ~/.cache)."""
    return Path(tempfile.mkdtemp(prefix="replica-runs-"))


@pytest.fixture(scope="module")
def replicas(nginx_path, run_store_folder):
    """Two replicas sharing one cookie secret, as deploy/nginx.conf says to run them, and one
    run store."""
    env = {"STREAMLIT_SERVER_COOKIE_SECRET": "replica-test-secret",
           "EXPLORER_RUNS": str(run_store_folder)}
    with launch_server(env=env) as first, launch_server(env=env) as second:
        yield [first, second]


@pytest.fixture(scope="module")
def proxy(nginx_path, replicas):
    """nginx on a free loopback port in front of the replicas; yields (url, prefix folder)."""
    prefix = Path(tempfile.mkdtemp(prefix="nginx-replicas-"))
    prefix.chmod(0o755)  # nginx's workers may run as another user
    (prefix / "logs").mkdir()
    (prefix / "temp").mkdir()
    port = free_port()
    replica_ports = [int(server.url.rsplit(":", 1)[1]) for server in replicas]
    config = prefix / "nginx.conf"
    config.write_text(render_config(TEMPLATE.read_text(), port, replica_ports))
    process = subprocess.Popen([nginx_path, "-p", str(prefix), "-c", str(config),
                                "-g", "daemon off;"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, process, 30, poll=0.2)
        except RuntimeError:
            output = process.stdout.read().decode() if process.poll() is not None else ""
            errors = (prefix / "logs" / "error.log")
            raise RuntimeError(f"nginx did not start: {output} "
                               f"{errors.read_text() if errors.exists() else ''}") from None
        yield url, prefix
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(prefix, ignore_errors=True)


def test_render_config_replaces_port_and_replicas():
    text = render_config(TEMPLATE.read_text(), 9999, [7001, 7002, 7003])
    assert "listen 127.0.0.1:9999;" in text
    assert re.findall(r"server 127\.0\.0\.1:(\d+);", text) == ["7001", "7002", "7003"]
    assert "hash $st_route consistent;" in text
    assert "proxy_buffering off;" in text


def replica_of_routes(url: str, prefix: Path, routes: list[str]) -> dict[str, set[str]]:
    """GET /_stcore/health once per route cookie; the replicas that served each route."""
    for route in routes:
        request = urllib.request.Request(url + "/_stcore/health",
                                         headers={"Cookie": f"st_route={route}"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 200

    def logged() -> dict[str, set[str]] | None:  # nginx may write a request's line late
        served: dict[str, set[str]] = defaultdict(set)
        for entry in read_log(prefix):
            if entry["route"] in routes:
                served[entry["route"]].add(entry["upstream"])
        return served if set(served) == set(routes) else None

    return wait_until(logged, timeout=10.0)


def test_classroom_through_the_proxy_is_sticky_and_uses_both_replicas(proxy, replicas):
    url, prefix = proxy
    replica_addresses = {server.url.removeprefix("http://") for server in replicas}
    # Distinct clients spread over both replicas. The hash ring depends on the replicas'
    # (random) ports, so pick three routes that landed on each replica for the students.
    candidates = [f"client-{k}" for k in range(24)]
    served = replica_of_routes(url, prefix, candidates)
    assert all(len(upstreams) == 1 for upstreams in served.values()), served
    by_replica: dict[str, list[str]] = defaultdict(list)
    for route in candidates:
        by_replica[next(iter(served[route]))].append(route)
    assert set(by_replica) == replica_addresses, by_replica
    routes = [route for routes in by_replica.values() for route in routes[:3]]

    config = LoadConfig(students=6, duration_s=6, grace_s=60, scenario="browse",
                        pages=["", "latent_explorer"], ramp_s=1, dwell_s=2, settle_s=0,
                        probe=False, warmup=False,
                        cookies=tuple(f"st_route={route}" for route in routes))
    report = asyncio.run(run_load(url, config, pid=None))
    assert report["connect_errors"]["count"] == 0, report["connect_errors"]
    assert report["page_loads"]["unfinished"] == 0
    assert report["page_load"]["n"] >= 6
    assert report["exceptions"]["count"] == 0, report["exceptions"]
    assert report["media"]["requested"] > 0  # the latent explorer's images, via the proxy
    assert report["media"]["errors"] == 0, report["media"]  # fetched from the right replica
    assert report["fragment"]["answered_runs"] > 0

    upstreams_of: dict[str, set[str]] = defaultdict(set)
    websockets_of: dict[str, int] = defaultdict(int)
    for entry in read_log(prefix):
        if entry["route"] in routes:
            upstreams_of[entry["route"]].add(entry["upstream"])
            if entry["request"].startswith("GET /_stcore/stream") and entry["status"] == "101":
                websockets_of[entry["route"]] += 1
    # each student: its page GETs, static files, websocket and images on one replica
    assert all(upstreams_of[route] == served[route] for route in routes), upstreams_of
    assert all(websockets_of[route] == 1 for route in routes), websockets_of
    assert set.union(*upstreams_of.values()) == replica_addresses


def test_a_new_browser_gets_a_route_cookie_and_keeps_its_replica(proxy):
    url, prefix = proxy
    with urllib.request.urlopen(url + "/") as response:
        cookie = response.headers.get("Set-Cookie", "")
    match = re.match(r"st_route=([0-9a-f]+);", cookie)
    assert match, cookie
    route = match.group(1)

    async def visit() -> Student:
        student = Student("newcomer", url, LoadConfig(fetch_static=False), Recorder(),
                          time.monotonic() + 60, cookie=f"st_route={route}")
        assert await student.open("")
        await student.close()
        return student
    asyncio.run(visit())
    entries = [e for e in read_log(prefix) if e["route"] == route]
    assert len(entries) >= 4  # the first page, health, host-config, the websocket
    assert len({e["upstream"] for e in entries}) == 1


def test_a_dropped_websocket_resumes_its_session_on_the_same_replica(proxy, replicas):
    url, prefix = proxy

    async def reconnect() -> tuple[str, str, str]:
        config = LoadConfig(fetch_static=False)
        first = Student("first", url, config, Recorder(), time.monotonic() + 60,
                        cookie="st_route=resume-test")
        assert await first.open("")
        session = first.session_id
        await first.close()  # the tab's connection drops
        again = Student("again", url, config, Recorder(), time.monotonic() + 60,
                        cookie="st_route=resume-test")
        assert await again.open("", resume_session_id=session)
        await again.close()
        # control: the other replica cannot resume it, so resuming proves stickiness
        served = {e["upstream"] for e in read_log(prefix) if e["route"] == "resume-test"}
        other = next(s.url for s in replicas if s.url.removeprefix("http://") not in served)
        elsewhere = Student("elsewhere", other, LoadConfig(fetch_static=False), Recorder(),
                            time.monotonic() + 60)
        assert await elsewhere.open("", resume_session_id=session)
        await elsewhere.close()
        return session, again.session_id, elsewhere.session_id

    session, resumed, elsewhere = asyncio.run(reconnect())
    assert session
    assert resumed == session
    assert elsewhere != session


@requires_mnist
def test_the_same_live_run_shows_in_every_replica(replicas, run_store_folder):
    """A run trains in its own process; both replicas read it from the shared store."""
    from explorer import elbo_lab
    from explorer.lab_runs import LabRuns
    from explorer.run_store import RunStore
    from tests.conftest import kill_workers, wait_until

    runs = LabRuns(RunStore(run_store_folder))
    runs.start(elbo_lab.LabSettings(latent_dim=2, hidden=16, batch_size=64, device="cpu",
                                    threads=1, train_limit=2048))
    try:
        wait_until(lambda: (s := runs.status()) and s.step > 5)

        async def caption(url: str) -> str:
            config = LoadConfig(students=1, duration_s=5, grace_s=30, fetch_static=False,
                                warmup=False)
            student = Student("check", url, config, Recorder(), time.monotonic() + 60)
            try:
                assert await student.open("elbo_lab")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    found = [t for t in student.texts() if re.match(r"\*\*\w+\*\*: step", t)]
                    if found:
                        return found[0]
                    await asyncio.sleep(0.3)
                return ""
            finally:
                await student.close()

        seen = [asyncio.run(caption(server.url)) for server in replicas]
        assert all(text.startswith("**running**: step") for text in seen), seen
    finally:
        kill_workers(runs)  # before remove(): once removed, the run's worker is not listed
        runs.remove()
