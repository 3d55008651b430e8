"""A test-only Streamlit app hosting the in-page latent decoder with a shipped checkpoint.

Query parameters: model=vae16_mnist|vae2_mnist|<any checkpoint name>, corrupt=1 flips one byte
of the weights after their CRC-32 was taken (the browser must refuse them).
Run: streamlit run tests/browser/latent_decoder_app.py
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CASES = 5  # start codes the page offers: "z #0" .. "z #4"


def start_code(case: int, latent_dim: int) -> np.ndarray:
    """The start code for a case: seeded N(0, 1.5^2) values, float32 (K,)."""
    return (1.5 * np.random.default_rng(case).standard_normal(latent_dim)).astype(np.float32)


def main() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import streamlit as st

    from app_pages.components.latent_decoder import browser_decoder, latent_decoder
    from explorer import checkpoints

    st.set_page_config(page_title="Latent decoder test", layout="wide")
    path = checkpoints.checkpoint_dir() / st.query_params.get("model", "vae16_mnist")
    model, _ = st.cache_resource(checkpoints.load)(path, device="cpu")
    payload = browser_decoder(str(path), model)
    if st.query_params.get("corrupt") == "1":
        damaged = bytearray(payload.weights)
        damaged[101] ^= 0x40
        payload = dataclasses.replace(payload, weights=bytes(damaged))
    case = st.radio("Start", range(CASES), format_func=lambda c: f"z #{c}", horizontal=True,
                    key="case")
    latent_dim = model.config.latent_dim
    order = list(range(latent_dim))[::-1]  # any order: the page sorts by KL
    labels = [f"z{d}: KL {0.1 * d:.2f} nats" for d in range(latent_dim)]
    z = latent_decoder(payload, start_code(case, latent_dim), order, labels, key="decoder")
    if z is None:
        values = [st.slider(labels[d], -3.0, 3.0, 0.0, key=f"server_{d}") for d in order]
        st.markdown(f"server path: {len(values)} sliders")
    else:
        st.markdown("z in python: `" + json.dumps([round(float(v), 5) for v in z]) + "`")


if __name__ == "__main__":
    main()
