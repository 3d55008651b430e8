"""Autoregressive sampling one pixel at a time: distributions, temperature, greedy or
sampled choices replayable from a seed, forcing a pixel, completion of partial images, and
per-pixel log-likelihood maps. Works with any explorer.models.autoregressive model."""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, MutableMapping

import numpy as np
import torch

from explorer.device import model_device
from explorer.models.autoregressive import AutoregressiveModel
from explorer.typeset import scientific

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 10.0
MAX_GUIDANCE = 10.0
U_MAX = 1.0 - 2.0 ** -24  # the largest float32 below 1, torch.rand's largest value


class SamplingError(ValueError):
    """A request the sampler cannot honour (bad value, past the end...), said plainly."""


def check_temperature(temperature: float) -> float:
    if not math.isfinite(temperature) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise SamplingError(f"Temperature must be between {MIN_TEMPERATURE} and "
                            f"{MAX_TEMPERATURE} (use greedy for the zero-temperature limit); "
                            f"got {temperature}.")
    return float(temperature)


def check_guidance(guidance: float) -> float:
    if not math.isfinite(guidance) or not 0.0 <= guidance <= MAX_GUIDANCE:
        raise SamplingError(f"Guidance must be between 0 (none) and {MAX_GUIDANCE:g}; "
                            f"got {guidance}.")
    return float(guidance)


def guided_logits(conditional: torch.Tensor, unconditional: torch.Tensor,
                  guidance: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans 2022, eq. 6, on log-probabilities):
    (1 + w) log p(x_k | x_<k, c) - w log p(x_k | x_<k), i.e. p(x_k | x_<k, c) times
    p(c | x_<k, x_k)^w by Bayes' rule, up to a constant. (B, L) logits each -> (B, L)
    logits; w = 0 gives the conditional model's distribution exactly."""
    if guidance == 0.0:
        return conditional
    conditional = torch.log_softmax(conditional.float(), -1)
    unconditional = torch.log_softmax(unconditional.float(), -1)
    return (1.0 + guidance) * conditional - guidance * unconditional


