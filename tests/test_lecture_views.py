"""The lecture's ideas shown as views: the reparameterization trick's gradients, the order of
colour subpixels, and how independent a VAE's latent dimensions are."""

import re

import numpy as np
import pytest
import torch

from explorer import latent, reparameterization, subpixel_order
from explorer.models.vae import VAE, VAEConfig


def test_reparameterized_gradients_follow_the_chain_rule():
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2, hidden=16)).eval()
    image = (np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)
    one = reparameterization.draw(model, image, seed=3)
    assert np.allclose(one.z, one.mu + one.sigma * one.eps, atol=1e-6)
    # z = mu + sigma * eps: d/dmu = d/dz and d/dsigma = d/dz * eps
    assert np.allclose(one.grad_sigma, one.grad_mu * one.eps, atol=1e-5)
    other = reparameterization.draw(model, image, seed=4)
    assert np.allclose(one.mu, other.mu) and not np.allclose(one.eps, other.eps)
    assert one.decoded.shape == (28, 28) and one.loss > 0


def test_the_graph_shows_where_gradients_flow():
    with_trick, without = reparameterization.graph(True), reparameterization.graph(False)
    assert "eps" in with_trick and "z = μ + σ ⊙ ε" in with_trick and "ε ~ 𝒩(0, I)" in with_trick
    assert "no gradient" in without and "eps" not in without
    # said in the sampled z's box: as an arrow's label it lay across both dashed arrows
    assert not re.search(r"-> z \[[^\]]*label=", without)
    for dot in (with_trick, without):  # typeset, and type large enough once stretched
        assert " N(" not in dot and "𝒩(" in dot
        assert int(re.search(r"fontsize=(\d+)", dot).group(1)) >= 20


def test_subpixel_order_is_r_then_g_then_b():
    assert [subpixel_order.position(k, 4) for k in range(4)] == [(0, 0, 0), (0, 0, 1),
                                                                  (0, 0, 2), (0, 1, 0)]
    seen = subpixel_order.context(4, 2, 2)  # G of pixel (0, 1)
    assert seen.sum() == 4 and seen[0, 0].all() and seen[0, 1].tolist() == [True, False, False]
    assert subpixel_order.channel_mask("A")[1].tolist() == [1, 0, 0]  # G sees R only
    assert subpixel_order.channel_mask("B")[2].tolist() == [1, 1, 1]
    # in the chain rule's notation (pixels counted from 0 in scanline order), then in words
    assert subpixel_order.factorisation(4, 2).startswith(  # the colon inside: no break before it
        r"Step 4 samples $p(G_{1} \mid x_{<1}, R_{1}){:}$")
    assert "1 earlier pixel, and R of this pixel" in subpixel_order.factorisation(4, 2)
    assert "$p(B_{0} \\mid R_{0}, G_{0}){:}$" in subpixel_order.factorisation(2, 2)
    assert "R and G of this pixel" in subpixel_order.factorisation(2, 2)
    assert "given nothing" in subpixel_order.factorisation(0, 2)
    assert "$p(R_{3} \\mid x_{<3}){:}$" in subpixel_order.factorisation(9, 2)
    with pytest.raises(ValueError):
        subpixel_order.context(12, 2, 2)


def test_code_correlations_and_their_caption():
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(5000, 3))
    tied = np.column_stack([independent[:, 0], independent[:, 0] * 0.9
                            + 0.1 * independent[:, 1], np.zeros(5000)])
    free = latent.code_correlations(independent)
    assert np.allclose(np.diag(free), 1) and np.abs(free - np.eye(3)).max() < 0.05
    linked = latent.code_correlations(tied)
    assert linked[0, 1] > 0.9 and linked[0, 2] == 0.0  # a collapsed dimension
    text = latent.independence_summary(linked, np.array([True, True, False]))
    assert "largest in size is 0.99" in text and "z0 and z1" in text
    opposed = latent.code_correlations(tied * np.array([1.0, -1.0, 1.0]))
    text = latent.independence_summary(opposed, np.array([True, True, False]))
    assert "largest in size is −0.99" in text  # its sign, as the map's blue shows it
    assert "Fewer than two" in latent.independence_summary(linked, np.array([1, 0, 0], bool))


def test_the_correlation_view_leaves_out_the_collapsed_dimensions_and_says_so():
    assert latent.active_order([2, 0, 1], np.array([True, False, True])) == [2, 0]
    assert latent.inactive_note(np.array([True, True])) == "."
    one = latent.inactive_note(np.array([True, True, False]))
    assert "the 1 inactive dimension (KL near 0) is left out" in one
    assert "2 inactive dimensions" in latent.inactive_note(np.array([True, False, False]))


