"""The taxonomy of generative models (after Goodfellow's 2016 NIPS tutorial, fig. 9),
with diffusion placed among the approximate explicit densities (a variational bound),
and a layered tree layout for drawing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    parent: str | None
    summary: str  # two sentences on the family
    exact_likelihood: str  # "yes", "bound", "no", "-"
    fast_sampling: str
    useful_latent: str
    page: str | None = None  # app page that explores it, if any
    examples: tuple[str, ...] = field(default_factory=tuple)


FAMILIES: tuple[Family, ...] = (
    Family("root", "Generative models", None,
           "Models of p(x) that can score or sample new data. They split on whether the "
           "density is written down (explicit) or only sampled from (implicit).",
           "-", "-", "-", "app_pages/gen_vs_disc.py"),
    Family("explicit", "Explicit density", "root",
           "The model defines p(x) and is fitted by maximum likelihood or a bound on it. "
           "The price is that p(x) must be tractable or approximable.",
           "yes or bound", "varies", "varies", "app_pages/density.py"),
    Family("tractable", "Tractable density", "explicit",
           "log p(x) is computed exactly, so training is plain maximum likelihood. The "
           "architecture is constrained to keep it so (an ordering, or an invertible map).",
           "yes", "varies", "varies"),
    Family("autoregressive", "Autoregressive", "tractable",
           r"$p(x) = \prod_i p(x_i \mid x_{<i}){:}$ each subpixel is a 256-way classification "
           "given the earlier ones. Exact likelihood and strong density estimates, but sampling takes "
           "one network step per subpixel.",
           "yes", "no (one step per subpixel)", "no latent", "app_pages/autoregressive.py",
           ("PixelRNN", "PixelCNN", "Gated PixelCNN", "Transformers")),
    Family("flows", "Normalizing flows", "tractable",
           "An invertible network maps x to simple noise z; the change-of-variables formula "
           "gives exact log p(x). Sampling is one pass, but every layer must be invertible "
           "with a cheap Jacobian determinant.",
           "yes", "yes (one pass)", "yes, same size as x",
           None, ("RealNVP", "Glow", "FFJORD")),
    Family("approximate", "Approximate density", "explicit",
           "p(x) involves an intractable integral over latents, so a bound or a Markov chain "
           "stands in for it. This buys latent variables at the cost of exactness.",
           "bound or estimate", "varies", "yes"),
    Family("variational", "Variational (VAE)", "approximate",
           r"An encoder $q(z \mid x)$ and decoder $p(x \mid z)$ are trained together on the "
           r"ELBO $= \mathbb{E}_q[\log p(x \mid z)] - \mathrm{KL}(q \,\|\, p(z)).$ "
           "Sampling is one decoder pass and z is a useful, smooth code; the likelihood is "
           "only bounded.",
           "lower bound (ELBO, IWAE)", "yes (one pass)", "yes", "app_pages/latent_explorer.py",
           ("VAE", "beta-VAE", "IWAE", "VQ-VAE")),
    Family("diffusion", "Diffusion models", "approximate",
           "A fixed noising process and a learned denoiser: a deep hierarchical VAE whose "
           "encoder is fixed, trained on a variational bound. Superb samples, but sampling "
           "takes tens to hundreds of denoising steps.",
           "lower bound", "no (many steps)", "yes, same size as x", None,
           ("DDPM", "score-based models")),
    Family("boltzmann", "Markov chain (Boltzmann machines)", "approximate",
           "An energy function defines p(x) up to a normaliser that cannot be computed; "
           "training and sampling run Markov chains. Mixing is slow in high dimensions.",
           "no (unnormalised)", "no (Markov chain)", "yes", None,
           ("RBM", "deep Boltzmann machine")),
    Family("implicit", "Implicit density", "root",
           "The model only samples: no p(x) is ever written down. It is trained by comparing "
           "samples with data instead of by likelihood.",
           "no", "varies", "varies"),
    Family("direct", "Direct (GAN)", "implicit",
           "A generator maps noise to a sample in one pass and a discriminator judges it; "
           "the two play a minimax game. Sharp samples and fast sampling, but no likelihood "
           "and training can be unstable.",
           "no", "yes (one pass)", "yes, but no encoder", None, ("GAN", "StyleGAN")),
    Family("implicit_chain", "Markov chain (GSN)", "implicit",
           "A learned transition operator whose chain's stationary distribution is the "
           "model. Samples need many steps of the chain.",
           "no", "no (Markov chain)", "no", None, ("generative stochastic networks",)),
)

BY_KEY = {family.key: family for family in FAMILIES}


def children(key: str) -> list[Family]:
    return [f for f in FAMILIES if f.parent == key]


def tree_layout() -> dict[str, tuple[float, float]]:
    """(x, y) per node, drawn left to right: depth along x, leaves spread evenly down -y,
    parents centred beside their children (so long labels never collide)."""
    positions: dict[str, tuple[float, float]] = {}
    next_leaf = [0.0]

    def place(key: str, depth: int) -> float:
        kids = children(key)
        if kids:
            ys = [place(kid.key, depth + 1) for kid in kids]
            y = sum(ys) / len(ys)
        else:
            y = -next_leaf[0]
            next_leaf[0] += 1.0
        positions[key] = (float(depth), y)
        return y

    place("root", 0)
    return positions
