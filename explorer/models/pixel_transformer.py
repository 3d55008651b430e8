"""A small causal Transformer over the pixel sequence (the lecture's other autoregressive
family): tokens are the 256 grey levels in scanline order, shifted right behind a start
token that carries the class; causal self-attention predicts token k from tokens < k.
Sampling uses a key/value cache, so each step attends once instead of rerunning 784
positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.autoregressive import AutoregressiveModel


@dataclass
class PixelTransformerConfig:
    d_model: int = 64  # width of the residual stream
    layers: int = 3
    heads: int = 4
    sequence: int = 784  # pixels per image (28 x 28)
    num_classes: int = 10  # class carried by the start token (index num_classes = "none")
    class_dropout: float = 0.1
    class_every_position: bool = False  # also add the class embedding to every position
    position_2d: bool = False  # row + column embeddings instead of one per position
    height: int = 28  # image side, for 2-D positions (height * width == sequence)

    def validate(self) -> None:
        if self.d_model % self.heads:
            raise ValueError("d_model must be divisible by heads")
        if self.layers < 1 or self.sequence < 1:
            raise ValueError("layers and sequence must be positive")
        if self.position_2d and (self.height < 1 or self.sequence % self.height):
            raise ValueError("with 2-D positions, sequence must be a multiple of height")


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        batch, length, width = t.shape
        return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """x (B, T, D). With a cache, x holds only the new positions, appended to it."""
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = self._split(q), self._split(k), self._split(v)  # (B, heads, T, D/heads)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
            attended = F.scaled_dot_product_attention(q, k, v)  # new tokens see all cached
        else:
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(self.norm2(x))


class PixelTransformer(AutoregressiveModel):
    config_class: ClassVar[type] = PixelTransformerConfig

    def __init__(self, config: PixelTransformerConfig):
        super().__init__(config)
        d = config.d_model
        self.token = nn.Embedding(256, d)
        self.start = nn.Embedding(config.num_classes + 1, d)  # class (or "none") start token
        if config.position_2d:
            width = config.sequence // config.height
            self.row_position = nn.Parameter(torch.randn(config.height, 1, d) * 0.02)
            self.column_position = nn.Parameter(torch.randn(1, width, d) * 0.02)
        else:
            self.position = nn.Parameter(torch.randn(config.sequence, d) * 0.02)
        self.class_bias = (nn.Embedding(config.num_classes + 1, d)
                           if config.class_every_position and config.num_classes else None)
        self.value_in = nn.Linear(1, d)  # grey level as a number, beside its embedding
        self.blocks = nn.ModuleList(Block(d, config.heads) for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, 256)

    def _labels(self, labels: torch.Tensor | None, batch: int, device) -> torch.Tensor:
        if labels is None:
            labels = torch.full((batch,), self.config.num_classes, dtype=torch.long,
                                device=device)
        return labels

    def _start(self, labels: torch.Tensor | None, batch: int, device) -> torch.Tensor:
        return self.start(self._labels(labels, batch, device))[:, None]  # (B, 1, D)

    def positions(self, start: int, end: int) -> torch.Tensor:
        """Position embeddings of sequence positions start..end-1, (end - start, D)."""
        if self.config.position_2d:
            grid = (self.row_position + self.column_position).flatten(0, 1)  # (H*W, D)
            return grid[start:end]
        return self.position[start:end]

    def _with_class(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Add the class embedding to every position (when configured); h (B, T, D)."""
        if self.class_bias is None:
            return h
        return h + self.class_bias(self._labels(labels, h.shape[0], h.device))[:, None]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """x floats in [-1, 1] (B, 1, H, W) -> token embeddings (B, H*W, D)."""
        flat = x.flatten(1)
        levels = ((flat + 1.0) * 127.5).round().clamp(0, 255).long()
        # the value path keeps gradients w.r.t. x (for influence maps); the lookup is exact
        return self.token(levels) + self.value_in(flat[..., None])

    def logits_from_float(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        batch, _, height, width = x.shape
        tokens = self.embed(x)[:, :-1]  # shift right: position k sees tokens < k
        h = torch.cat([self._start(labels, batch, x.device), tokens], 1) \
            + self.positions(0, height * width)
        h = self._with_class(h, labels)
        for block in self.blocks:
            h = block(h)
        logits = self.out(self.norm(h))  # (B, H*W, 256)
        return logits.transpose(1, 2).reshape(batch, 256, height, width)

    def make_fast_stepper(self, images: torch.Tensor, labels: torch.Tensor | None
                          ) -> Callable[[int], torch.Tensor]:
        """Key/value cache: step k feeds only token k-1 (or the start token) through."""
        caches = [dict() for _ in self.blocks]
        width = images.shape[-1]

        def step(k: int) -> torch.Tensor:
            if k == 0:
                h = self._start(labels, images.shape[0], images.device)
            else:
                r, c = divmod(k - 1, width)
                h = self.embed(self.to_input(images[:, :, r:r + 1, c:c + 1]))
            h = self._with_class(h + self.positions(k, k + 1), labels)
            for block, cache in zip(self.blocks, caches):
                h = block(h, cache)
            return self.out(self.norm(h))[:, 0]

        return step