def test_the_graph_sends_the_kl_gradient_to_mu_and_sigma_with_or_without_the_trick():
    for trick in (True, False):
        dot = reparameterization.graph(trick)
        # the encoder's arrow ends at the box that holds μ and σ: its gradient reaches both
        assert re.search(r'enc -> (mu|sigma) \[color="#2563eb"[^\]]*lhead=cluster_q', dot)
        # one solid arrow into the KL, from the box q(z|x) that holds both μ and σ (two
        # arrows each into z and the KL crossed)
        box = re.search(r"subgraph cluster_q \{([^}]*)\}", dot).group(1)
        assert "mu [" in box and "sigma [" in box
        into_kl = re.findall(r"(\w+) -> kl \[([^\]]*)\]", dot)
        assert len(into_kl) == 1 and into_kl[0][0] in ("mu", "sigma")
        assert "ltail=cluster_q" in into_kl[0][1] and "#2563eb" in into_kl[0][1]
    assert "mu -> z [color=\"#94a3b8\", style=dashed" in reparameterization.graph(False)


def test_the_posterior_plane_zooms_to_mu_so_a_narrow_q_still_shows_z_moving():
    from explorer.figures import make_reparameterization_figure

    mu, sigma, eps = np.array([0.86, 0.05]), np.array([0.03, 0.03]), np.array([1.54, -0.29])
    figure = make_reparameterization_figure(mu, sigma, eps, mu + sigma * eps)
    low, high = figure.layout.xaxis2.range
    assert low < mu[0] < high and high - low == pytest.approx(2 * 3.5 * 0.03)
    z = mu + sigma * eps
    assert (z[0] - mu[0]) / (high - low) > 0.15  # z's step is a visible share of the plane


def test_without_the_trick_the_planes_show_no_noise_and_no_gradient_link():
    from explorer.figures import make_reparameterization_figure

    mu, sigma, eps = np.array([0.5, 0.0]), np.array([0.2, 0.2]), np.array([1.0, -1.0])
    with_trick = make_reparameterization_figure(mu, sigma, eps, mu + sigma * eps)
    without = make_reparameterization_figure(mu, sigma, eps, mu + sigma * eps, trick=False)
    texts = lambda f: [n.text for n in f.layout.annotations]  # noqa: E731
    assert "ε" in texts(with_trick) and "ε" not in texts(without)
    (name,) = [n for n in with_trick.layout.annotations if n.text == "ε"]
    # pushed away from the origin, off the ring the draw lies on (|ε| = √2 here: up right
    # of (1, −1) would sit on it)
    assert name.xshift > 0 and name.yshift < 0 and name.bgcolor
    assert "the sampler draws z" in without.layout.annotations[0].text
    link = [t for t in without.data if t.text is not None and "z" in t.text][0]
    assert link.line.dash == "dash"  # μ to z carries no gradient without the trick


def test_the_graph_is_drawn_at_the_asked_font_size_and_rank_gap():
    assert "fontsize=20," in reparameterization.graph(True)
    assert "fontsize=32," in reparameterization.graph(True, 32)
    assert "ranksep=0.3;" in reparameterization.graph(True)
    assert "ranksep=0.12;" in reparameterization.graph(True, 24, 0.12)  # the projector's


@pytest.mark.parametrize("size, gap", [(0, 0.3), (20, 0), (20, float("nan")), (-3, 0.3)])
def test_the_graph_refuses_a_size_or_gap_that_is_not_positive(size, gap):
    with pytest.raises(ValueError, match="must be positive"):
        reparameterization.graph(True, size, gap)


def test_the_gradient_text_is_typeset_and_reads_the_draw():
    draw = reparameterization.ReparameterizedDraw(
        np.array([0.5, -0.25]), np.array([0.03, 0.04]), np.array([1.2, -0.7]), np.zeros(2),
        95.43, np.array([-147.06, 3.0]), np.array([-176.472, -2.1]), np.zeros((28, 28)))
    text = reparameterization.gradient_text(draw)
    # each equation one group, {...}: KaTeX never breaks it after its "="
    assert r"${\varepsilon = (1.20, -0.70)}.$" in text and "95.4 nats" in text
    assert r"${\sigma = (0.030, 0.040)}" in text  # hundredths of σ shown to three decimals
    assert r"\partial z = (-147.06, 3.00)},$" in text  # d loss/d mu, as autograd gave it
    assert r"\partial z \odot \varepsilon = (-176.47, -2.10)}.$" in text
    assert all(math.startswith("{") and math.rstrip(",.").endswith("}")
               for math in text.split("$")[1::2] if "=" in math)
    outside = "".join(text.split("$")[::2])  # the words between the math
    assert not any(symbol in outside for symbol in "μσε∂⊙·")  # every symbol typeset
