import math

import numpy as np
import pytest
import torch

from explorer import objectives
from explorer.models import build
from explorer.models.autoencoder import Autoencoder, AutoencoderConfig
from explorer.models.vae import VAE, VAEConfig, binarize, fixed_binarization, init_output_bias


def tiny(architecture="mlp", likelihood="bernoulli", latent_dim=3) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden=16, architecture=architecture,
                         likelihood=likelihood))


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_shapes(architecture, likelihood, fake_images, fake_labels):
    model = tiny(architecture, likelihood)
    x = model.prepare(fake_images[:5])
    decoded, mu, logvar, z = model(x)
    assert decoded.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == z.shape == (5, 3)
    terms = model.training_loss(fake_images[:5], fake_labels[:5], model.live_hyperparameters)
    assert terms["loss"].shape == () and torch.isfinite(terms["loss"])
    assert model.sample(4).shape == (4, 1, 28, 28)
    assert model.log_weights(x, 7).shape == (7, 5)
    assert model.test_metric(fake_images[:2], fake_labels[:2], samples=5).shape == (2,)


def test_autoencoder_shapes_and_shared_decoder_shape(fake_images, fake_labels):
    ae = Autoencoder(AutoencoderConfig(latent_dim=3, hidden=16))
    vae = tiny()
    assert [p.shape for p in ae.decoder.parameters()] == [p.shape for p in vae.decoder.parameters()]
    assert ae(fake_images[:4].float() / 255).shape == (4, 1, 28, 28)
    assert ae.training_loss(fake_images[:4], fake_labels[:4], {})["loss"] > 0


def test_reparameterization_passes_gradients_to_mu_and_logvar():
    mu = torch.zeros(4, 3, requires_grad=True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    (z ** 2).sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_analytic_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.3, -1.2, 0.8]])
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 3)
    per_dim_log_q = -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi))
    per_dim_log_p = -0.5 * (z ** 2 + math.log(2 * math.pi))
    monte_carlo = (per_dim_log_q - per_dim_log_p).mean(0)
    analytic = objectives.kl_standard_normal(mu, logvar)[0]
    assert torch.allclose(monte_carlo, analytic, atol=0.02)
    assert objectives.kl_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2)).abs().max() == 0


def linear_gaussian_model():
    """p(z) = N(0, I_2), p(x|z) = N(Wz + b, s^2 I_3): log p(x) = log N(x; b, W W^T + s^2 I)."""
    W = torch.tensor([[1.0, 0.5], [-0.3, 0.8], [0.2, -1.1]])
    b = torch.tensor([0.1, -0.2, 0.3])
    return W, b, 0.4


def exact_log_p(x, W, b, s):
    covariance = W @ W.T + s**2 * torch.eye(3)
    return torch.distributions.MultivariateNormal(b, covariance).log_prob(x)


def toy_log_weights(x, k, W, b, s, q_mu, q_logvar):
    z = q_mu + torch.exp(0.5 * q_logvar) * torch.randn(k, *q_mu.shape)  # (k, B, 2)
    mean = z @ W.T + b
    log_px_z = objectives.gaussian_log_likelihood(mean.flatten(0, 1), x.repeat(k, 1), s)
    return (log_px_z.view(k, -1) + objectives.standard_normal_log_density(z)
            - objectives.gaussian_log_density(z, q_mu, q_logvar))


def test_elbo_below_exact_log_p_and_iwae_rises_towards_it():
    torch.manual_seed(0)
    W, b, s = linear_gaussian_model()
    x = torch.tensor([[0.5, 0.1, -0.7], [1.5, -1.0, 0.2]])
    q_mu, q_logvar = torch.full((2, 2), 0.3), torch.full((2, 2), -0.5)  # a deliberately poor q
    log_p = exact_log_p(x, W, b, s)
    repeats = 400
    bounds = {}
    for k in (1, 10, 100):
        weights = toy_log_weights(x.repeat(repeats, 1), k, W, b, s, q_mu.repeat(repeats, 1),
                                  q_logvar.repeat(repeats, 1))
        bounds[k] = objectives.iwae_bound(weights).view(repeats, 2).mean(0)
    assert (bounds[1] < log_p).all()
    assert (bounds[1] < bounds[10]).all() and (bounds[10] < bounds[100]).all()
    assert (bounds[100] <= log_p + 0.02).all()
    assert (log_p - bounds[100]).abs().max() < (log_p - bounds[1]).abs().min()


def test_exact_posterior_makes_elbo_tight():
    W, b, s = linear_gaussian_model()
    x = torch.tensor([[0.5, 0.1, -0.7]])
    precision = torch.eye(2) + W.T @ W / s**2  # posterior of a linear Gaussian model
    covariance = torch.linalg.inv(precision)
    mean = (covariance @ W.T @ (x[0] - b) / s**2)[None]
    # with a diagonal q this is tight only when the posterior is diagonal, so compare to the
    # full-covariance bound through importance weights: all weights equal log p(x).
    z = torch.distributions.MultivariateNormal(mean[0], covariance).sample((1000,))
    log_q = torch.distributions.MultivariateNormal(mean[0], covariance).log_prob(z)
    log_joint = objectives.gaussian_log_likelihood(z @ W.T + b, x.expand(1000, 3), s) \
        + objectives.standard_normal_log_density(z)
    assert torch.allclose(log_joint - log_q, exact_log_p(x, W, b, s).expand(1000), atol=1e-3)


