"""Presenter mode: one session drives, any number follow.

"Present" gives this session a short code and a secret token (kept in its session state).
After every run (and twice a second, as a heartbeat) the presenter publishes its page, its
controls' values and its link parameters (the work in progress) to the shared run store,
and writes the new version number to static/follow/CODE.txt. Each follower's page watches
that file (app_pages/components/presentation_watcher) and, when the version grows, reruns
only the fragment holding the watcher: the PixelCNN sampler's tab takes a presenter's step
there by itself; anything else (another page, a control) reruns the app. A follower's
controls are disabled (the sampler's step and force controls hidden); "Explore on my own"
detaches it and "Follow again" rejoins. Only the token can publish, so editing a URL
cannot take over. "Stop presenting" is a new version too, so followers notice it at once.
"""

from __future__ import annotations

import time

import streamlit as st

from app_pages import links
from app_pages.common import lab_runs
from app_pages.components import presentation_watcher
from explorer.run_store import RunStoreError

PRESENTING, FOLLOWING, DETACHED = "_presenting", "_following", "_follow_detached"
APPLIED = "_follow_version"  # the presenter's version this follower takes over
RENDERED = "_follow_rendered"  # the version whose full run finished (a run cut short by a
# timer's request is redone once it is REDO_AFTER seconds old)
STARTED = "_follow_run_started"
TAKEN = "_follow_taken"  # the presenter's state this follower shows
WRITTEN = "_presenting_written"  # the version last written for the followers' watchers
LEFT = "_follow_presenter_left"  # this follower has seen the presentation end
OWNER = "_follow_owner"  # the page whose own fragment catches up (see catch_up)
REDO_AFTER = 3.0
SYNC_SECONDS = 0.5  # the presenter's heartbeat
NOTICE_SECONDS = 5.0  # a follower's look at the store for a presenter gone without "Stop"
# (changes and "Stop" come by the watcher; 30 followers' timers are a rerun each per tick)


def presenting() -> bool:
    """True while this session is the presenter."""
    return PRESENTING in st.session_state


def following() -> bool:
    """True while this session mirrors a presenter (its controls are then read-only)."""
    return bool(st.session_state.get(FOLLOWING)) and not st.session_state.get(DETACHED)


def arrive() -> None:
    """A link with ?follow=CODE makes this session a follower (call in the entry script)."""
    code = links.arrived("follow")
    if code and FOLLOWING not in st.session_state:
        st.session_state[FOLLOWING] = code.upper()


def page_state() -> dict:
    """What followers need to rebuild the presenter's view of the current page."""
    page = st.session_state.get("_link_page", "")
    keys = st.session_state.get("_link_keys", {}).get(page, [])
    widgets = {k: st.session_state[k] for k in keys if k in st.session_state
               and isinstance(st.session_state[k], (int, float, str, bool))}
    params = {k: st.query_params[k] for k in st.query_params
              if k not in keys and k != "follow"}
    # a heartbeat requested before the browser heard of the last step carries its old URL:
    # what this server wrote wins, or followers would step back and forth
    for key, value in links.written_here().items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return {"widgets": widgets, "params": params}


def apply_update() -> None:
    """Before the page runs: take over a presenter update fetched by the sync fragment."""
    update = st.session_state.pop("_follow_update", None)
    if update is None:
        return
    for key, value in update["widgets"].items():
        st.session_state[key] = value
    links.replace_arrival(update["params"])
    st.session_state[TAKEN] = update


def starting() -> None:
    """At the start of a full run (before the page runs)."""
    st.session_state[STARTED] = time.monotonic()
    st.session_state.pop(OWNER, None)  # set again if the page's fragment catches up


def rendered() -> None:
    """At the end of a full run: the page now shows the version it took over."""
    if following():
        st.session_state[RENDERED] = st.session_state.get(APPLIED)


def publish() -> None:
    """The presenter's page and state to the store (a new version only when they changed).
    Called after every full run and whenever a fragment changes the link, so followers
    need not wait for the next tick."""
    if PRESENTING not in st.session_state:
        return
    code, token = st.session_state[PRESENTING]
    try:
        version = lab_runs().store.publish(code, token, st.session_state.get("_link_page", ""),
                                           page_state())
    except RunStoreError:
        st.session_state.pop(PRESENTING, None)
        return
    if st.session_state.get(WRITTEN) != version:
        try:  # followers' pages watch this file
            presentation_watcher.write_version(code, version)
            st.session_state[WRITTEN] = version
        except OSError:
            pass  # they fall back to asking the server once a second


def _take_over(owned: tuple[str, ...] = (), seen: int | None = None) -> bool:
    """A follower's poll: when the presenter's version is new, take it over. A change in
    nothing but the link parameters `owned` (those one fragment draws from) is applied in
    place and True is returned: the calling fragment consumes them and redraws alone,
    which costs a fraction of a full run. Any other change (another page, a control, other
    work in progress) reruns the whole app; so does a switch whose full run was cut short
    (retried once it is REDO_AFTER seconds old). `seen`: a version the page saw published
    (the shared read is refreshed if it is older)."""
    shown = lab_runs().recent.presentation(st.session_state[FOLLOWING], at_least=seen)
    if shown is None:
        return False
    if not shown.present:
        st.session_state[APPLIED] = shown.version  # the watcher asks no more
        _notice_left()
        return False
    elsewhere = bool(shown.page) and shown.page != st.session_state.get("_link_page")
    unfinished = _unfinished()
    if shown.version == st.session_state.get(APPLIED) and not elsewhere and not unfinished:
        return False
    st.session_state[APPLIED] = shown.version
    if owned and not elsewhere and not unfinished \
            and _without(st.session_state.get(TAKEN), owned) == _without(shown.state, owned):
        st.session_state[TAKEN] = shown.state
        st.session_state[RENDERED] = shown.version
        links.replace_arrival(shown.state["params"])
        return True
    st.session_state["_follow_update"] = shown.state
    if elsewhere:
        st.switch_page(links.page_file(shown.page))
    st.rerun(scope="app")


