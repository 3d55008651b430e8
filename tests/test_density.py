import math

import numpy as np
import pytest

from explorer import density, gen_disc, synthetic

GRID = np.linspace(-12, 12, 4801)


@pytest.fixture
def samples():
    return synthetic.DENSITIES_1D["two bumps"].sample(200, seed=0)


@pytest.mark.parametrize("width", [0.1, 0.5, 2.0])
def test_histogram_integrates_to_one(samples, width):
    assert np.trapezoid(density.histogram_density(samples, width, GRID), GRID) == \
        pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("bandwidth", [0.05, 0.3, 1.5])
def test_kde_integrates_to_one(samples, bandwidth):
    assert np.trapezoid(density.kde(samples, bandwidth, GRID), GRID) == pytest.approx(1.0, abs=1e-3)


def test_2d_kde_integrates_to_one():
    points, _ = synthetic.sample_2d("moons", 200, seed=0)
    grid = synthetic.Grid2D(-5, 5, 201)
    values = density.kde(points, 0.3, grid.points()).reshape(201, 201)
    cell = (grid.xs[1] - grid.xs[0]) ** 2
    assert values.sum() * cell == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("components", [1, 3, 8])
def test_mixture_gradient_ascent_raises_log_likelihood_every_step(samples, components):
    mixture = density.GaussianMixture(components, seed=1)
    mixture.initialise(samples)
    previous = mixture.log_likelihood(samples)
    for _ in range(40):
        value = mixture.step(samples)
        assert value >= previous - 1e-12
        previous = value
    assert previous > mixture.history[0][1] - 1e-9
    assert np.trapezoid(mixture.density(GRID), GRID) == pytest.approx(1.0, abs=1e-3)


def test_mixture_in_two_dimensions_and_held_out_curve():
    points, _ = synthetic.sample_2d("mixture", 300, seed=0)
    mixture = density.GaussianMixture(3, dims=2)
    for _ in range(20):
        mixture.step(points[:200], points[200:])
    steps, train, test = zip(*mixture.history)
    assert steps[-1] == 20 and train[-1] > train[0] and np.isfinite(test).all()


@pytest.mark.parametrize("call, message", [
    (lambda: density.kde(np.array([]), 0.3, GRID), "at least 1"),
    (lambda: density.kde(np.array([0.0]), 0.0, GRID), "positive"),
    (lambda: density.histogram_density(np.array([1.0]), -1, GRID), "positive"),
    (lambda: density.GaussianMixture(1000), "between 1 and 50"),
    (lambda: density.kde(np.array([np.nan]), 0.3, GRID), "finite"),
    (lambda: density.with_bump(GRID, GRID, 0.0, 1.0), "mass"),
])
def test_bad_inputs_give_clear_messages(call, message):
    with pytest.raises(density.DensityInputError, match=message):
        call()


def test_one_sample_still_works():
    one = np.array([0.5])
    assert np.trapezoid(density.kde(one, 0.3, GRID), GRID) == pytest.approx(1.0, abs=1e-3)
    assert density.GaussianMixture(2).step(one) > -math.inf


def test_log_trick_product_underflows_sum_does_not():
    product, log_sum = density.log_trick(np.full(2000, 0.1))
    assert product[-1] == 0.0 and np.isfinite(log_sum[-1])
    assert log_sum[-1] == pytest.approx(2000 * math.log(0.1))


def test_bump_keeps_the_area_and_takes_mass_elsewhere():
    base = np.exp(synthetic.DENSITIES_1D["two bumps"].log_density(GRID))
    moved = density.with_bump(base, GRID, 0.0, 0.4)
    assert np.trapezoid(moved, GRID) == pytest.approx(1.0, abs=1e-4)
    assert moved[np.argmin(abs(GRID))] > base[np.argmin(abs(GRID))]
    assert moved[np.argmin(abs(GRID - 2))] < base[np.argmin(abs(GRID - 2))]


def test_chain_rule_factors_rebuild_the_joint():
    points, _ = synthetic.sample_2d("rings", 500, seed=0)
    chain = density.DiscreteChainRule.fit(points, bins=12)
    assert chain.joint.sum() == pytest.approx(1.0)
    assert np.allclose(chain.product(), chain.joint)
    assert chain.conditional(5).sum() == pytest.approx(1.0)


def _gaussian_2d(rho: float):
    """A standard bivariate normal with correlation rho: (N, 2) -> (N,) densities."""
    def density_at(points):
        x, y = points[:, 0], points[:, 1]
        quadratic = (x**2 - 2 * rho * x * y + y**2) / (1 - rho**2)
        return np.exp(-quadratic / 2) / (2 * np.pi * np.sqrt(1 - rho**2))
    return density_at


def test_chain_rule_of_a_density_integrates_it_per_bin():
    from math import erf, sqrt

    chain = density.DiscreteChainRule.from_density(_gaussian_2d(0.0), bins=6)
    cdf = np.array([0.5 * (1 + erf(e / sqrt(2))) for e in chain.edges])
    expected = np.diff(cdf) / (cdf[-1] - cdf[0])  # N(0, 1)'s mass per bin on [-3, 3]
    assert np.allclose(chain.marginal, expected, atol=2e-3)
    assert np.allclose(chain.product(), chain.joint)
    for row in range(6):  # independent: every conditional is the marginal
        assert np.allclose(chain.conditional(row), chain.marginal, atol=2e-3)