def guided_stepper(model: AutoregressiveModel, images: torch.Tensor,
                   label: torch.Tensor | int | None, guidance: float = 0.0,
                   fast: bool = True) -> Callable[[int], torch.Tensor]:
    """step(k) -> the (B, 256) logits to sample pixel k from: the model's conditional
    logits, guided away from its class-free "none" logits when guidance > 0 (twice the
    cost: both read the same `images`). Unconditional models and label None ignore it."""
    check_guidance(guidance)
    conditional = model.stepper(images, label, fast=fast)
    if guidance == 0.0 or not model.num_classes or label is None:
        return conditional
    unconditional = model.stepper(images, None, fast=fast)
    return lambda k: guided_logits(conditional(k), unconditional(k), guidance)


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
    guidance: float = 0.0  # classifier-free guidance w (guided_logits); 0: none
    image: torch.Tensor = field(init=False)  # (1, 1, H, W) uint8, filled up to position
    position: int = field(init=False, default=0)  # next pixel to sample
    history: list[PixelStep] = field(init=False, default_factory=list)
    _uniforms: torch.Tensor = field(init=False)
    _stepper: Callable[[int], torch.Tensor] | None = field(init=False, default=None)
    _stepper_model: int | None = field(init=False, default=None)
    _free: Callable[[int], torch.Tensor] | None = field(init=False, default=None)  # no class

    def __post_init__(self) -> None:
        check_temperature(self.temperature)
        check_guidance(self.guidance)
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
        self._stepper, self._free = None, None

    def _step_logits(self, model: AutoregressiveModel) -> tuple[torch.Tensor, torch.Tensor]:
        """(the model's own logits, the logits to sample from) for the next pixel, (256,)
        each: they differ only under guidance, which needs a class and a class-free pass
        (its cache is built, and warmed to this pixel, when guidance is first turned on)."""
        if self._stepper is None or self._stepper_model != id(model) or self.position == 0:
            device = model_device(model)
            self.image = self.image.to(device)
            self._stepper, self._free = model.stepper(self.image, self.label, fast=True), None
            self._stepper_model = id(model)
            for k in range(self.position):  # warm the cache up to the current position
                self._stepper(k)
        logits = self._stepper(self.position)[0]
        if self.guidance == 0 or self.label is None or not model.num_classes:
            self._free = None  # fast caches run in order: rebuilt if guidance comes back
            return logits, logits
        if self._free is None:
            self._free = model.stepper(self.image, None, fast=True)
            for k in range(self.position):
                self._free(k)
        free = self._free(self.position)[0]
        return logits, guided_logits(logits[None], free[None], self.guidance)[0]

    @torch.no_grad()
    def step(self, model: AutoregressiveModel) -> PixelStep:
        """Sample the next pixel; raises SamplingError past the end."""
        if self.done:
            raise SamplingError("The image is complete: reset to sample another.")
        k = self.position
        logits, sampled = self._step_logits(model)
        model_p = torch.softmax(logits.float(), -1)
        sample_p = tempered(sampled, self.temperature)
        value = int(choose(sample_p[None], self._uniforms[k:k + 1], self.greedy)[0])
        row, col = divmod(k, self.width)
        self.image[0, 0, row, col] = value
        step = PixelStep(k, row, col, sample_p.cpu().numpy(), model_p.cpu().numpy(), value,
                         float(-math.log2(max(float(model_p[value]), 1e-45))))
        self.history.append(step)
        self.position += 1
        return step

    def clone(self) -> "PixelSampler":
        """An independent copy (image and history list copied; steps are never mutated, so
        they are shared); its fast-path cache is rebuilt on its next step."""
        twin = copy.copy(self)
        twin.image = self.image.clone()
        twin.history = list(self.history)
        twin._stepper, twin._stepper_model, twin._free = None, None, None
        return twin

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
                  greedy: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  guidance: float = 0.0) -> torch.Tensor:
    """Whole images (count, 1, 28, 28) uint8. With `prefix` (count, 1, H, W), pixels before
    `start` are kept (completion) and the rest sampled. progress(done, total) is called
    after each row with the pixels sampled so far and the pixels to sample. guidance w > 0
    samples each pixel from guided_logits (classifier-free guidance) for a given label."""
    check_temperature(temperature)
    device = model_device(model)
    height, width = (28, 28) if prefix is None else prefix.shape[-2:]
    images = torch.zeros((count, 1, height, width), dtype=torch.uint8, device=device)
    if prefix is not None:
        images.copy_(prefix.to(device))
        images.view(count, -1)[:, start:] = 0
    uniforms = seeded_uniforms(seed, count, height * width)
    stepper = guided_stepper(model, images, label, guidance, fast)
    for k in range(height * width):
        logits = stepper(k)
        if k < start:
            continue
        values = choose(tempered(logits, temperature), uniforms[:, k], greedy)
        images.view(count, -1)[:, k] = values.to(torch.uint8)
        if progress is not None and (k + 1) % width == 0:
            progress(k + 1 - start, height * width - start)
    return images.cpu()


@torch.no_grad()
def per_pixel_bits(model: AutoregressiveModel, images: torch.Tensor,
                   label: int | None = None) -> np.ndarray:
    """-log2 p(x_k | x_<k) for every pixel, (B, H, W): one forward pass."""
    device = model_device(model)
    images = images.to(device)
    labels = model.label_tensor(label, images.shape[0], device) if model.num_classes else None
    log_p = torch.log_softmax(model.logits_from_float(model.to_input(images), labels), 1)
    chosen = log_p.gather(1, images.long())[:, 0]
    return (-chosen / math.log(2)).cpu().numpy()


