"""Model registry: names used by checkpoints and the CLI mapped to classes and configs."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from explorer.models.autoencoder import Autoencoder, AutoencoderConfig
from explorer.models.classifier import ClassifierConfig, DigitClassifier
from explorer.models.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from explorer.models.masked_pixelcnn import MaskedPixelCNN, MaskedPixelCNNConfig
from explorer.models.pixel_transformer import PixelTransformer, PixelTransformerConfig
from explorer.models.vae import VAE, VAEConfig

MODEL_CLASSES: dict[str, type[nn.Module]] = {
    "VAE": VAE,
    "Autoencoder": Autoencoder,
    "GatedPixelCNN": GatedPixelCNN,
    "MaskedPixelCNN": MaskedPixelCNN,
    "PixelTransformer": PixelTransformer,
    "DigitClassifier": DigitClassifier,
}

CLI_ALIASES = {"vae": "VAE", "ae": "Autoencoder", "autoencoder": "Autoencoder",
               "pixelcnn": "GatedPixelCNN", "gated_pixelcnn": "GatedPixelCNN",
               "masked_pixelcnn": "MaskedPixelCNN", "transformer": "PixelTransformer",
               "pixel_transformer": "PixelTransformer", "classifier": "DigitClassifier"}

__all__ = ["AutoencoderConfig", "ClassifierConfig", "GatedPixelCNNConfig", "MaskedPixelCNNConfig",
           "PixelTransformerConfig", "VAEConfig", "MODEL_CLASSES", "build", "resolve_name"]


def resolve_name(name: str) -> str:
    """CLI alias or class name -> class name; KeyError when unknown."""
    if name in MODEL_CLASSES:
        return name
    return CLI_ALIASES[name.lower()]


def build(name: str, config: dict[str, Any] | Any) -> nn.Module:
    """Instantiate a registered model from a config dataclass or a plain dict.

    Raises KeyError for an unknown model and TypeError/ValueError for a bad config.
    """
    model_class = MODEL_CLASSES[resolve_name(name)]
    config_class = model_class.config_class
    if isinstance(config, dict):
        known = {f.name for f in dataclasses.fields(config_class)}
        unknown = set(config) - known
        if unknown:
            raise TypeError(f"unknown config keys for {model_class.__name__}: {sorted(unknown)}")
        config = config_class(**config)
    return model_class(config)
