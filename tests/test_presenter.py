"""Presenter mode: followers take over the presenter's page and state, are read-only, can
detach and rejoin, keep the last view when the presenter leaves, and cannot take over."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common import lab_runs
from app_pages.components import presentation_watcher
from explorer import run_store
from tests.test_app import APP, open_page

PAGE = "app_pages/autoregressive.py"


def follower(code: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["follow"] = code
    return at.run()


def pixels(at) -> str:
    return next(m.value for m in at.metric if m.label == "Pixels sampled")


def test_followers_mirror_the_presenter(use_tiny_checkpoints):
    lead = open_page(PAGE)
    lead.button(key="present_start").click().run()
    code = lead.session_state["_presenting"][0]
    assert any(code in c.value for c in lead.sidebar.code)
    lead.number_input(key="ar_seed").set_value(7).run()
    lead.button(key="ar_row").click().run()
    lead.run()  # the sync publishes
    student = follower(code)
    student.run()
    assert not student.exception
    assert student.number_input(key="ar_seed").value == 7
    assert pixels(student) == "28 / 784"
    assert (student.session_state["ar_sampler"].image
            == lead.session_state["ar_sampler"].image).all()
    assert student.number_input(key="ar_seed").disabled  # read-only while following
    shown = {w.key for kind in ("button", "selectbox", "number_input")
             for w in getattr(student, kind)}
    # no step, speed, reset or force controls while following: the presenter drives
    assert not shown & {"ar_step", "ar_row", "ar_run", "ar_speed", "ar_reset", "ar_force",
                        "ar_force_value"}
    assert any("The presenter steps this sampler" in c.value for c in student.caption)
    lead.button(key="ar_step").click().run()
    lead.run()
    time.sleep(run_store.RecentReads.MAX_AGE)  # the server's shared read has aged out
    student.run()
    assert pixels(student) == "29 / 784"
    student.button(key="follow_detach").click().run()  # explore on my own
    assert not student.number_input(key="ar_seed").disabled
    assert not student.button(key="ar_step").disabled  # its own sampler's controls are back
    student.number_input(key="ar_seed").set_value(11).run()
    lead.button(key="ar_step").click().run()
    lead.run()
    time.sleep(run_store.RecentReads.MAX_AGE)  # the server's shared read has aged out
    student.run()
    assert student.number_input(key="ar_seed").value == 11 and pixels(student) == "0 / 784"
    student.button(key="follow_again").click().run()
    student.run()
    assert student.number_input(key="ar_seed").value == 7 and pixels(student) == "30 / 784"


def test_a_follower_cannot_drive_and_sees_when_the_presenter_leaves(use_tiny_checkpoints,
                                                                    monkeypatch):
    lead = open_page(PAGE)
    lead.button(key="present_start").click().run()
    code, token = lead.session_state["_presenting"]
    store = lab_runs().store
    with pytest.raises(run_store.RunStoreError):
        store.publish(code, "forged-token", "home", {"widgets": {}, "params": {}})
    student = follower(code)
    before = int(presentation_watcher.version_file(code).read_text())
    lead.button(key="present_stop").click().run()
    # the end is a new version in the followers' watched file: they notice at once
    assert int(presentation_watcher.version_file(code).read_text()) == \
        store.presentation(code).version > before
    time.sleep(run_store.RecentReads.MAX_AGE)  # the server's shared read has aged out
    student.run()
    assert any("has left; this is their last view" in i.value for i in student.sidebar.info)
    # said once, in place of "following" (not both at once)
    assert not any("Following presentation" in s.value for s in student.sidebar.success)


def test_a_presenters_reset_clears_the_followers_pixels(use_tiny_checkpoints):
    lead = open_page(PAGE)
    lead.button(key="present_start").click().run()
    lead.button(key="ar_row").click().run()
    student = follower(lead.session_state["_presenting"][0])
    student.run()
    assert pixels(student) == "28 / 784"
    lead.button(key="ar_reset").click().run()
    lead.run()
    time.sleep(run_store.RecentReads.MAX_AGE)
    student.run()
    assert pixels(student) == "0 / 784"  # not the 28 pixels the presenter threw away
    assert not student.exception


def _stepping_page() -> None:
    """A page that writes its work in progress with links.put, as the sampler does; runs
    without a click stand for the presenter's heartbeat, which writes nothing."""
    import json

    import streamlit as st

    from app_pages import links, presenter

    st.session_state["_link_page"] = "autoregressive"
    if st.button("Step 1 row", key="row"):
        links.put(ar_steps=int(presenter.page_state()["params"].get("ar_steps", 0)) + 28)
    if st.button("Reset", key="reset"):
        links.put(ar_steps=None)
    st.text(json.dumps(presenter.page_state()["params"]))


def test_a_rerun_carrying_the_browsers_stale_url_does_not_step_the_followers_back():
    """A browser's rerun (the presenter's heartbeat) can leave before the browser hears of
    the server's last step, so it carries the old URL; the presenter's published state keeps
    the server's own last value, or its followers would step back and forth."""
    at = AppTest.from_function(_stepping_page).run()
    at.button(key="row").click().run()
    at.button(key="row").click().run()
    assert json.loads(at.text[0].value)["ar_steps"] == "56"
    at.query_params["ar_steps"] = "28"  # the browser's URL, one step behind
    at.run()
    assert json.loads(at.text[0].value)["ar_steps"] == "56"
    at.button(key="reset").click().run()  # a removal the server wrote wins as well
    at.query_params["ar_steps"] = "56"
    at.run()
    assert "ar_steps" not in json.loads(at.text[0].value)


def test_version_files_are_written_whole_and_pruned_when_old(monkeypatch, tmp_path):
    import os

    from app_pages.components import presentation_watcher as watcher

    monkeypatch.setattr(watcher, "FOLLOW_DIR", tmp_path / "follow")
    watcher.write_version("ab12", 7)
    assert watcher.version_file("AB12").read_text() == "7"
    watcher.write_version("AB12", 8)  # replaced, not appended
    assert watcher.version_file("AB12").read_text() == "8"
    assert list((tmp_path / "follow").glob("*.tmp")) == []
    old = watcher.version_file("OLD1")
    old.write_text("3")
    os.utime(old, (time.time() - 90_000, time.time() - 90_000))
    assert watcher.prune() == 1 and not old.exists() and watcher.version_file("AB12").exists()


def test_a_presenter_in_projector_view_still_shows_the_follow_code(use_tiny_checkpoints):
    lead = open_page(PAGE)
    lead.button(key="present_start").click().run()
    code = lead.session_state["_presenting"][0]
    lead.session_state["projector"] = True  # the sidebar, which shows the code, is hidden
    lead.run()
    assert any(f"**{code}**" in m.value and f"?follow={code}" in m.value for m in lead.markdown)