def session_sampler(state: MutableMapping[str, Any], model_key: str, seed: int,
                    label: int | None, temperature: float, greedy: bool,
                    guidance: float = 0.0) -> PixelSampler:
    """The user's sampler kept in a per-user mapping (e.g. st.session_state): a new one when
    the model, seed or class changes; temperature, greedy and guidance apply from the next
    step."""
    key = (model_key, int(seed), label)
    if state.get("ar_sampler_key") != key or "ar_sampler" not in state:
        state["ar_sampler_key"] = key
        state["ar_sampler"] = PixelSampler(label=label, seed=int(seed))
    sampler: PixelSampler = state["ar_sampler"]
    sampler.temperature, sampler.greedy = check_temperature(float(temperature)), bool(greedy)
    sampler.guidance = check_guidance(float(guidance))
    return sampler


@torch.no_grad()
def advance(sampler: PixelSampler, model: AutoregressiveModel, count: int) -> int:
    """Sample up to `count` more pixels (fewer at the end); returns how many were taken."""
    taken = min(max(0, int(count)), sampler.total - sampler.position)
    for _ in range(taken):
        sampler.step(model)
    return taken


def advance_row(sampler: PixelSampler, model: AutoregressiveModel) -> int:
    """Sample to the end of the current row."""
    return advance(sampler, model, sampler.width - sampler.position % sampler.width)


def describe_step(step: PixelStep) -> str:
    """One sentence on a sampled pixel: where, its entropy, the level taken and its cost
    (a sentence, ended: a note can follow it in the same caption)."""
    return (f"Pixel {step.index}, counted from 0 (row {step.row}, column {step.col}): entropy "
            f"{step.entropy_bits:.2f} bits, took {step.value} with p = "
            f"{_probability(float(step.model_probabilities[step.value]))} ({step.bits:.2f} bits)"
            + (", forced by you." if step.forced else "."))


def _probability(p: float) -> str:
    """0.512, or 1.2 × 10⁻¹² for a small one (never a bare 0.000 beside a finite cost)."""
    return f"{p:.3f}" if p >= 0.001 else scientific(p, 2)


def distribution_note(step: PixelStep) -> str | None:
    """Why a pixel's 256 bars look like one spike, computed from its distribution; None when
    the mass is spread out."""
    top = int(np.argmax(step.model_probabilities))
    p = float(step.model_probabilities[top])
    shown = np.asarray(step.probabilities, dtype=np.float64)
    taken = float(shown[step.value])
    if p < 0.9:
        if taken < 0.03 * float(shown.max()):  # the arrow would point at an invisible bar
            return (f"The level taken, {step.value}, had p = {_probability(taken)}: "
                    f"its bar is under 3% of the tallest ({int(np.argmax(shown))}), too small "
                    "to see. Switch on the log scale to see it.")
        return None
    why = " (sure it is background: MNIST digits sit on black)" if top == 0 else ""
    return (f"p = {p:.3f} on level {top}{why}: the other 255 bars are too small to see; the "
            "log scale shows them.")


def keep_rows(image: torch.Tensor | np.ndarray, rows: int) -> np.ndarray:
    """The top `rows` rows of a (H, W) image, the rest black: the prompt of a completion."""
    kept = np.array(image, dtype=np.uint8, copy=True)
    kept[int(rows):] = 0
    return kept


@torch.no_grad()
def complete(model: AutoregressiveModel, image: torch.Tensor | np.ndarray, rows: int,
             count: int = 4, label: int | None = None, temperature: float = 1.0,
             seed: int = 0, progress: Callable[[int, int], None] | None = None,
             guidance: float = 0.0) -> np.ndarray:
    """`count` completions of a uint8 (H, W) image kept down to `rows` rows, drawn in one
    batched pass (with classifier-free guidance w = `guidance` given a label): (count, H, W)
    uint8."""
    source = torch.as_tensor(np.asarray(image, dtype=np.uint8))
    height, width = source.shape
    prefix = source.reshape(1, 1, height, width).repeat(count, 1, 1, 1)
    outs = sample_images(model, count, label, float(temperature), seed=int(seed),
                         prefix=prefix, start=int(rows) * width, progress=progress,
                         guidance=guidance)
    return outs[:, 0].numpy()


def forced_values(sampler: PixelSampler) -> dict[int, int]:
    """Pixels the user forced: scanline index -> grey level."""
    return {step.index: step.value for step in sampler.history if step.forced}


