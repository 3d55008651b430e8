"""Autoregressive sampling one pixel at a time: distributions, temperature, greedy or
sampled choices replayable from a seed, forcing a pixel, completion of partial images, and
per-pixel log-likelihood maps. Works with any explorer.models.autoregressive model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from explorer.models.autoregressive import AutoregressiveModel

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 10.0
U_MAX = 1.0 - 2.0 ** -24  # the largest float32 below 1, torch.rand's largest value


class SamplingError(ValueError):
    """A request the sampler cannot honour (bad value, past the end...), said plainly."""


def check_temperature(temperature: float) -> float:
    if not math.isfinite(temperature) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise SamplingError(f"Temperature must be between {MIN_TEMPERATURE} and "
                            f"{MAX_TEMPERATURE} (use greedy for the zero-temperature limit); "
                            f"got {temperature}.")
    return float(temperature)


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) along the last dimension."""
    return torch.softmax(logits.float() / temperature, dim=-1)


def choose(probabilities: torch.Tensor, uniforms: torch.Tensor, greedy: bool) -> torch.Tensor:
    """Inverse-CDF sampling with given uniforms (so a seed replays the same choices), or
    the most likely value when greedy. probabilities (B, L) >= 0, uniforms (B,) in [0, 1)
    -> (B,) int64 levels.

    A level whose probability is 0 is never chosen, for any uniform: the CDF is summed in
    float64 and searched from the right (the first level whose CDF exceeds u * total), so
    u = 0.0, which torch.rand does return, skips leading zeros, and a float32 sum that falls
    short of 1 cannot push u past the last level that has mass. Negative or non-finite
    entries count as 0; a row with no mass at all raises SamplingError.
    """
    if greedy:
        return probabilities.argmax(-1)
    # float64 on the CPU: exact enough for 256 levels, and MPS has no float64.
    p = torch.nan_to_num(probabilities.detach().to("cpu", torch.float64), nan=0.0, posinf=0.0)
    cumulative = p.clamp_min_(0.0).cumsum(-1)  # (B, L), non-decreasing
    total = cumulative[:, -1:]  # (B, 1)
    if not bool((total > 0).all()):
        raise SamplingError("A distribution to sample from has no positive probability.")
    # u <= 1 - 2**-24 (torch.rand's largest float32) keeps u * total below total by far more
    # than float64 rounding, so the search never runs past the last level with mass; a
    # uniform of exactly 1.0 (outside [0, 1)) is treated as that largest one.
    u = uniforms.detach().to("cpu", torch.float64).clamp(0.0, U_MAX)[:, None]  # (B, 1)
    levels = torch.searchsorted(cumulative, u * total, right=True).squeeze(-1)  # (B,)
    return levels.to(probabilities.device)


def seeded_uniforms(seed: int, batch: int, length: int) -> torch.Tensor:
    return torch.rand((batch, length), generator=torch.Generator().manual_seed(int(seed)))


@dataclass
class PixelStep:
    index: int  # position k in scanline order
    row: int
    col: int
    probabilities: np.ndarray  # (256,) distribution sampled from (after temperature)
    model_probabilities: np.ndarray  # (256,) the model's p(x_k | x_<k) at temperature 1
    value: int  # grey level taken
    bits: float  # -log2 p_model(value | earlier pixels)
    forced: bool = False

    @property
    def entropy_bits(self) -> float:
        p = self.model_probabilities[self.model_probabilities > 0]
        return float(-(p * np.log2(p)).sum())


