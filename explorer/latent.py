"""Latent-space analysis for VAEs and autoencoders: encodings, per-dimension KL, active
units, traversals, the 2-D manifold, interpolation and a linear probe. No UI code."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import objectives
from explorer.models.vae import VAE, to_unit

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2015: unit u is active if Cov_x(E_q[z_u]) > 0.01


@dataclass
class LatentStats:
    mean_kl: np.ndarray  # (K,) average KL(q(z_u|x) || N(0,1)) over the images, nats
    activity: np.ndarray  # (K,) Cov_x(E_q[z_u]), the active-units statistic
    order: np.ndarray  # dimension indices sorted by mean_kl, most informative first

    @property
    def active(self) -> np.ndarray:
        return self.activity > ACTIVE_UNIT_THRESHOLD


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_means(model: nn.Module, images: torch.Tensor, batch_size: int = 1000
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images -> (means (N, K), log-variances (N, K) or None for an autoencoder)."""
    means, logvars = [], []
    device = model_device(model)
    for start in range(0, len(images), batch_size):
        x = to_unit(images[start:start + batch_size]).to(device)
        if isinstance(model, VAE):
            mu, logvar = model.encode(x)
            logvars.append(logvar.cpu())
        else:
            mu = model.encode(x)
        means.append(mu.cpu())
    mu = torch.cat(means).numpy()
    return mu, (torch.cat(logvars).numpy() if logvars else None)


def latent_stats(means: np.ndarray, logvars: np.ndarray) -> LatentStats:
    """Per-dimension average KL and activity from encoder outputs over a data set."""
    kl = objectives.kl_standard_normal(torch.from_numpy(means), torch.from_numpy(logvars))
    mean_kl = kl.mean(0).numpy()
    activity = means.var(axis=0)
    return LatentStats(mean_kl=mean_kl, activity=activity, order=np.argsort(-mean_kl))


@torch.no_grad()
def decode(model: nn.Module, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """Latent codes (N, K) (or one (K,)) -> images in [0, 1] (N, 28, 28)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.config.latent_dim)
    z = torch.nan_to_num(z, nan=0.0, posinf=1e4, neginf=-1e4).to(model_device(model))
    return model.decode_image(z)[:, 0].cpu().numpy()


def traversal_codes(base: np.ndarray, dims: list[int], steps: int = 9, span: float = 3.0
                    ) -> np.ndarray:
    """For each dim, `steps` copies of base with that dim swept over [-span, span]:
    (len(dims) * steps, K), row-major by dim."""
    values = np.linspace(-span, span, steps, dtype=np.float32)
    codes = np.repeat(np.asarray(base, dtype=np.float32)[None], len(dims) * steps, axis=0)
    for row, dim in enumerate(dims):
        codes[row * steps:(row + 1) * steps, dim] = values
    return codes


def inverse_normal_cdf(u: np.ndarray) -> np.ndarray:
    """Phi^{-1}(u) = sqrt(2) erfinv(2u - 1)."""
    return math.sqrt(2.0) * torch.erfinv(torch.as_tensor(2 * np.asarray(u) - 1)).numpy()


def manifold_codes(n: int = 15, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D grid equally spaced in probability (Kingma & Welling 2014, fig. 4):
    returns (axis values (n,), codes (n*n, 2)) with the first latent along columns and the
    second along rows, top row = largest z2."""
    axis = inverse_normal_cdf(np.linspace(margin, 1 - margin, n)).astype(np.float32)
    z1, z2 = np.meshgrid(axis, axis[::-1])
    return axis, np.stack([z1.ravel(), z2.ravel()], axis=1)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int = 10, spherical: bool = False
                ) -> np.ndarray:
    """Codes from a to b: linear (1-t) a + t b, or slerp along the great circle
    sin((1-t) w)/sin w a + sin(t w)/sin w b with w the angle between a and b."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if spherical:
        cosine = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
        omega = math.acos(float(np.clip(cosine, -1.0, 1.0)))
        if omega > 1e-6:
            return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b)
                    / math.sin(omega)).astype(np.float32)
    return ((1 - t) * a + t * b).astype(np.float32)


def linear_probe_accuracy(train_codes: np.ndarray, train_labels: np.ndarray,
                          test_codes: np.ndarray, test_labels: np.ndarray,
                          steps: int = 300, seed: int = 0) -> float:
    """Accuracy of a multinomial logistic regression fitted on codes (standardised)."""
    generator = torch.Generator().manual_seed(seed)
    mean, std = train_codes.mean(0), train_codes.std(0) + 1e-6
    x_train = torch.from_numpy((train_codes - mean) / std).float()
    x_test = torch.from_numpy((test_codes - mean) / std).float()
    y_train = torch.as_tensor(train_labels).long()
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    probe = nn.Linear(x_train.shape[1], classes)
    with torch.no_grad():
        probe.weight.copy_(torch.randn(probe.weight.shape, generator=generator) * 0.01)
        probe.bias.zero_()
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(x_train), y_train) \
            + 1e-4 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predictions = probe(x_test).argmax(1).numpy()
    return float((predictions == np.asarray(test_labels)).mean())


def pca_2d(codes: np.ndarray) -> np.ndarray:
    """Project codes (N, K) onto their first two principal components: (N, 2)."""
    centred = codes - codes.mean(0)
    if codes.shape[1] <= 2:
        return centred[:, :2]
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T
