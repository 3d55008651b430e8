"""Density estimation on toy data: histograms, kernel density estimates, a Gaussian mixture
fitted by gradient ascent on the log-likelihood, the log trick, the "budget of mass" idea,
and a discretised 2-D chain rule p(x1, x2) = p(x1) p(x2 | x1). NumPy/torch only."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.typeset import scientific, signed

MAX_COMPONENTS = 50
MAX_SAMPLES = 100_000


class DensityInputError(ValueError):
    """An input the estimators cannot use (no samples, zero bandwidth...), said plainly."""


def check_samples(samples: np.ndarray, minimum: int = 1) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size < minimum:
        raise DensityInputError(f"Need at least {minimum} sample(s) to fit a density; got "
                                f"{samples.size}.")
    if len(samples) > MAX_SAMPLES:
        raise DensityInputError(f"At most {MAX_SAMPLES:,} samples, please.")
    if not np.isfinite(samples).all():
        raise DensityInputError("Samples must be finite numbers.")
    return samples


def check_width(width: float, name: str = "bandwidth") -> float:
    if not math.isfinite(width) or width <= 0:
        raise DensityInputError(f"The {name} must be a positive number; got {width}.")
    return float(width)


def histogram_density(samples: np.ndarray, bin_width: float, grid: np.ndarray) -> np.ndarray:
    """Histogram estimate p(x) = count(bin of x) / (N * bin width) evaluated on a grid."""
    samples = check_samples(samples)
    bin_width = check_width(bin_width, "bin width")
    edges_start = math.floor(samples.min() / bin_width) * bin_width
    index = np.floor((np.asarray(grid) - edges_start) / bin_width).astype(int)
    counts = np.bincount(np.floor((samples - edges_start) / bin_width).astype(int))
    inside = (index >= 0) & (index < len(counts))
    density = np.zeros(len(grid))
    density[inside] = counts[index[inside]] / (len(samples) * bin_width)
    return density


def kde(samples: np.ndarray, bandwidth: float, points: np.ndarray) -> np.ndarray:
    """Gaussian kernel density p(x) = 1/N sum_i N(x; x_i, h^2 I), for 1-D (N,) or D-D (N, D)
    samples, evaluated at points of the same dimension."""
    samples = check_samples(samples)
    bandwidth = check_width(bandwidth)
    samples = samples.reshape(len(samples), -1)
    points = np.asarray(points, dtype=np.float64).reshape(-1, samples.shape[1])
    dims = samples.shape[1]
    density = np.zeros(len(points))
    sample_norms = (samples**2).sum(1)
    for start in range(0, len(points), 4096):  # bounded memory for big grids
        chunk = points[start:start + 4096]
        # ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, as one matrix product
        squared = (chunk**2).sum(1)[:, None] + sample_norms[None] - 2 * chunk @ samples.T
        density[start:start + 4096] = np.exp(-0.5 * np.maximum(squared, 0) / bandwidth**2) \
            .mean(1) / ((2 * math.pi) ** (dims / 2) * bandwidth**dims)
    return density


def average_log_likelihood(density_values: np.ndarray) -> float:
    """Mean of log p over samples; -inf when some sample has zero density."""
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log(np.asarray(density_values))))


@dataclass
class GaussianMixture:
    """Diagonal Gaussian mixture in D dimensions, fitted by gradient ascent on
    (1/N) sum_i log sum_k w_k N(x_i; mu_k, diag(s_k^2)), parameters unconstrained
    (softmax weights, log standard deviations). A backtracking step size makes every step
    raise the training log-likelihood (or leave it unchanged)."""

    components: int
    dims: int = 1
    seed: int = 0
    step_size: float = 0.5
    steps_taken: int = 0
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, train, test)

    def __post_init__(self) -> None:
        if not 1 <= self.components <= MAX_COMPONENTS:
            raise DensityInputError(f"Use between 1 and {MAX_COMPONENTS} components; got "
                                    f"{self.components}.")
        self.params: dict[str, torch.Tensor] | None = None

    def initialise(self, samples: np.ndarray) -> None:
        samples = check_samples(samples).reshape(-1, self.dims)
        rng = np.random.default_rng(self.seed)
        chosen = samples[rng.choice(len(samples), self.components,
                                    replace=len(samples) < self.components)]
        spread = max(float(samples.std()), 1e-3)
        self.params = {
            "logits": torch.zeros(self.components, dtype=torch.float64),
            "means": torch.tensor(chosen + rng.normal(0, 0.1 * spread, chosen.shape)),
            "log_stds": torch.full((self.components, self.dims), math.log(spread / 2),
                                   dtype=torch.float64)}
        self.steps_taken, self.history = 0, []

    def log_density(self, points: np.ndarray, params: dict | None = None) -> torch.Tensor:
        params = params or self.params
        x = torch.as_tensor(np.asarray(points, dtype=np.float64).reshape(-1, self.dims))
        log_w = torch.log_softmax(params["logits"], 0)
        stds = params["log_stds"].exp()
        per_component = (-0.5 * ((x[:, None] - params["means"]) / stds) ** 2
                         - params["log_stds"] - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(per_component + log_w, dim=1)

    def log_likelihood(self, samples: np.ndarray) -> float:
        return float(self.log_density(samples).mean())

    def step(self, samples: np.ndarray, held_out: np.ndarray | None = None) -> float:
        """One gradient-ascent step on the mean log-likelihood; returns the new value."""
        if self.params is None:
            self.initialise(samples)
        samples = check_samples(samples).reshape(-1, self.dims)
        params = {k: v.clone().requires_grad_(True) for k, v in self.params.items()}
        objective = self.log_density(samples, params).mean()
        gradients = torch.autograd.grad(objective, list(params.values()))
        current = float(objective.detach())
        rate = self.step_size
        for _ in range(30):  # backtracking: shrink until the likelihood does not fall
            trial = {k: (v + rate * g).detach() for (k, v), g in zip(params.items(), gradients)}
            trial["log_stds"] = trial["log_stds"].clamp(min=-7.0)
            value = float(self.log_density(samples, trial).mean())
            if math.isfinite(value) and value >= current:
                self.params, current = trial, value
                self.step_size = min(rate * 1.5, 5.0)
                break
            rate /= 2
        self.steps_taken += 1
        test = self.log_likelihood(held_out) if held_out is not None and len(held_out) else np.nan
        self.history.append((self.steps_taken, current, test))
        return current

    def density(self, points: np.ndarray) -> np.ndarray:
        return self.log_density(points).exp().detach().numpy()


def format_points(points: list[float]) -> str:
    """'1.25,-3' for a link ('' for none)."""
    return ",".join(f"{x:.4g}" for x in points)


def parse_points(text: str, limit: int = 1000) -> list[float]:
    """Inverse of format_points; ValueError for non-numbers, non-finite values or too many."""
    values = [float(item) for item in text.split(",") if item.strip()]
    if len(values) > limit or not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected at most {limit} finite numbers")
    return values


def fit_scores(curves: dict[str, np.ndarray], grid: np.ndarray, train: np.ndarray,
               held_out: np.ndarray) -> dict[str, tuple[float, float]]:
    """Mean log-likelihood (nats) on the training and the held-out samples for each density
    curve given on a grid (linear interpolation between grid points): name -> (train, held)."""
    scores = {}
    if not len(held_out) or not len(train):
        return scores
    for name, values in curves.items():
        scores[name] = (average_log_likelihood(np.interp(train, grid, values)),
                        average_log_likelihood(np.interp(held_out, grid, values)))
    return scores


def session_mixture(state, key: tuple, components: int) -> GaussianMixture:
    """The user's mixture fit, kept in a per-user mapping (st.session_state): a new one when
    the truth, sample count, seed or component count changes. Samples added by clicking do
    not restart it: its next steps fit the enlarged data from where it stands."""
    if state.get("dens_mixture_key") != key or "dens_mixture" not in state:
        state["dens_mixture_key"] = key
        state["dens_mixture"] = GaussianMixture(int(components), seed=0)
    return state["dens_mixture"]


def fit_mixture_2d(points: np.ndarray, components: int, steps: int = 150) -> GaussianMixture:
    """A 2-D diagonal mixture fitted to (N, 2) points by `steps` gradient steps."""
    mixture = GaussianMixture(int(components), dims=2)
    for _ in range(steps):
        mixture.step(points)
    return mixture



LOG_TRICK_MAX_N = 2000  # the page's slider's end


def log_trick_demo(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Running float32 product and log-sum of the likelihoods of the first n of one fixed
    draw of LOG_TRICK_MAX_N samples of the two-bump density (see log_trick): a larger N
    adds samples and never redraws the first ones, so the underflow point stays put.
    Raises ValueError for n outside 1..LOG_TRICK_MAX_N."""
    from explorer import synthetic  # the toy densities live beside the samplers

    if not 1 <= n <= LOG_TRICK_MAX_N:
        raise ValueError(f"n must be in 1..{LOG_TRICK_MAX_N}")
    truth = synthetic.DENSITIES_1D["two bumps"]
    samples = truth.sample(LOG_TRICK_MAX_N, seed)[:n]
    return log_trick(np.exp(truth.log_density(samples)))