@dataclass
class PixelSampler:
    """Interactive, per-user sampling state for one image (kept in st.session_state)."""

    height: int = 28
    width: int = 28
    label: int | None = None
    temperature: float = 1.0
    greedy: bool = False
    seed: int = 0
    image: torch.Tensor = field(init=False)  # (1, 1, H, W) uint8, filled up to position
    position: int = field(init=False, default=0)  # next pixel to sample
    history: list[PixelStep] = field(init=False, default_factory=list)
    _uniforms: torch.Tensor = field(init=False)
    _stepper: Callable[[int], torch.Tensor] | None = field(init=False, default=None)
    _stepper_model: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        check_temperature(self.temperature)
        self.reset()

    @property
    def total(self) -> int:
        return self.height * self.width

    @property
    def done(self) -> bool:
        return self.position >= self.total

    def reset(self) -> None:
        self.image = torch.zeros((1, 1, self.height, self.width), dtype=torch.uint8)
        self.position = 0
        self.history = []
        self._uniforms = seeded_uniforms(self.seed, 1, self.total)[0]
        self._stepper = None

    def _step_logits(self, model: AutoregressiveModel) -> torch.Tensor:
        if self._stepper is None or self._stepper_model != id(model) or self.position == 0:
            device = next(model.parameters()).device
            self.image = self.image.to(device)
            self._stepper = model.stepper(self.image, self.label, fast=True)
            self._stepper_model = id(model)
            for k in range(self.position):  # warm the cache up to the current position
                self._stepper(k)
        return self._stepper(self.position)[0]

    @torch.no_grad()
    def step(self, model: AutoregressiveModel) -> PixelStep:
        """Sample the next pixel; raises SamplingError past the end."""
        if self.done:
            raise SamplingError("The image is complete: reset to sample another.")
        k = self.position
        logits = self._step_logits(model)
        model_p = torch.softmax(logits.float(), -1)
        sample_p = tempered(logits, self.temperature)
        value = int(choose(sample_p[None], self._uniforms[k:k + 1], self.greedy)[0])
        row, col = divmod(k, self.width)
        self.image[0, 0, row, col] = value
        step = PixelStep(k, row, col, sample_p.cpu().numpy(), model_p.cpu().numpy(), value,
                         float(-math.log2(max(float(model_p[value]), 1e-45))))
        self.history.append(step)
        self.position += 1
        return step

    def force(self, value: int) -> PixelStep:
        """Replace the last sampled pixel's value; later pixels are sampled given it."""
        if not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= 255:
            raise SamplingError(f"A grey level must be an integer from 0 to 255; got {value!r}.")
        if not self.history:
            raise SamplingError("Sample a pixel first, then force its value.")
        last = self.history[-1]
        self.image[0, 0, last.row, last.col] = int(value)
        p = float(last.model_probabilities[int(value)])
        self.history[-1] = PixelStep(last.index, last.row, last.col, last.probabilities,
                                     last.model_probabilities, int(value),
                                     float(-math.log2(max(p, 1e-45))), forced=True)
        return self.history[-1]

    @property
    def bits_so_far(self) -> float:
        """-log2 p(x_1..x_k) = sum of per-pixel -log2 p: the likelihood as a product."""
        return float(sum(step.bits for step in self.history))

    @property
    def bits_per_dim(self) -> float:
        return self.bits_so_far / max(len(self.history), 1)


@torch.no_grad()
def sample_images(model: AutoregressiveModel, count: int, label: int | None = None,
                  temperature: float = 1.0, seed: int = 0, fast: bool = True,
                  prefix: torch.Tensor | None = None, start: int = 0,
                  greedy: bool = False) -> torch.Tensor:
    """Whole images (count, 1, 28, 28) uint8. With `prefix` (count, 1, H, W), pixels before
    `start` are kept (completion) and the rest sampled."""
    check_temperature(temperature)
    device = next(model.parameters()).device
    height, width = (28, 28) if prefix is None else prefix.shape[-2:]
    images = torch.zeros((count, 1, height, width), dtype=torch.uint8, device=device)
    if prefix is not None:
        images.copy_(prefix.to(device))
        images.view(count, -1)[:, start:] = 0
    uniforms = seeded_uniforms(seed, count, height * width)
    stepper = model.stepper(images, label, fast=fast)
    for k in range(height * width):
        logits = stepper(k)
        if k < start:
            continue
        values = choose(tempered(logits, temperature), uniforms[:, k], greedy)
        images.view(count, -1)[:, k] = values.to(torch.uint8)
    return images.cpu()


def iterate_pixels(model: AutoregressiveModel, label: int | None = None,
                   temperature: float = 1.0, seed: int = 0) -> Iterator[PixelStep]:
    """Generator form: yields every pixel's step (distribution, value, log-probability)."""
    sampler = PixelSampler(label=label, temperature=temperature, seed=seed)
    while not sampler.done:
        yield sampler.step(model)


@torch.no_grad()
def per_pixel_bits(model: AutoregressiveModel, images: torch.Tensor,
                   label: int | None = None) -> np.ndarray:
    """-log2 p(x_k | x_<k) for every pixel, (B, H, W): one forward pass."""
    device = next(model.parameters()).device
    images = images.to(device)
    labels = model.label_tensor(label, images.shape[0], device) if model.num_classes else None
    log_p = torch.log_softmax(model.logits_from_float(model.to_input(images), labels), 1)
    chosen = log_p.gather(1, images.long())[:, 0]
    return (-chosen / math.log(2)).cpu().numpy()
