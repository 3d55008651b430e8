"""The in-page latent decoder's Python side: its data format, and when it hands over to the
server path (a conv decoder, or a browser that reported a failure) with a visible note."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app_pages.components.latent_decoder import fallback_note, pack
from explorer import checkpoints, web_decoder
from explorer.models.vae import VAE, VAEConfig
from tests.browser.latent_decoder_app import start_code

APP = str(Path(__file__).resolve().parent / "browser" / "latent_decoder_app.py")


def tiny(architecture: str) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=4, hidden=16, architecture=architecture)).eval()


def test_pack_puts_a_length_prefixed_json_header_before_the_weights():
    data = pack({"start": [0.5, -1.0]}, b"\x01\x02\x03")
    (length,) = struct.unpack("<I", data[:4])
    assert json.loads(data[4:4 + length]) == {"start": [0.5, -1.0]}
    assert data[4 + length:] == b"\x01\x02\x03"


def test_fallback_note_says_why_and_is_none_only_when_the_browser_decodes():
    supported = web_decoder.export_decoder(tiny("mlp"))
    unsupported = web_decoder.export_decoder(tiny("conv"))
    assert fallback_note(supported, None) is None
    assert "conv" in fallback_note(unsupported, None)
    assert "no 2-D canvas" in fallback_note(supported, "no 2-D canvas")
    assert "server" in fallback_note(supported, "no 2-D canvas")


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch):
    card = {"dataset": "generated", "epochs": 0, "train_seconds": 0.0, "hardware": "test",
            "command": "tests", "test_nll_nats": 1.0, "eval_samples": 1}
    for architecture in ("mlp", "conv"):
        checkpoints.save(tiny(architecture), card, tmp_path / f"vae_{architecture}")
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    return tmp_path


def open_app(model: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["model"] = model
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_mlp_decoder_mounts_the_component_and_returns_the_start(checkpoint_dir):
    at = open_app("vae_mlp")
    assert not at.exception
    assert not at.info and not at.slider
    shown = json.loads(at.markdown[-1].value.split("`")[1])
    assert np.allclose(shown, start_code(0, 4), atol=1e-5)


def test_conv_decoder_uses_the_server_sliders_with_a_note(checkpoint_dir):
    at = open_app("vae_conv")
    assert not at.exception
    assert "conv" in at.info[0].value and "server" in at.info[0].value
    assert len(at.slider) == 4 and at.markdown[-1].value == "server path: 4 sliders"


def test_a_browser_failure_switches_to_the_server_for_the_session(checkpoint_dir):
    at = open_app("vae_mlp", **{"decoder:failure": "no 2-D canvas"})
    assert "no 2-D canvas" in at.info[0].value
    assert len(at.slider) == 4
    at.radio(key="case").set_value(2).run()  # later reruns stay on the server path
    assert len(at.slider) == 4 and not at.exception


@pytest.mark.parametrize("projector", [False, True])
def test_the_component_is_told_about_projector_view(checkpoint_dir, projector):
    at = open_app("vae_mlp", projector=projector)
    component = next(e for e in at.get("bidi_component")
                     if e.proto.component_name.endswith("latent_decoder"))
    data = component.proto.bytes
    (length,) = struct.unpack("<I", data[:4])
    assert json.loads(data[4:4 + length])["projector"] is projector  # 24 px text there
