"""Multinomial logistic regression fitted by L-BFGS: the one discriminative p(y|x) used by the
toy-data classifier, the pixel classifier and the linear probe on latent codes."""

from __future__ import annotations

import torch
from torch import nn


def fit_logistic_regression(features: torch.Tensor, targets: torch.Tensor, l2: float = 1e-4,
                            iterations: int = 100, classes: int | None = None,
                            init_scale: float = 0.0, seed: int = 0) -> nn.Linear:
    """Minimise mean cross-entropy + l2 * ||W||^2 over a linear layer with L-BFGS (strong
    Wolfe line search); returns the fitted layer, in the dtype of `features`.

    features (N, D) float; targets (N,) class indices 0..classes-1. init_scale > 0 starts
    the weights from a seeded N(0, init_scale^2) instead of PyTorch's default.
    Raises ValueError for empty or mismatched inputs.
    """
    if features.ndim != 2 or len(features) == 0 or len(features) != len(targets):
        raise ValueError("need features (N, D) and N targets, N > 0")
    targets = targets.long()
    classes = classes or int(targets.max()) + 1
    layer = nn.Linear(features.shape[1], classes).to(features.dtype)
    if init_scale > 0:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator)
                               * init_scale)
            layer.bias.zero_()
    optimizer = torch.optim.LBFGS(layer.parameters(), max_iter=iterations,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(layer(features), targets) \
            + l2 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return layer
