"""Small synthetic 1-D and 2-D densities (mixtures, rings, moons) with exact log-densities."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Mixture1D:
    """A 1-D Gaussian mixture: p(x) = sum_k w_k N(x; mu_k, sigma_k^2)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def log_density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)[..., None]
        w, mu, sd = (np.asarray(v, dtype=np.float64) for v in (self.weights, self.means, self.stds))
        log_components = (np.log(w) - 0.5 * ((x - mu) / sd) ** 2 - np.log(sd)
                          - 0.5 * math.log(2 * math.pi))
        top = log_components.max(axis=-1, keepdims=True)
        return (top + np.log(np.exp(log_components - top).sum(-1, keepdims=True)))[..., 0]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        k = rng.choice(len(self.weights), size=n, p=np.asarray(self.weights) / sum(self.weights))
        return rng.normal(np.asarray(self.means)[k], np.asarray(self.stds)[k])


DENSITIES_1D = {
    "two bumps": Mixture1D((0.5, 0.5), (-2.0, 2.0), (0.6, 0.8)),
    "skewed": Mixture1D((0.6, 0.3, 0.1), (-1.0, 0.5, 2.5), (0.5, 0.8, 1.2)),
    "heavy-tailed": Mixture1D((0.8, 0.2), (0.0, 0.0), (0.5, 3.0)),
    "three bumps": Mixture1D((0.3, 0.4, 0.3), (-3.0, 0.0, 3.0), (0.5, 0.5, 0.5)),
}


def sample_2d(name: str, n: int, seed: int = 0, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 2) and integer labels (n,) from a named 2-D toy set: moons, rings, mixture."""
    if n < 0:
        raise ValueError("n must be non-negative")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2 if name != "mixture" else 3, size=n)
    if name == "moons":
        t = rng.uniform(0, math.pi, size=n)
        upper = np.stack([np.cos(t), np.sin(t)], axis=1)
        lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
        points = np.where(labels[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    elif name == "rings":
        t = rng.uniform(0, 2 * math.pi, size=n)
        radius = np.where(labels == 0, 0.8, 2.0)
        points = radius[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
    elif name == "mixture":
        centres = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])
        points = centres[labels] + rng.normal(scale=0.5, size=(n, 2))
        return points, labels
    else:
        raise ValueError(f"Unknown 2-D set '{name}': use moons, rings or mixture")
    return points + rng.normal(scale=noise, size=(n, 2)), labels


TOY_2D_NAMES = ("moons", "rings", "mixture")


@dataclass
class Grid2D:
    """A square evaluation grid for contour plots."""

    low: float = -3.0
    high: float = 3.0
    size: int = 80
    xs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.xs = np.linspace(self.low, self.high, self.size)

    def points(self) -> np.ndarray:
        xx, yy = np.meshgrid(self.xs, self.xs)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)  # (size*size, 2), row = y index