def format_forced(forced: dict[int, int]) -> str:
    """'190:255,191:0' (for a link); '' when nothing was forced."""
    return ",".join(f"{index}:{value}" for index, value in sorted(forced.items()))


def parse_steps(text: str, limit: int = 784) -> int:
    """A link's count of sampled pixels: an integer 0..limit, else ValueError."""
    steps = int(text)
    if not 0 <= steps <= limit:
        raise ValueError(f"must be between 0 and {limit}")
    return steps


def parse_forced(text: str, limit: int = 784) -> dict[int, int]:
    """Inverse of format_forced; SamplingError for anything else."""
    forced: dict[int, int] = {}
    for item in filter(None, (text or "").split(",")):
        index, _, value = item.partition(":")
        if not (index.isdigit() and value.isdigit()) or int(index) >= limit \
                or int(value) > 255:
            raise SamplingError(f"'{item}' is not pixel:level with a pixel below {limit} and "
                                "a level 0..255.")
        forced[int(index)] = int(value)
    return forced


@torch.no_grad()
def replay(sampler: PixelSampler, model: AutoregressiveModel, steps: int,
           forced: dict[int, int]) -> None:
    """Rebuild a sampling run from its seed: `steps` pixels, forcing the given ones right
    after they are sampled, as the user did. The same model and seed give the same image,
    bit for bit. Raises SamplingError for a forced pixel at or beyond `steps`."""
    steps = max(0, min(int(steps), sampler.total))
    if any(index >= steps for index in forced):
        raise SamplingError("A forced pixel lies beyond the pixels sampled.")
    done = forced_values(sampler)
    prefix_holds = sampler.position <= steps and all(
        forced.get(index) == value for index, value in done.items()) and all(
        done.get(index) == value for index, value in forced.items() if index < sampler.position)
    if not prefix_holds:  # otherwise carry on from where this sampler stands (a follower)
        sampler.reset()
    for index in range(sampler.position, steps):
        sampler.step(model)
        if index in forced:
            sampler.force(forced[index])


class SharedReplays:
    """Sampling runs rebuilt from links, shared by every session of a process: a presenter's
    followers each get a copy of one replay, advanced step by step as the presenter goes,
    instead of each replaying from the first pixel. Keeps the latest run of at most
    `max_runs` (model, seed, class, temperature, greedy, guidance) combinations."""

    def __init__(self, max_runs: int = 16):
        self.max_runs = max_runs
        self._runs: dict[tuple, PixelSampler] = {}
        self._lock = threading.Lock()

    def get(self, model: AutoregressiveModel, model_key: str, seed: int, label: int | None,
            temperature: float, greedy: bool, steps: int, forced: dict[int, int],
            guidance: float = 0.0) -> PixelSampler:
        """A copy of the run at `steps` pixels with `forced` values (SamplingError when a
        forced pixel lies beyond `steps`)."""
        key = (model_key, int(seed), label, float(temperature), bool(greedy), float(guidance))
        with self._lock:
            run = self._runs.pop(key, None)
            if run is None:
                run = PixelSampler(label=label, seed=int(seed), temperature=temperature,
                                   greedy=greedy, guidance=guidance)
            replay(run, model, steps, forced)  # carries on when it is a prefix
            self._runs[key] = run  # most recently used last
            self._trim()
            return run.clone()

    def share(self, model_key: str, sampler: PixelSampler) -> None:
        """Keep a copy of a run made step by step (a presenter's), so that get() for its
        position finds it done instead of sampling those pixels again. The same seed gives
        the same pixels either way, so only the time differs."""
        key = (model_key, int(sampler.seed), sampler.label, float(sampler.temperature),
               bool(sampler.greedy), float(sampler.guidance))
        twin = sampler.clone()
        with self._lock:
            self._runs.pop(key, None)
            self._runs[key] = twin
            self._trim()

    def _trim(self) -> None:
        while len(self._runs) > self.max_runs:
            self._runs.pop(next(iter(self._runs)))