def test_chain_rule_conditionals_follow_a_correlated_density():
    chain = density.DiscreteChainRule.from_density(_gaussian_2d(0.8), bins=20)
    centres = (chain.edges[:-1] + chain.edges[1:]) / 2
    means = [float(centres @ chain.conditional(i)) for i in (5, 10, 14)]
    # E[x2 | x1] = 0.8 x1 (less where the square cuts the tail off)
    assert means[0] < means[1] < means[2]
    assert means[2] == pytest.approx(0.8 * centres[14], abs=0.1)


def test_chain_rule_of_a_density_rejects_bad_densities():
    with pytest.raises(density.DensityInputError):
        density.DiscreteChainRule.from_density(lambda q: -np.ones(len(q)), bins=4)
    with pytest.raises(density.DensityInputError):
        density.DiscreteChainRule.from_density(lambda q: np.full(len(q), np.nan), bins=4)
    with pytest.raises(density.DensityInputError):
        density.DiscreteChainRule.from_density(lambda q: np.zeros(len(q)), bins=4)
    with pytest.raises(density.DensityInputError):
        density.DiscreteChainRule.from_density(_gaussian_2d(0.0), bins=1)
    far = density.DiscreteChainRule.from_density(  # all its mass in the top-right bin
        lambda q: ((q[:, 0] > 2.5) & (q[:, 1] > 2.5)).astype(float), bins=4)
    assert np.allclose(far.conditional(0), 0.25) and far.conditional(3)[3] == 1.0


def test_bayes_rule_holds_on_the_generative_toy_model():
    points, labels = synthetic.sample_2d("moons", 300, seed=0)
    model = gen_disc.GenerativeClassModel(points, labels, 0.3)
    for point in ([0.0, 0.2], [1.0, -0.3], [2.5, 2.5]):
        numbers = gen_disc.bayes_check(model, np.array(point))
        assert np.allclose(numbers["bayes"], numbers["p_x_given_y"], rtol=1e-9, atol=1e-300)
        assert numbers["p_y_given_x"].sum() == pytest.approx(1.0)


def test_far_points_confident_classifier_tiny_density():
    points, labels = synthetic.sample_2d("moons", 300, seed=0)
    model = gen_disc.GenerativeClassModel(points, labels, 0.3)
    classifier = gen_disc.LogisticClassifier(points, labels)
    far, near = np.array([[6.0, 6.0]]), np.array([[0.0, 0.75]])
    assert classifier.p_y_given_x(far).max() > 0.9
    assert model.p_x(far)[0] < 1e-6 * model.p_x(near)[0]


def test_one_class_is_refused():
    with pytest.raises(density.DensityInputError, match="two classes"):
        gen_disc.GenerativeClassModel(np.zeros((5, 2)), np.zeros(5))


def test_adding_a_sample_keeps_the_mixture_fit():
    """Clicking a sample used to discard the fit: the session mixture survives it."""
    state = {}
    mixture = density.session_mixture(state, ("two bumps", 60, 0, 3), 3)
    samples = synthetic.DENSITIES_1D["two bumps"].sample(60, 0)
    for _ in range(5):
        mixture.step(samples)
    placed = np.concatenate([samples, [5.5]])  # a click at x = 5.5
    again = density.session_mixture(state, ("two bumps", 60, 0, 3), 3)
    assert again is mixture and again.steps_taken == 5
    again.step(placed)
    assert again.steps_taken == 6
    assert density.session_mixture(state, ("two bumps", 61, 0, 3), 3) is not mixture


def test_fit_scores_report_train_and_held_out():
    grid = np.linspace(-8, 8, 801)
    flat = np.full_like(grid, 1 / 16)
    scores = density.fit_scores({"flat": flat}, grid, np.array([0.0, 1.0]), np.array([2.0]))
    assert scores["flat"] == (pytest.approx(np.log(1 / 16)), pytest.approx(np.log(1 / 16)))
    assert density.fit_scores({"flat": flat}, grid, np.array([0.0]), np.array([])) == {}


def test_the_log_trick_caption_follows_the_numbers():
    product, log_sum = density.log_trick(np.full(100, 0.25))
    assert density.underflow_at(product) is not None
    at = density.underflow_at(product)
    assert product[at - 2] > 0 and product[at - 1] == 0  # the first zero, 1-based
    note = density.log_trick_note(product, log_sum)
    assert f"N = {at}" in note and "−138.6 nats" in note  # a true minus sign
    few = density.log_trick(np.full(3, 0.5))
    assert density.underflow_at(few[0]) is None
    assert "still above 0" in density.log_trick_note(*few)
    assert "(1.25 × 10⁻¹)" in density.log_trick_note(*few)  # 0.5³ in powers of ten


def test_the_log_trick_demo_underflows_at_the_same_n_whatever_n_is_shown():
    short, _ = density.log_trick_demo(200)
    long, _ = density.log_trick_demo(2000)
    assert np.array_equal(short, long[:200])  # the same first samples
    assert density.underflow_at(short) == density.underflow_at(long) is not None
    with pytest.raises(ValueError):
        density.log_trick_demo(0)
