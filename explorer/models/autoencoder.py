"""Plain deterministic autoencoder with an L2 loss, the contrast to the VAE.

It shares the VAE's encoder/decoder shapes (explorer.models.vae) so the two differ only
in the objective: no posterior noise and no KL term, hence no reason for the codes to
fill N(0, I), which is why decoding prior samples gives garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from explorer.device import model_device
from explorer.models.vae import build_decoder, build_encoder, to_unit


@dataclass
class AutoencoderConfig:
    latent_dim: int = 16  # size of the code z
    architecture: str = "mlp"  # "mlp" or "conv"
    hidden: int = 512  # width of the hidden layers

    def validate(self) -> None:
        if self.latent_dim < 1 or self.hidden < 1:
            raise ValueError("latent_dim and hidden must be at least 1")
        if self.architecture not in ("mlp", "conv"):
            raise ValueError("architecture must be 'mlp' or 'conv'")


class Autoencoder(nn.Module):
    config_class: ClassVar[type] = AutoencoderConfig
    metric_name: ClassVar[str] = "test_mse_per_image"
    metric_unit: ClassVar[str] = "squared error summed over 784 pixels in [0, 1]"

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = build_encoder(config.architecture, config.hidden, config.latent_dim)
        self.decoder = build_decoder(config.architecture, config.hidden, config.latent_dim)

    @property
    def live_hyperparameters(self) -> dict[str, float]:
        return {}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x in [0, 1] (B, 1, 28, 28) -> code (B, K)."""
        return self.encoder(x)

    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """code (B, K) -> image in [0, 1] (B, 1, 28, 28)."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_images(self.encode(x))

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor,
                      hyper: dict[str, float]) -> dict[str, torch.Tensor]:
        """L2 reconstruction loss ||x - dec(enc(x))||^2 summed over pixels, mean over batch."""
        x = to_unit(images)
        squared_error = (self(x) - x).pow(2).flatten(1).sum(1)
        return {"loss": squared_error.mean(), "reconstruction": squared_error.mean().detach()}

    @torch.no_grad()
    def test_metric(self, images: torch.Tensor, labels: torch.Tensor,
                    samples: int = 1) -> torch.Tensor:
        x = to_unit(images)
        return (self(x) - x).pow(2).flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode codes drawn from N(0, I): what a VAE would do, and what an AE cannot."""
        device = model_device(self)
        z = torch.randn((n, self.config.latent_dim), generator=generator).to(device)
        return self.decode_images(z)
