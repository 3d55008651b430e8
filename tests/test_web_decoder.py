"""The browser export of a VAE decoder: exact round trip, checksum, the 1/255 bound, refusals."""

import zlib

import numpy as np
import pytest
import torch

from explorer import checkpoints, latent, web_decoder
from explorer.imaging import to_uint8
from explorer.models.vae import VAE, VAEConfig
from explorer.web_decoder import UnsupportedDecoder, WebDecoder


def tiny_vae(**overrides) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(**{"latent_dim": 3, "hidden": 24, **overrides})).eval()


def test_weights_round_trip_as_float16():
    model = tiny_vae()
    exported = web_decoder.export_decoder(model)
    assert isinstance(exported, WebDecoder)
    linears = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert exported.layer_shapes == ((24, 3), (24, 24), (784, 24))
    for (weight, bias), layer in zip(web_decoder.layer_arrays(exported), linears):
        np.testing.assert_array_equal(weight, layer.weight.detach().half().float().numpy())
        np.testing.assert_array_equal(bias, layer.bias.detach().half().float().numpy())
    parameters = sum(p.numel() for p in model.decoder.parameters())
    assert len(exported.weights) == 2 * parameters
    assert exported.nbytes > len(exported.weights)


def test_checksum_is_zlib_crc32_and_catches_one_flipped_bit():
    exported = web_decoder.export_decoder(tiny_vae())
    assert exported.checksum == zlib.crc32(exported.weights)
    damaged = bytearray(exported.weights)
    damaged[len(damaged) // 2] ^= 0x01
    broken = WebDecoder(**{**exported.__dict__, "weights": bytes(damaged)})
    with pytest.raises(ValueError, match="CRC-32"):
        web_decoder.layer_arrays(broken)


def test_reference_decode_is_exact_for_float16_weights():
    model = tiny_vae(likelihood="gaussian")
    with torch.no_grad():
        for parameter in model.decoder.parameters():
            parameter.copy_(parameter.half().float())
    exported = web_decoder.export_decoder(model)
    z = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32) * 2
    np.testing.assert_allclose(web_decoder.reference_decode(exported, z),
                               latent.decode_arrays(model, z), atol=2e-6)


def test_float16_export_stays_within_one_level_of_torch():
    model = tiny_vae(hidden=64)
    with torch.no_grad():  # larger weights than at init, so fp16 rounding matters more
        for parameter in model.decoder.parameters():
            parameter.mul_(3.0)
    exported = web_decoder.export_decoder(model)
    z = np.random.default_rng(2).normal(size=(500, 3)).astype(np.float32) * 2
    browser = to_uint8(web_decoder.reference_decode(exported, z)).astype(int)
    torch_levels = to_uint8(latent.decode_arrays(model, z)).astype(int)
    assert np.abs(browser - torch_levels).max() <= 1
    assert (browser != torch_levels).mean() < 0.05  # mostly identical, not merely close


@pytest.mark.skipif(not (checkpoints.checkpoint_dir() / "vae16_mnist.pt").is_file(),
                    reason="shipped checkpoint vae16_mnist not present")
def test_shipped_vae_exports_losslessly():
    model, _ = checkpoints.load(checkpoints.checkpoint_dir() / "vae16_mnist", device="cpu")
    exported = web_decoder.export_decoder(model)
    assert isinstance(exported, WebDecoder)
    z = np.random.default_rng(3).normal(size=(200, 16)).astype(np.float32) * 1.5
    browser = to_uint8(web_decoder.reference_decode(exported, z)).astype(int)
    assert np.abs(browser - to_uint8(latent.decode_arrays(model, z)).astype(int)).max() <= 1
    selftest = to_uint8(web_decoder.reference_decode(exported, np.array(exported.selftest_z)))
    assert np.abs(selftest.astype(int).ravel()
                  - np.frombuffer(exported.selftest_levels, np.uint8)).max() <= 1


def test_conv_decoder_is_refused_with_a_reason():
    answer = web_decoder.export_decoder(tiny_vae(architecture="conv"))
    assert isinstance(answer, UnsupportedDecoder)
    assert "conv" in answer.reason and "server" in answer.reason


def test_decoder_whose_output_is_not_a_sigmoid_is_refused():
    class LogitVAE(VAE):
        def decode_images(self, z):
            return self.decoder(z).clamp(0, 1)

    torch.manual_seed(0)
    answer = web_decoder.export_decoder(LogitVAE(VAEConfig(latent_dim=3, hidden=24)).eval())
    assert isinstance(answer, UnsupportedDecoder)
    assert "sigmoid" in answer.reason