def log_trick(likelihoods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Running product of per-sample likelihoods in float32 (underflows to 0) and running
    sum of their logs (stays finite): the reason training maximises log-likelihood."""
    values = np.asarray(likelihoods, dtype=np.float32)
    product = np.cumprod(values, dtype=np.float32)
    log_sum = np.cumsum(np.log(values.astype(np.float64)))
    return product, log_sum


def underflow_at(product: np.ndarray) -> int | None:
    """The first N (1-based) at which a running product is exactly 0, or None."""
    zeros = np.flatnonzero(np.asarray(product) == 0)
    return int(zeros[0]) + 1 if len(zeros) else None


def log_trick_note(product: np.ndarray, log_sum: np.ndarray) -> str:
    """A caption computed from the two running values (see log_trick)."""
    at = underflow_at(product)
    if at is None:
        return (f"With N = {len(product)} the float32 product is still above 0 "
                f"({scientific(float(product[-1]))}); push N up and it underflows to "
                "exactly 0.")
    return (f"The float32 product underflows to exactly 0 at N = {at} (its log is then "
            "minus infinity, so the line stops there), while the sum of logs carries on: "
            f"{signed(float(log_sum[-1]), 1)} nats at N = {len(product)}, i.e. a product of "
            f"$10^{{{log_sum[-1] / np.log(10):.0f}}}.$")


def with_bump(base: np.ndarray, grid: np.ndarray, centre: float, mass: float,
              width: float = 0.15) -> np.ndarray:
    """p'(x) = (1 - m) p(x) + m N(x; centre, width^2): raising mass near `centre` must take
    exactly that mass from everywhere else, since both integrate to 1."""
    if not 0 <= mass < 1:
        raise DensityInputError("The moved mass must be in [0, 1).")
    bump = np.exp(-0.5 * ((grid - centre) / width) ** 2) / (width * math.sqrt(2 * math.pi))
    return (1 - mass) * base + mass * bump


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(-1, keepdims=True)


@dataclass
class DiscreteChainRule:
    """A 2-D density discretised on a bins x bins grid, factored as p(x1) p(x2 | x1): the
    smallest autoregressive model, and the bridge to PixelCNN."""

    joint: np.ndarray  # (bins, bins) probabilities, rows = x1 bins, columns = x2 bins
    edges: np.ndarray  # (bins + 1,) shared bin edges

    @classmethod
    def fit(cls, points: np.ndarray, bins: int = 20, low: float = -3.0, high: float = 3.0,
            smoothing: float = 0.5) -> "DiscreteChainRule":
        points = check_samples(points).reshape(-1, 2)
        if not 2 <= bins <= 200:
            raise DensityInputError("Use between 2 and 200 bins.")
        edges = np.linspace(low, high, bins + 1)
        counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=[edges, edges])
        counts += smoothing  # add-alpha smoothing keeps every conditional defined
        return cls(counts / counts.sum(), edges)

    @classmethod
    def from_density(cls, density_at: Callable[[np.ndarray], np.ndarray], bins: int = 20,
                     low: float = -3.0, high: float = 3.0) -> "DiscreteChainRule":
        """The discretised chain rule of a fitted density (a KDE, a mixture): each bin's
        mass is the density integrated over the bin by the midpoint rule on an s x s grid
        inside it (s = max(2, ceil(80 / bins)): sub-cells of at most 0.075 on the default
        square, well under the KDE's bandwidth of 0.2), normalised over the square
        [low, high]^2, so the factors are the estimator's, not a histogram's.

        density_at: (N, 2) float64 points -> (N,) densities (>= 0).
        Raises DensityInputError for a bins count outside 2..200 or a density that is
        negative, non-finite or zero over the whole square."""
        if not 2 <= bins <= 200:
            raise DensityInputError("Use between 2 and 200 bins.")
        edges = np.linspace(low, high, bins + 1)
        per_bin = max(2, math.ceil(80 / bins))
        width = (high - low) / (bins * per_bin)
        axis = low + width * (np.arange(bins * per_bin) + 0.5)  # sub-cell midpoints
        x1, x2 = np.meshgrid(axis, axis, indexing="ij")
        values = np.asarray(density_at(np.stack([x1.ravel(), x2.ravel()], 1)), np.float64)
        if values.shape != (x1.size,) or not np.all(np.isfinite(values)) or values.min() < 0:
            raise DensityInputError("The density gave negative or non-finite values.")
        mass = values.reshape(bins, per_bin, bins, per_bin).sum((1, 3))
        if mass.sum() <= 0:
            raise DensityInputError("The density puts no mass on the square.")
        return cls(mass / mass.sum(), edges)

    @property
    def marginal(self) -> np.ndarray:
        """p(x1): (bins,)."""
        return self.joint.sum(1)

    def conditional(self, x1_bin: int) -> np.ndarray:
        """p(x2 | x1 in bin): (bins,); uniform where the bin holds no mass at all (a density
        that underflows far from its data)."""
        row = self.joint[x1_bin]
        total = row.sum()
        return row / total if total > 0 else np.full(len(row), 1.0 / len(row))

    def product(self) -> np.ndarray:
        """p(x1) p(x2 | x1) rebuilt from the factors: equals the joint."""
        return self.marginal[:, None] * np.stack([self.conditional(i)
                                                  for i in range(len(self.marginal))])
