"""A VAE's MLP decoder exported for decoding in a web page: fp16 weights, a CRC-32, a self-test.

The latent explorer decodes z in the browser on every pointer move, so the decoder's weights
travel to the page once. The browser runs the same forward pass as `build_decoder`'s MLP
(explorer/models/vae.py), Linear -> GELU -> Linear -> GELU -> Linear -> sigmoid, in float32.

Weights travel as IEEE float16, which is lossless for the shipped checkpoints (they are
saved in fp16) and keeps the decoded 8-bit image within one level of torch. uint8 with a
scale and offset per output row halves the size but moves pixels of the shipped 16-D VAE by up
to 37 levels of 255 (measured on 2,000 codes), so it is not offered. Conv decoders are refused
with a reason (`UnsupportedDecoder`); the page then decodes on the server.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import latent
from explorer.imaging import to_uint8

SELFTEST_SEED = 0  # the code the browser decodes once, before it trusts its forward pass
SERVER_NOTE = "this model decodes on the server instead"


@dataclass(frozen=True)
class WebDecoder:
    latent_dim: int  # K, the length of z
    layer_shapes: tuple[tuple[int, int], ...]  # (out_features, in_features) per Linear, z first
    weights: bytes  # per layer: weight (out, in) row-major, then bias (out,); float16 LE
    checksum: int  # CRC-32 (zlib's polynomial) of `weights`; the browser recomputes it
    selftest_z: tuple[float, ...]  # a code (K,) the browser decodes once after loading...
    selftest_levels: bytes  # ...and compares with torch's decode of it: 784 uint8 levels
    image_shape: tuple[int, int] = (28, 28)  # (H, W) of the decoded image

    @property
    def nbytes(self) -> int:
        """Bytes sent to the browser once per session: the weights plus the JSON header."""
        return len(self.weights) + len(json.dumps(self.header()))

    def header(self) -> dict:
        """Everything but the weights, JSON-ready, for the browser."""
        return {"latent_dim": self.latent_dim, "layers": [list(s) for s in self.layer_shapes],
                "activation": "gelu", "output": "sigmoid", "dtype": "float16-le",
                "checksum": self.checksum, "image_shape": list(self.image_shape),
                "selftest_z": list(self.selftest_z),
                "selftest_levels": list(self.selftest_levels)}


@dataclass(frozen=True)
class UnsupportedDecoder:
    reason: str  # why the browser cannot run this decoder, fit to show a user


def unsupported_reason(model: nn.Module) -> str | None:
    """None when `export_decoder` can run the model's decoder in a browser, else why not."""
    decoder = getattr(model, "decoder", None)
    if not isinstance(decoder, nn.Sequential) or not hasattr(model, "decode_images"):
        return f"{type(model).__name__} has no MLP decoder, so {SERVER_NOTE}."
    layers = list(decoder)
    if layers and isinstance(layers[-1], nn.Unflatten):
        layers = layers[:-1]
    for index, layer in enumerate(layers):
        expected = nn.Linear if index % 2 == 0 else nn.GELU
        if not isinstance(layer, expected) or getattr(layer, "approximate", "none") != "none":
            kind = "conv" if any(isinstance(m, nn.ConvTranspose2d) for m in layers) else "this"
            return (f"The in-page decoder runs MLP decoders only; the {kind} decoder "
                    f"({type(layer).__name__} at layer {index}) does not fit, so {SERVER_NOTE}.")
    if not layers or not isinstance(layers[-1], nn.Linear):
        return f"The decoder does not end in a linear layer, so {SERVER_NOTE}."
    return None


@torch.no_grad()
def export_decoder(model: nn.Module) -> WebDecoder | UnsupportedDecoder:
    """Pack an MLP decoder for the browser, or say why it cannot run there.

    Also checks the packed weights against the model itself: the numpy forward pass over the
    fp16 weights must match `model.decode_images` within one 8-bit level on the self-test code,
    else the answer is UnsupportedDecoder (a decoder whose output is not sigmoid(MLP(z))).
    """
    reason = unsupported_reason(model)
    if reason is not None:
        return UnsupportedDecoder(reason)
    linears = [m for m in model.decoder if isinstance(m, nn.Linear)]
    pieces = []
    for layer in linears:
        pieces += [layer.weight.detach().cpu().numpy(), layer.bias.detach().cpu().numpy()]
    weights = b"".join(p.astype("<f2").tobytes() for p in pieces)
    latent_dim = linears[0].in_features
    z = np.random.default_rng(SELFTEST_SEED).standard_normal(latent_dim).astype(np.float32)
    levels = to_uint8(latent.decode_arrays(model, z)[0])
    exported = WebDecoder(latent_dim=latent_dim,
                          layer_shapes=tuple((m.out_features, m.in_features) for m in linears),
                          weights=weights, checksum=zlib.crc32(weights),
                          selftest_z=tuple(float(v) for v in z), selftest_levels=levels.tobytes(),
                          image_shape=tuple(levels.shape))
    if np.abs(to_uint8(reference_decode(exported, z)[0]).astype(int) - levels).max() > 1:
        return UnsupportedDecoder(f"The decoder's output is not sigmoid(MLP(z)), so {SERVER_NOTE}.")
    return exported


def layer_arrays(decoder: WebDecoder) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights back as float32 (W (out, in), b (out,)) per layer, as the browser reads them.

    Raises ValueError when the weights do not match their checksum or their shapes.
    """
    if zlib.crc32(decoder.weights) != decoder.checksum:
        raise ValueError("the weights do not match their CRC-32")
    values = np.frombuffer(decoder.weights, dtype="<f2").astype(np.float32)
    if values.size != sum(o * i + o for o, i in decoder.layer_shapes):
        raise ValueError("the weights do not match the layer shapes")
    arrays, start = [], 0
    for out_features, in_features in decoder.layer_shapes:
        weight = values[start:start + out_features * in_features].reshape(out_features, in_features)
        start += weight.size
        arrays.append((weight, values[start:start + out_features]))
        start += out_features
    return arrays


def reference_decode(decoder: WebDecoder, z: np.ndarray) -> np.ndarray:
    """The browser's forward pass in float32 numpy: codes (N, K) or (K,) -> images in [0, 1],
    (N, H, W). GELU is exact, x Phi(x) (Hendrycks & Gimpel 2016), as in nn.GELU()."""
    h = np.asarray(z, dtype=np.float32).reshape(-1, decoder.latent_dim)
    arrays = layer_arrays(decoder)
    for index, (weight, bias) in enumerate(arrays):
        h = h @ weight.T + bias
        if index < len(arrays) - 1:
            h = (0.5 * h * (1.0 + torch.erf(torch.from_numpy(h) / np.sqrt(2.0)).numpy()))
    images = 1.0 / (1.0 + np.exp(-h.astype(np.float64)))
    return images.astype(np.float32).reshape(-1, *decoder.image_shape)
