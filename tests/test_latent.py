import numpy as np
import pytest
import torch

from explorer import latent
from explorer.models.autoencoder import Autoencoder, AutoencoderConfig
from explorer.models.vae import VAE, VAEConfig


def tiny_vae(latent_dim=4):
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=latent_dim, hidden=16)).eval()


def test_stats_order_by_kl_and_flag_inactive_units():
    rng = np.random.default_rng(0)
    means = np.stack([rng.normal(0, 1.0, 500), rng.normal(0, 0.01, 500),
                      rng.normal(0, 0.5, 500)], axis=1)
    logvars = np.stack([np.full(500, -2.0), np.zeros(500), np.full(500, -1.0)], axis=1)
    stats = latent.latent_stats(means.astype(np.float32), logvars.astype(np.float32))
    assert stats.order.tolist() == [0, 2, 1]
    assert stats.active.tolist() == [True, False, True]
    assert stats.mean_kl[1] < 0.01


def test_encode_and_decode_shapes(fake_images):
    vae = tiny_vae()
    means, logvars = latent.encode_means(vae, fake_images[:10], batch_size=4)
    assert means.shape == logvars.shape == (10, 4)
    assert latent.decode_arrays(vae, means).shape == (10, 28, 28)
    assert latent.decode_arrays(vae, means[0]).shape == (1, 28, 28)
    ae = Autoencoder(AutoencoderConfig(latent_dim=4, hidden=16)).eval()
    codes, none = latent.encode_means(ae, fake_images[:3])
    assert codes.shape == (3, 4) and none is None


def test_decode_survives_extreme_values():
    out = latent.decode_arrays(tiny_vae(), np.array([1e30, -1e30, np.nan, 3.0]))
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_traversal_sweeps_only_the_chosen_dimension():
    base = np.array([0.1, 0.2, 0.3])
    codes = latent.traversal_codes(base, [2, 0], steps=5)
    assert codes.shape == (10, 3)
    assert np.allclose(codes[:5, 2], np.linspace(-3, 3, 5)) and np.allclose(codes[:5, :2], base[:2])
    assert np.allclose(codes[5:, 0], np.linspace(-3, 3, 5)) and np.allclose(codes[5:, 1:], base[1:])


def test_manifold_grid_uses_inverse_cdf():
    axis, codes = latent.manifold_codes(5, margin=0.05)
    assert codes.shape == (25, 2)
    assert axis[2] == pytest.approx(0.0, abs=1e-6)
    assert axis[0] == pytest.approx(-1.6449, abs=1e-3)  # Phi^{-1}(0.05)
    assert codes[0, 1] == pytest.approx(-axis[0], abs=1e-6)  # top row holds the largest z2


def test_interpolation_ends_and_norms():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    linear = latent.interpolate(a, b, 5)
    spherical = latent.interpolate(a, b, 5, spherical=True)
    for path in (linear, spherical):
        assert np.allclose(path[0], a) and np.allclose(path[-1], b, atol=1e-6)
    assert np.linalg.norm(spherical[2]) > np.linalg.norm(linear[2])
    assert np.allclose(latent.interpolate(a, a, 3, spherical=True), a)


def test_linear_probe_separates_separable_codes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    codes = np.eye(3)[labels] * 3 + rng.normal(0, 0.3, (600, 3))
    accuracy = latent.linear_probe_accuracy(codes[:400], labels[:400], codes[400:], labels[400:])
    assert accuracy > 0.95
    noise = rng.normal(size=(600, 3))
    assert latent.linear_probe_accuracy(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.6


def test_pca_2d_keeps_the_widest_direction():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.normal(0, 5, 300), rng.normal(0, 0.1, 300), rng.normal(0, 1, 300)], 1)
    projected = latent.pca_2d(codes)
    assert projected.shape == (300, 2) and projected[:, 0].std() > 4
