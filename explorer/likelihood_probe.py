"""Inputs for "does the density model know what it doesn't know?": a test digit, the same
digit rolled (wrapping around), noise, a blank image, scribbles and (when on disk) a Fashion-MNIST image,
scored in bits/dim, with a verdict computed from the scores (Nalisnick et al. 2019, "Do
deep generative models know what they don't know?")."""

from __future__ import annotations

import numpy as np
import torch

from explorer.gen_disc import scribble
from explorer.models.autoregressive import AutoregressiveModel
from explorer.sampling import per_pixel_bits

PROBE_DIGIT_INDEX = 0  # the MNIST test digit both pages score (the first: a 7), so the
# PixelCNN's Likelihood tab and the Images tab of Generative vs discriminative agree


def probe_inputs(digit: np.ndarray | None = None, fashion: np.ndarray | None = None,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """name -> uint8 image (28, 28). The digit and its rolled copy need a test digit; the
    Fashion-MNIST item needs that data set."""
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    if digit is not None:
        digit = np.asarray(digit, dtype=np.uint8)
        inputs["test digit"] = digit
        inputs["rolled digit, wrapped"] = np.roll(digit, (9, 9), (0, 1))
    inputs["noise"] = rng.integers(0, 256, (28, 28)).astype(np.uint8)
    inputs["scribble"] = scribble(seed)
    inputs["blank"] = np.zeros((28, 28), np.uint8)
    if fashion is not None:
        inputs["Fashion-MNIST"] = np.asarray(fashion, dtype=np.uint8)
    return inputs


def percent(share: float) -> str:
    """A share in [0, 1] as a percentage that never rounds up to a certainty it is not:
    '97.3%', 'over 99.9%' (not '100.0%'), '100%' only for exactly 1."""
    if share >= 1.0:
        return "100%"
    return "over 99.9%" if share > 0.999 else f"{share:.1%}"


def verdict(bits_per_dim: dict[str, float], reference: str = "test digit") -> str:
    """What the scores on screen say: which inputs the model rates less likely than the
    reference digit (it could reject them) and which it rates *more* likely (it cannot),
    computed from the numbers, so it never contradicts them."""
    if reference not in bits_per_dim:
        ranked = sorted(bits_per_dim, key=bits_per_dim.get)
        return ("Lower bits/dim means more likely. From most to least likely: "
                + ", ".join(f"{n} ({bits_per_dim[n]:#.3g} bits/dim)" for n in ranked) + ".")
    base = bits_per_dim[reference]
    others = {n: b for n, b in bits_per_dim.items() if n != reference}
    rejected = [n for n, b in others.items() if b > base]
    preferred = [n for n, b in others.items() if b <= base]
    text = f"The {reference} costs {base:#.3g} bits/dim. "
    pronoun = lambda names: "it" if len(names) == 1 else "them"  # noqa: E731
    if rejected:
        text += (f"Rated less likely, so a threshold could reject {pronoun(rejected)}: "
                 + ", ".join(f"{n} ({others[n]:#.3g} bits/dim)" for n in rejected) + ". ")
    if preferred:
        text += ("Rated at least as likely as the digit, so a likelihood threshold would "
                 f"accept {pronoun(preferred)}: "
                 + ", ".join(f"{n} ({others[n]:#.3g} bits/dim)" for n in preferred)
                 + ". Likelihood rewards simple inputs, so a likely input is not always a "
                 "typical one.")
    return text.strip()


def score(model: AutoregressiveModel, inputs: dict[str, np.ndarray], label: int | None = None
          ) -> tuple[dict[str, float], np.ndarray]:
    """Mean bits/dim per input and the per-pixel bits (N, H, W), -log2 p(x_k | x_<k)."""
    stack = torch.from_numpy(np.stack(list(inputs.values())).astype(np.uint8))[:, None]
    bits = per_pixel_bits(model, stack, label)
    return {name: float(heat.mean()) for name, heat in zip(inputs, bits)}, bits
