"""Presenter mode: one session drives, any number follow.

"Present" gives this session a short code and a secret token (kept in its session state).
Twice a second the presenter publishes its page, its controls' values and its link
parameters (the work in progress) to the shared run store; followers check as often and,
when the version changed, take them over and rerun: the same page, the same controls, the
same sampled pixels. A follower's controls are disabled; "Explore on my own" detaches it and
"Follow again" rejoins. Only the token can publish, so editing a URL cannot take over.
"""

from __future__ import annotations

import time

import streamlit as st

from app_pages import links
from app_pages.common import lab_runs
from explorer.run_store import RunStoreError

PRESENTING, FOLLOWING, DETACHED = "_presenting", "_following", "_follow_detached"
APPLIED = "_follow_version"  # the presenter's version this follower takes over
RENDERED = "_follow_rendered"  # the version whose full run finished (a run cut short by a
# timer's request is redone once it is REDO_AFTER seconds old)
STARTED = "_follow_run_started"
REDO_AFTER = 3.0
SYNC_SECONDS = 0.5


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
    return {"widgets": widgets, "params": params}


def apply_update() -> None:
    """Before the page runs: take over a presenter update fetched by the sync fragment."""
    update = st.session_state.pop("_follow_update", None)
    if update is None:
        return
    for key, value in update["widgets"].items():
        st.session_state[key] = value
    links.replace_arrival(update["params"])


def starting() -> None:
    """At the start of a full run (before the page runs)."""
    st.session_state[STARTED] = time.monotonic()


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
        lab_runs().store.publish(code, token, st.session_state.get("_link_page", ""),
                                 page_state())
    except RunStoreError:
        st.session_state.pop(PRESENTING, None)


@st.fragment(run_every=SYNC_SECONDS)
def sync() -> None:
    """The presenter's heartbeat (and any change a widget made inside a fragment); a
    follower fetches and, on a new version, reruns."""
    store = lab_runs().store
    if PRESENTING in st.session_state:
        publish()
        return
    if not following():
        return
    shown = store.presentation(st.session_state[FOLLOWING])
    if shown is None:
        st.warning(f"No presentation has the code {st.session_state[FOLLOWING]}.")
        return
    if not shown.present:
        st.info("The presenter has left; this is their last view.")
        return
    elsewhere = bool(shown.page) and shown.page != st.session_state.get("_link_page")
    unfinished = (st.session_state.get(RENDERED) != st.session_state.get(APPLIED)
                  and time.monotonic() - st.session_state.get(STARTED, 0.0) > REDO_AFTER)
    if shown.version != st.session_state.get(APPLIED) or elsewhere or unfinished:
        # a switch that did not complete (its run cut short) is retried on the next tick
        st.session_state[APPLIED] = shown.version
        st.session_state["_follow_update"] = shown.state
        if elsewhere:
            st.switch_page(links.page_file(shown.page))
        st.rerun(scope="app")


def sidebar() -> None:
    """The sidebar's presenter controls, then the sync loop."""
    st.caption("Presenting")
    if following():
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
        st.code(links.base_url() + f"?follow={code}", language=None)
        st.button("Stop presenting", key="present_stop", on_click=stop_presenting)
    else:
        st.button("Present", key="present_start", on_click=start_presenting,
                  help="Make this browser the presenter: others follow its page and state.")
    if PRESENTING in st.session_state or following():  # no timer for everyone else
        sync()


def start_presenting() -> None:
    st.session_state[PRESENTING] = lab_runs().store.start_presentation()


def stop_presenting() -> None:
    code, token = st.session_state.pop(PRESENTING)
    lab_runs().store.end_presentation(code, token)


def rejoin() -> None:
    st.session_state.pop(DETACHED, None)
    st.session_state.pop(APPLIED, None)  # fetch the presenter's view again at once
