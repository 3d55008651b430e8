"""Latent sliders decoded in the browser (Streamlit Components v2).

One slider per latent dimension (a 2-D plane too for 2-D models, and a traversal player); the
image is decoded in the page on every input event, with no server round trip, and the final z
comes back to Python on release. The decoder's fp16 weights (explorer.web_decoder) reach the
page once per session. When the model or the browser cannot do this, `latent_decoder` shows a
note and returns None, and the page uses its server sliders.

    payload = browser_decoder(card["cache_key"], model)
    z = latent_decoder(payload, z_start, stats.order, labels, key="latent_browser")
    if z is None:
        ...  # the server path: st.slider per dimension + latent.decode
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import streamlit as st
from torch import nn

from explorer.web_decoder import UnsupportedDecoder, WebDecoder, export_decoder

ASSETS = Path(__file__).resolve().parent
SENT = "_latent_decoder_sent"  # session_state: checksums of the weights this page holds

# Inline JS and CSS read from the files beside this module: the frontend imports them from
# a blob URL, so nothing is fetched from the network.
_mount = st.components.v2.component(
    "latent_decoder", css=(ASSETS / "latent_decoder.css").read_text(encoding="utf-8"),
    js=(ASSETS / "latent_decoder.js").read_text(encoding="utf-8"))


@st.cache_resource(show_spinner=False, max_entries=8)
def browser_decoder(cache_key: str, _model: nn.Module) -> WebDecoder | UnsupportedDecoder:
    """The model's decoder packed for the browser (or why not), once per checkpoint version."""
    return export_decoder(_model)


def fallback_note(payload: WebDecoder | UnsupportedDecoder, failure: str | None) -> str | None:
    """None when the browser decodes; otherwise the note shown above the server sliders."""
    if isinstance(payload, UnsupportedDecoder):
        return f"{payload.reason} The image updates when you release a slider."
    if failure:
        return (f"This browser could not run the in-page decoder ({failure}), so the image is "
                "decoded on the server and updates when you release a slider.")
    return None


def pack(header: dict, weights: bytes = b"") -> bytes:
    """The component's data: uint32 LE header length, the header as UTF-8 JSON, the weights."""
    text = json.dumps(header).encode("utf-8")
    return struct.pack("<I", len(text)) + text + weights


def _start_id(key: str, checksum: int, z_start: np.ndarray) -> str:
    """Names this start; changes whenever the start does, so the page resets its sliders and a
    z sent for an earlier start (even an equal one) is not returned for this one."""
    fingerprint = f"{checksum:08x}-{zlib.crc32(z_start.tobytes()):08x}"
    seen = st.session_state.setdefault(f"{key}:start", {"fingerprint": None, "count": 0})
    if seen["fingerprint"] != fingerprint:
        seen.update(fingerprint=fingerprint, count=seen["count"] + 1)
    return f"{fingerprint}-{seen['count']}"


def _record_failure(key: str) -> None:
    failure = (st.session_state.get(key) or {}).get("failure")
    if failure:
        st.session_state[f"{key}:failure"] = str(failure)


def _forget_sent() -> None:
    st.session_state[SENT] = set()


def latent_decoder(model_payload: WebDecoder | UnsupportedDecoder, z_start: np.ndarray,
                   order: Sequence[int], labels: Sequence[str], *, key: str
                   ) -> np.ndarray | None:
    """Mount the in-page latent decoder; returns the current z, or None for the server path.

    z_start (K,) is where the sliders start (the encoding); order lists the K dimensions top
    to bottom (most informative first); labels[d] names dimension d ("z3: KL 1.23 nats").
    Returns z (K,) float32: z_start until the user releases a slider, then the released z.
    Returns None, after showing a note, when the decoder is unsupported (a conv decoder) or
    the browser reported that it cannot run it (no typed arrays or canvas, a failed checksum
    or self-test); the failure is remembered for the session.
    """
    note = fallback_note(model_payload, st.session_state.get(f"{key}:failure"))
    if note is not None:
        st.info(note, icon=":material/dns:")
        return None
    z_start = np.asarray(z_start, dtype=np.float32).reshape(model_payload.latent_dim)
    sent = st.session_state.setdefault(SENT, set())
    first_time = model_payload.checksum not in sent
    header = {"decoder": {**(model_payload.header() if first_time else {}),
                          "checksum": model_payload.checksum, "nbytes": model_payload.nbytes},
              "start": [float(v) for v in z_start],
              "start_id": _start_id(key, model_payload.checksum, z_start),
              "order": [int(d) for d in order], "labels": [str(s) for s in labels],
              "plane": model_payload.latent_dim == 2,
              "projector": bool(st.session_state.get("projector"))}
    result = _mount(key=key, data=pack(header, model_payload.weights if first_time else b""),
                    on_z_change=lambda: None, on_failure_change=lambda: _record_failure(key),
                    on_need_weights_change=_forget_sent)
    sent.add(model_payload.checksum)
    state = result.get("z")
    if isinstance(state, dict) and state.get("start_id") == header["start_id"] \
            and len(state.get("z") or ()) == len(z_start):
        return np.asarray(state["z"], dtype=np.float32)
    return z_start.copy()