def _unfinished() -> bool:
    """A take-over whose full run was cut short, REDO_AFTER seconds ago or more."""
    return (st.session_state.get(RENDERED) != st.session_state.get(APPLIED)
            and time.monotonic() - st.session_state.get(STARTED, 0.0) > REDO_AFTER)


def _without(state: dict | None, owned: tuple[str, ...]) -> tuple:
    """A presenter state less the link parameters in `owned` (comparable)."""
    state = state or {}
    return (state.get("widgets"), {k: v for k, v in state.get("params", {}).items()
                                   if k not in owned})


def catch_up(owned: tuple[str, ...]) -> bool:
    """For the fragment that draws from the link parameters `owned`: while following, it
    holds the page's watcher, so a presenter's change reruns this fragment alone. True when
    the presenter changed only those parameters (the fragment takes them from the link
    now); other changes rerun the app. False when this session does not follow or nothing
    changed."""
    if not following():
        return False
    st.session_state[OWNER] = st.session_state.get("_link_page")
    taken = _take_over(owned, _published())
    _watch()
    return taken


def _published() -> int | None:
    """The version in the presentation's watched file (what the follower's page reads), so
    a change the page saw is read afresh from the store; None when there is no file."""
    try:
        return int(presentation_watcher.version_file(st.session_state[FOLLOWING]).read_text())
    except (OSError, ValueError):
        return None


def _watch() -> None:
    """Mount the follower's watcher in the current fragment, after the take-over: it is
    told the version now shown, so it neither asks again for the change just drawn nor
    stops reading while it believes that change is still on its way."""
    code = st.session_state[FOLLOWING]
    presentation_watcher.watch(
        links.base_url() + "app/static/follow/" + presentation_watcher.version_file(code).name,
        st.session_state.get(APPLIED) or 0, key="follow_watch")


def sync() -> None:
    """The presenter's heartbeat (and any change a widget made inside a fragment). For a
    follower: the watcher, and on a new version the take-over, except on a page whose own
    fragment catches up (catch_up); and the notices when the presenter left."""
    if PRESENTING in st.session_state:
        publish()
        return
    if not following():
        return
    here = st.session_state.get("_link_page")
    owned = st.session_state.get(OWNER) == here  # the page's fragment holds the watcher
    seen = None if owned else _published()
    shown = lab_runs().recent.presentation(st.session_state[FOLLOWING], at_least=seen)
    if shown is None:
        st.warning(f"No presentation has the code {st.session_state[FOLLOWING]}.")
    elif not shown.present:
        _notice_left()
    elif not owned or (shown.page and shown.page != here) or _unfinished():
        _take_over(seen=seen)
    if not owned:
        _watch()


def _notice_left() -> None:
    """Once: the sidebar then says the presenter left, in place of "following"."""
    if not st.session_state.get(LEFT):
        st.session_state[LEFT] = True
        st.rerun(scope="app")


def sidebar() -> None:
    """The sidebar's presenter controls."""
    st.caption("Presenting")
    if following() and st.session_state.get(LEFT):
        st.info(f"The presenter of **{st.session_state[FOLLOWING]}** has left; this is "
                "their last view.", icon=":material/cast:")
        st.button("Explore on my own", key="follow_detach",
                  on_click=st.session_state.__setitem__, args=(DETACHED, True))
    elif following():
        st.success(f"Following presentation **{st.session_state[FOLLOWING]}**: the "
                   "presenter drives this view.", icon=":material/cast:")
        st.button("Explore on my own", key="follow_detach",
                  on_click=st.session_state.__setitem__, args=(DETACHED, True))
    elif st.session_state.get(FOLLOWING):
        st.button(f"Follow {st.session_state[FOLLOWING]} again", key="follow_again",
                  on_click=rejoin)
    elif PRESENTING in st.session_state:
        code = st.session_state[PRESENTING][0]
        st.markdown(f"Students follow with the code **{code}** or this link:")
        st.code(links.base_url() + f"?follow={code}", language=None, wrap_lines=True)
        st.button("Stop presenting", key="present_stop", on_click=stop_presenting)
    else:
        st.button("Present", key="present_start", on_click=start_presenting,
                  help="Make this browser the presenter: others follow its page and state.")


def poll() -> None:
    """The presenter's heartbeat or a follower's poll, as a fragment on a timer (in the
    sidebar, after the page ran: a page whose own fragment catches up has then said so, and
    this poll only watches for the presenter leaving). No timer for everyone else."""
    if PRESENTING in st.session_state or following():
        st.fragment(sync, run_every=SYNC_SECONDS if presenting() else NOTICE_SECONDS)()


def start_presenting() -> None:
    st.session_state[PRESENTING] = lab_runs().store.start_presentation()
    st.session_state.pop(WRITTEN, None)
    presentation_watcher.prune()


def stop_presenting() -> None:
    code, token = st.session_state.pop(PRESENTING)
    version = lab_runs().store.end_presentation(code, token)
    if version is not None:
        try:  # followers' watchers see the end at once, not at their next timer tick
            presentation_watcher.write_version(code, version)
        except OSError:
            pass


def rejoin() -> None:
    st.session_state.pop(DETACHED, None)
    st.session_state.pop(LEFT, None)
    st.session_state.pop(TAKEN, None)
    st.session_state.pop(APPLIED, None)  # fetch the presenter's view again at once
