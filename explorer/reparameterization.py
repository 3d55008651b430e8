"""The reparameterization trick (Kingma & Welling 2014, sec. 2.4): sampling z ~ q(z|x) =
N(mu, diag(sigma^2)) as z = mu + sigma * eps with eps ~ N(0, I) drawn outside the network,
so the sample is a differentiable function of mu and sigma and the loss's gradient flows
back through them to the encoder. Sampling z directly leaves no path for that gradient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.models.vae import VAE


@dataclass
class ReparameterizedDraw:
    """One draw for one image, with the gradients the trick makes possible."""

    mu: np.ndarray  # (K,) posterior mean
    sigma: np.ndarray  # (K,) posterior standard deviation
    eps: np.ndarray  # (K,) the noise, from N(0, I), drawn outside the network
    z: np.ndarray  # (K,) mu + sigma * eps
    loss: float  # -log p(x|z) for this draw, nats (the reconstruction term)
    grad_mu: np.ndarray  # (K,) d loss / d mu (equals d loss / d z)
    grad_sigma: np.ndarray  # (K,) d loss / d sigma (equals d loss / d z * eps)
    decoded: np.ndarray  # (28, 28) the decoded mean image of z, in [0, 1]


def draw(model: VAE, image: np.ndarray, seed: int) -> ReparameterizedDraw:
    """Encode a uint8 (28, 28) image, draw eps from a seed, form z and backpropagate the
    reconstruction loss to mu and sigma (with fixed binarization for a Bernoulli decoder)."""
    x = model.prepare(torch.from_numpy(np.asarray(image, np.uint8))[None, None], train=False)
    with torch.enable_grad():
        mu, logvar = (t.detach() for t in model.encode(x))
        mu.requires_grad_(True)
        sigma = torch.exp(0.5 * logvar).requires_grad_(True)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(int(seed)))
        z = mu + sigma * eps  # the trick: eps carries the randomness, no gradient needed
        logits = model.decode_logits(z)
        loss = -model.reconstruction_log_likelihood(logits, x).sum()
        grad_mu, grad_sigma = torch.autograd.grad(loss, (mu, sigma))
    return ReparameterizedDraw(mu[0].detach().numpy(), sigma[0].detach().numpy(),
                               eps[0].numpy(), z[0].detach().numpy(), float(loss.detach()),
                               grad_mu[0].numpy(), grad_sigma[0].numpy(),
                               torch.sigmoid(logits)[0, 0].detach().numpy())


def _vector(values: np.ndarray, digits: int = 2) -> str:
    """A 2-D vector as LaTeX: '(0.86, -0.29)' (KaTeX sets the minus)."""
    return "(" + ", ".join(f"{float(v):.{digits}f}" for v in values) + ")"


def gradient_text(draw: ReparameterizedDraw) -> str:
    """What one draw shows, typeset (Streamlit Markdown with $...$ math): mu, sigma and eps,
    the draw's reconstruction loss in nats, and its gradients, d loss/d mu = d loss/d z and
    d loss/d sigma = d loss/d z * eps (Kingma and Welling 2014, section 2.4)."""
    # sigma to 3 decimals: a posterior's σ is often a few hundredths, and (0.03, 0.03) for
    # (0.026, 0.034) made the plane's ellipses look wrongly drawn
    # each equation in braces: KaTeX breaks a line after "=" ("ε =" ended one line and its
    # value began the next); a group is never broken
    return (rf"${{\mu = {_vector(draw.mu)}}},$ ${{\sigma = {_vector(draw.sigma, 3)}}},$ "
            rf"${{\varepsilon = {_vector(draw.eps)}}}.$ The reconstruction loss of this draw "
            f"is {draw.loss:.1f} nats. Autograd through "
            r"${z = \mu + \sigma \odot \varepsilon}$ gives its gradient with respect to "
            r"$\mu,$ "
            rf"${{\partial \mathrm{{loss}} / \partial \mu = \partial \mathrm{{loss}} / "
            rf"\partial z = {_vector(draw.grad_mu)}}},$ and to $\sigma,$ "
            rf"${{\partial \mathrm{{loss}} / \partial \sigma = \partial \mathrm{{loss}} / "
            rf"\partial z \odot \varepsilon = {_vector(draw.grad_sigma)}}}.$")


def graph(trick: bool, font_size: int = 20, rank_gap: float = 0.3) -> str:
    """The computation graph as Graphviz DOT: solid blue edges carry the loss's gradient back
    to the encoder; dashed grey edges carry none (a random draw, or a sample drawn without
    the trick). The loss is the reconstruction term −log p(x|z), reached only through z, plus
    KL(q(z|x) || p(z)), which depends on μ and σ directly (one arrow from the box q(z|x)
    that holds both): without the trick the encoder still gets the KL term's gradient, and
    none from the reconstruction. `font_size` in points (a projector wants about 24);
    `rank_gap` in inches between the rows of boxes (a projector's shorter graph uses less).

    Raises ValueError for a font size or gap that is not positive."""
    if not font_size > 0 or not rank_gap > 0:
        raise ValueError(f"font size {font_size} and rank gap {rank_gap} must be positive")
    grad = 'color="#2563eb", penwidth=2'
    noise = 'color="#94a3b8", style=dashed'
    # top to bottom, nodes as small as their labels (graphviz's default minimum is 0.75 x
    # 0.5 in): a narrow drawing whose text is drawn at its own size in a column
    lines = ["digraph G {", f"rankdir=TB; ranksep={rank_gap:g}; nodesep=0.25; pad=0.05;",
             f'node [shape=box, style=rounded, fontname=Helvetica, fontsize={int(font_size)}, '
             'width=0.3, height=0.3, margin="0.2,0.1"];',  # the page's font runs wider
             # μ and σ in one box, q(z|x), and one arrow from the box to the KL: two
             # arrows each from μ and σ to z and KL are a K2,2, drawn with a crossing
             f'compound=true; subgraph cluster_q {{ label="q(z|x)"; labeljust=r; '
             f'style=rounded; color="#64748b"; fontname=Helvetica; '
             f'fontsize={int(font_size)}; mu [label="μ"]; sigma [label="σ"]; }}',
             'x [label="image x"]; enc [label="encoder"]; dec [label="decoder"]; '
             'recon [label="−log p(x|z)"]; kl [label="KL(q(z|x) ‖ p(z))"]; '
             'loss [label="loss"];',
             # the encoder outputs the box: one arrow, ending at its edge (two crossed
             # the box's name)
             f"x -> enc [{grad}]; enc -> mu [{grad}, lhead=cluster_q];",
             f"sigma -> kl [{grad}, ltail=cluster_q]; kl -> loss [{grad}];",
             f"dec -> recon [{grad}]; recon -> loss [{grad}];"]
    if trick:
        lines += ['eps [label="ε ~ 𝒩(0, I)", color="#94a3b8", style="rounded,dashed"];',
                  'z [label="z = μ + σ ⊙ ε"];',
                  f"mu -> z [{grad}]; sigma -> z [{grad}]; eps -> z [{noise}];",
                  f"z -> dec [{grad}];"]
    else:
        # "no gradient" in the node, not on an arrow: it lay across both dashed arrows
        lines += ['z [label="z ∼ 𝒩(μ, σ²)\\nsampled: no gradient", color="#dc2626"];',
                  f"mu -> z [{noise}]; sigma -> z [{noise}];",
                  f"z -> dec [{grad}];"]
    return "\n".join(lines + ["}"])
