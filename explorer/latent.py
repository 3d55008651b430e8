"""Latent-space analysis for VAEs and autoencoders: encodings, per-dimension KL, active
units, traversals, the 2-D manifold, interpolation and a linear probe. No UI code."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import objectives
from explorer.device import model_device
from explorer.logistic import fit_logistic_regression
from explorer.models.vae import VAE, to_unit
from explorer.typeset import signed

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2015: unit u is active if Cov_x(E_q[z_u]) > 0.01


@dataclass
class LatentStats:
    mean_kl: np.ndarray  # (K,) average KL(q(z_u|x) || N(0,1)) over the images, nats
    activity: np.ndarray  # (K,) Cov_x(E_q[z_u]), the active-units statistic
    order: np.ndarray  # dimension indices sorted by mean_kl, most informative first

    @property
    def active(self) -> np.ndarray:
        return self.activity > ACTIVE_UNIT_THRESHOLD


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


def prior_code(latent_dim: int, seed: int) -> np.ndarray:
    """One z ~ N(0, I) of size latent_dim from a seed: (K,) float32."""
    return torch.randn(latent_dim, generator=torch.Generator().manual_seed(int(seed))).numpy()


def prior_codes(count: int, latent_dim: int, seed: int) -> np.ndarray:
    """`count` codes z ~ N(0, I) from a seed: (count, K) float32."""
    return torch.randn(count, latent_dim,
                       generator=torch.Generator().manual_seed(int(seed))).numpy()


def encode_image(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """A uint8 (28, 28) image -> its code: the posterior mean for a VAE, (K,) float32."""
    return encode_means(model, torch.from_numpy(np.asarray(image, np.uint8))[None, None])[0][0]


def slider_values(z: np.ndarray, span: float = 3.0, decimals: int = 2) -> list[float]:
    """A code as slider positions: rounded and clipped to [-span, span] (NaN -> 0)."""
    z = np.nan_to_num(np.asarray(z, dtype=np.float64), nan=0.0)
    return [float(np.clip(round(float(v), decimals), -span, span)) for v in z]


@torch.no_grad()
def decode_arrays(model: nn.Module, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """Latent codes (N, K) (or one (K,)) -> images in [0, 1] (N, 28, 28)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.config.latent_dim)
    z = torch.nan_to_num(z, nan=0.0, posinf=1e4, neginf=-1e4).to(model_device(model))
    return model.decode_images(z)[:, 0].cpu().numpy()


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
    mean, std = train_codes.mean(0), train_codes.std(0) + 1e-6
    x_train = torch.from_numpy((train_codes - mean) / std).float()
    x_test = torch.from_numpy((test_codes - mean) / std).float()
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    probe = fit_logistic_regression(x_train, torch.as_tensor(train_labels), 1e-4, steps,
                                    classes=classes, init_scale=0.01, seed=seed)
    with torch.no_grad():
        predictions = probe(x_test).argmax(1).numpy()
    return float((predictions == np.asarray(test_labels)).mean())


def code_correlations(means: np.ndarray) -> np.ndarray:
    """Pearson correlations between latent dimensions of posterior means over a data set,
    (K, K); constant dimensions (collapsed to the prior) get 0 off the diagonal."""
    centred = means - means.mean(0)
    std = centred.std(0)
    scaled = np.divide(centred, std, out=np.zeros_like(centred), where=std > 1e-8)
    correlations = scaled.T @ scaled / len(means)
    np.fill_diagonal(correlations, 1.0)
    return correlations


def independence_summary(correlations: np.ndarray, active: np.ndarray) -> str:
    """A caption computed from the correlations of the active dimensions."""
    chosen = np.flatnonzero(active)
    if len(chosen) < 2:
        return "Fewer than two dimensions are active, so there is nothing to correlate."
    block = np.abs(correlations[np.ix_(chosen, chosen)])
    off = block[~np.eye(len(chosen), dtype=bool)]
    worst = np.unravel_index(np.argmax(block - np.eye(len(chosen))), block.shape)
    i, j = chosen[worst[0]], chosen[worst[1]]
    value = signed(float(correlations[i, j]))  # with its sign, as the map's colour shows it
    return (f"Across the {len(chosen)} active dimensions the mean |correlation| between two "
            f"different dimensions is {off.mean():.2f}; the largest in size is {value} "
            f"(z{i} and z{j}).")


def active_order(order: Sequence[int], active: np.ndarray) -> list[int]:
    """The dimensions in `order` (e.g. by KL) that are active, in that order."""
    return [int(d) for d in order if active[int(d)]]


def inactive_note(active: np.ndarray) -> str:
    """'.' when every dimension is active; else why the inactive ones are left out."""
    left_out = int(len(active) - np.count_nonzero(active))
    if not left_out:
        return "."
    return (f"; the {left_out} inactive dimension{'s' if left_out > 1 else ''} (KL near 0) "
            f"{'are' if left_out > 1 else 'is'} left out: {'their' if left_out > 1 else 'its'} "
            "posterior means barely move, so a correlation there measures noise.")


def pca_2d(codes: np.ndarray) -> np.ndarray:
    """Project codes (N, K) onto their first two principal components: (N, 2)."""
    centred = codes - codes.mean(0)
    if codes.shape[1] <= 2:
        return centred[:, :2]
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T