def test_iwae_of_the_model_is_above_its_elbo_on_average(fake_images):
    model = tiny()
    x = model.prepare(fake_images[:8], train=False)
    torch.manual_seed(1)
    elbo = torch.stack([objectives.iwae_bound(model.log_weights(x, 1)) for _ in range(50)]).mean(0)
    iwae = model.estimate_log_likelihood(x, samples=200, chunk=64)
    assert (iwae > elbo).float().mean() == 1.0


def test_beta_and_sigma_change_the_loss_as_the_formula_says(fake_images, fake_labels):
    model = tiny(likelihood="gaussian")
    torch.manual_seed(0)
    base = model.training_loss(fake_images, fake_labels, {"beta": 1.0, "sigma": 0.1})
    torch.manual_seed(0)
    heavier = model.training_loss(fake_images, fake_labels, {"beta": 101.0, "sigma": 0.1})
    # loss = -(log p(x|z) - beta KL): raising beta by 100 adds 100 KL
    difference = float(heavier["loss"].detach() - base["loss"].detach())
    assert difference == pytest.approx(100 * float(base["kl"]), abs=0.02)
    torch.manual_seed(0)
    wider = model.training_loss(fake_images, fake_labels, {"beta": 1.0, "sigma": 0.2})
    squared = (float(base["reconstruction"]) - 784 * (math.log(0.1) + 0.5 * math.log(2 * math.pi)))
    expected = squared / 4 + 784 * (math.log(0.2) + 0.5 * math.log(2 * math.pi))
    assert float(wider["reconstruction"]) == pytest.approx(expected, rel=1e-4)


def test_free_bits_floor_the_kl_in_the_objective():
    recon = torch.zeros(4)
    kl = torch.full((4, 3), 0.01)
    assert float(objectives.beta_objective(recon, kl, free_bits=0.5)) == pytest.approx(1.5)
    assert float(objectives.beta_objective(recon, kl)) == pytest.approx(0.03)


def test_fixed_binarization_is_repeatable(fake_images):
    assert torch.equal(fixed_binarization(fake_images), fixed_binarization(fake_images))
    assert set(fixed_binarization(fake_images).unique().tolist()) <= {0.0, 1.0}


def test_binarization_keeps_each_level_with_probability_level_over_255():
    levels = torch.tensor([0, 1, 64, 128, 254, 255], dtype=torch.uint8)
    images = levels.repeat(200_000, 1)
    frequencies = binarize(images, torch.Generator().manual_seed(0)).mean(0)
    assert frequencies[0] == 0 and frequencies[-1] == 1  # never / always on
    expected = levels.double() / 255
    assert torch.allclose(frequencies.double(), expected, atol=4 * (0.25 / 200_000) ** 0.5)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_output_bias_starts_the_decoder_at_the_mean_image(architecture, fake_images, fake_labels):
    model = tiny(architecture)
    with torch.no_grad():
        for module in model.decoder.modules():
            if getattr(module, "weight", None) is not None:
                module.weight.zero_()  # leave only the output bias in play
    init_output_bias(model, fake_images)
    mean = (fake_images.float() / 255).mean(0).clamp(1e-3, 1 - 1e-3)
    if architecture == "conv":
        mean = mean.mean().expand_as(mean)
    decoded = model.decode_images(torch.zeros(2, 3))
    assert torch.allclose(decoded[0], mean, atol=1e-5)


def test_output_bias_lowers_the_starting_loss(fake_images, fake_labels):
    plain, started = tiny(), tiny()
    init_output_bias(started, fake_images)
    losses = []
    for model in (plain, started):
        torch.manual_seed(0)
        losses.append(float(model.training_loss(fake_images, fake_labels,
                                                model.live_hyperparameters)["loss"].detach()))
    assert losses[1] < losses[0]


def test_loss_falls_on_a_fixed_batch(fake_images, fake_labels):
    model = tiny()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    hyper = model.live_hyperparameters
    torch.manual_seed(0)
    first = float(model.training_loss(fake_images, fake_labels, hyper)["loss"].detach())
    for _ in range(60):
        optimizer.zero_grad()
        model.training_loss(fake_images, fake_labels, hyper)["loss"].backward()
        optimizer.step()
    torch.manual_seed(0)
    assert float(model.training_loss(fake_images, fake_labels, hyper)["loss"].detach()) < 0.7 * first


@pytest.mark.parametrize("config", [{"latent_dim": 0}, {"architecture": "rnn"},
                                    {"likelihood": "poisson"}, {"sigma": 0.0}])
def test_bad_configs_are_refused(config):
    with pytest.raises(ValueError):
        build("VAE", config)


def test_categorical_nll_and_bits_per_dim():
    logits = torch.zeros(1, 256, 2, 2)
    nll = objectives.categorical_nll(logits, torch.zeros(1, 2, 2))
    assert float(nll) == pytest.approx(4 * math.log(256))
    assert float(objectives.nats_to_bits_per_dim(nll, 4)) == pytest.approx(8.0)
    assert np.isclose(objectives.nats_to_bits_per_dim(math.log(2) * 10, 10), 1.0)


def test_only_a_gaussian_decoder_has_a_live_sigma():
    from explorer.models.vae import VAE, VAEConfig

    assert "sigma" not in VAE(VAEConfig(latent_dim=2, hidden=8)).live_hyperparameters
    gaussian = VAE(VAEConfig(latent_dim=2, hidden=8, likelihood="gaussian", sigma=0.2))
    assert gaussian.live_hyperparameters["sigma"] == 0.2
