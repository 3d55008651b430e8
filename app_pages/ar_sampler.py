"""The PixelCNN page's sampler panel: the run's likelihood so far, the last pixel's 256-way
distribution (click a bar to force a level) and a box to force one."""

import streamlit as st

from app_pages import caches
from app_pages import common as ui
from explorer import sampling, selection


def pixel_panel(sampler: sampling.PixelSampler, following: bool, toggle_slot) -> None:
    """Metrics of the run, then the last pixel's distribution. On a laptop the words about
    that pixel stand above its chart and the log-scale switch beside them; in projector view
    the switch waits in `toggle_slot` (the button row) and the words follow the chart, so
    the chart lies on the first screen. A follower's view takes no clicks."""
    projector = ui.projector()
    a, b, c = st.columns(3)
    a.metric("Pixels sampled", f"{sampler.position} / {sampler.total}")
    total = sampler.bits_so_far  # 1,386 bits, not 1385.8 (cut in a third of a column)
    b.metric("−log₂ p so far", f"{total:,.0f} bits" if total >= 1000 else f"{total:.1f} bits",
             help="Sum over the sampled pixels of −log₂ p(pixel | earlier pixels): the log of "
                  "the product of the per-pixel probabilities, the image's likelihood so far.")
    c.metric("bits/dim so far", f"{sampler.bits_per_dim:.3f}",
             help="−log₂ p so far divided by the number of pixels sampled.")
    if not sampler.history:
        st.info("Press Step 1 pixel to sample the first pixel: its 256-way distribution "
                "appears here.")
        return
    last = sampler.history[-1]
    if projector:
        words, scale_column = None, toggle_slot
    else:
        words, scale_column = st.columns([5, 2], vertical_alignment="center")
    log_scale = (scale_column or st).toggle(
        "Log scale", key="ar_log_scale", persist_state="session",
        help="Probabilities on a log axis, down to the least likely level's (at least 1e-6): "
             "the unlikely levels become visible and clickable.")
    step = sampling.describe_step(last)
    note = None if log_scale else sampling.distribution_note(last)
    if words is not None:
        words.caption(step)  # one row: the bars stay in view
        if note is not None:
            st.caption(note)
    event = ui.chart(caches.distribution_figure(last.probabilities, last.value,
                                                last.model_probabilities, log_scale),
                     key="ar_distribution", filename=f"pixel_{last.index}_distribution",
                     on_select="rerun", selection_mode="points", projector_height=360)
    if words is None:
        st.caption(step + ("" if note is None else " " + note))
    level = selection.clicked_number(event)
    picked = None if level is None or following \
        else int(min(255, max(0, round(level))))  # a follower's view is read-only
    if picked is not None and st.session_state.get("ar_last_force") != (last.index, picked):
        st.session_state.ar_last_force = (last.index, picked)
        sampler.force(picked)
        st.rerun(scope="fragment")
    if following:
        return
    force_column, button_column = st.columns([2, 1], vertical_alignment="bottom")
    if st.session_state.get("ar_force_shown") != (last.index, last.value):
        st.session_state.ar_force_shown = (last.index, last.value)  # a new pixel, or a bar
        st.session_state.ar_force_value = last.value  # click: the box follows it
    value = force_column.number_input(  # the label says what a bar click does
        "Force to grey level (or click a bar)", 0, 255, key="ar_force_value",
        help="This pixel takes the level; the next steps are sampled given it.")
    button_column.button("Force", key="ar_force", on_click=sampler.force, args=(int(value),))
