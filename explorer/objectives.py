"""Loss terms as named free functions: likelihoods, KL, ELBO, beta-objective, IWAE bound.

Shapes: x is (B, D) or (B, 1, 28, 28) floats; per-image results are (B,) in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) = sum_d [x_d log p_d + (1 - x_d) log(1 - p_d)], p = sigmoid(logits); (B,)."""
    per_pixel = -F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return per_pixel.flatten(1).sum(1)


def gaussian_log_likelihood(mean: torch.Tensor, x: torch.Tensor, sigma: float | torch.Tensor
                            ) -> torch.Tensor:
    """log N(x; mean, sigma^2 I) = -||x - mean||^2 / (2 sigma^2) - D log sigma - D/2 log 2pi.

    With sigma fixed this is a scaled L2 loss plus a constant, the lecture's form.
    """
    sigma = torch.as_tensor(sigma, dtype=mean.dtype, device=mean.device)
    squared = (x - mean).pow(2).flatten(1).sum(1)
    dims = mean[0].numel()
    return -0.5 * squared / sigma**2 - dims * (torch.log(sigma) + 0.5 * LOG_2PI)


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dimension KL(N(mu, exp(logvar)) || N(0, 1)) = 0.5 (mu^2 + var - 1 - logvar); (B, K).

    Kingma & Welling 2014, Appendix B.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + LOG_2PI).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def elbo(reconstruction_log_likelihood: torch.Tensor, kl_per_dim: torch.Tensor) -> torch.Tensor:
    """ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)), single-sample estimate; (B,)."""
    return reconstruction_log_likelihood - kl_per_dim.sum(-1)


def beta_objective(reconstruction_log_likelihood: torch.Tensor, kl_per_dim: torch.Tensor,
                   beta: float = 1.0, free_bits: float = 0.0) -> torch.Tensor:
    """Loss to minimise: -(E_q[log p(x|z)] - beta * KL); beta = 1 is the negative ELBO.

    free_bits > 0 clamps each dimension's batch-mean KL from below (Kingma et al. 2016),
    so the optimiser gains nothing by pushing a dimension's KL under that many nats.
    """
    kl = kl_per_dim
    if free_bits > 0:
        kl = torch.clamp(kl_per_dim.mean(0), min=free_bits).expand_as(kl_per_dim)
    return -(reconstruction_log_likelihood - beta * kl.sum(-1)).mean()


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """L_k = log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q (Burda et al. 2015, eq. 8).

    log_weights: (k, B) of log p(x, z_i) - log q(z_i|x). L_1 is the ELBO; L_k rises with k
    towards log p(x).
    """
    k = log_weights.shape[0]
    return torch.logsumexp(log_weights, dim=0) - math.log(k)


def categorical_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-log p(x) = -sum_d log softmax(logits_d)[x_d] for 256-way pixels; logits (B, 256, ...)."""
    per_pixel = F.cross_entropy(logits, targets.long(), reduction="none")
    return per_pixel.flatten(1).sum(1)


def nats_to_bits_per_dim(nats_per_image: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """bits/dim = nats / (D ln 2)."""
    return nats_per_image / (dims * math.log(2))
