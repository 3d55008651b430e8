"""Server-side latency of every foundations control (the computation a control change
triggers, figure JSON included), p50/p95 over repeated changes on CPU. Writes
benchmarks/results/foundations_latency.json.

Run: python -m benchmarks.foundations_latency
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import percentiles, write_results
from explorer import density, gen_disc, synthetic
from explorer.figures import (
    make_bar_figure,
    make_contour_figure,
    make_density_1d_figure,
    make_line_figure,
)

GRID = np.linspace(-8, 8, 801)
AXIS = np.linspace(-4, 4, 61)


def timed(action, repeats: int = 30) -> list[float]:
    action()  # warm-up
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        out.append(1000 * (time.perf_counter() - started))
    return out


def main() -> None:
    truth = synthetic.DENSITIES_1D["two bumps"]
    train, held_out = truth.sample(60, 0), truth.sample(60, 1)
    rng = np.random.default_rng(0)

    def one_d_fit():
        curves = {"true": np.exp(truth.log_density(GRID)),
                  "histogram": density.histogram_density(train, rng.uniform(0.05, 3), GRID),
                  "KDE": density.kde(train, rng.uniform(0.01, 2), GRID)}
        make_density_1d_figure(GRID, curves, train, held_out).to_json()

    mixture = density.GaussianMixture(3)
    mixture.initialise(train)

    def fifty_steps():
        for _ in range(50):
            mixture.step(train, held_out)
        steps, train_ll, test_ll = zip(*mixture.history)
        make_line_figure(steps, {"train": train_ll, "held-out": test_ll}, "step", "ll").to_json()

    def log_trick():
        n = int(rng.integers(1, 2000))
        product, _ = density.log_trick(np.exp(truth.log_density(truth.sample(n, 1))))
        make_line_figure(np.arange(n), {"p": product + 1e-45}, "N", "p", log_y=True).to_json()

    def budget():
        base = np.exp(truth.log_density(GRID))
        moved = density.with_bump(base, GRID, rng.uniform(-6, 6), rng.uniform(0, 0.9))
        make_density_1d_figure(GRID, {"before": base, "after": moved}).to_json()
        make_bar_figure(["A", "B", "C"], density.softmax([rng.uniform(-5, 5), 0.5, 0]), "p").to_json()

    points, labels = synthetic.sample_2d("moons", 600, seed=0)

    def two_d():
        grid = synthetic.Grid2D(-3, 3, 70).points()
        field = density.kde(points, 0.2, grid).reshape(70, 70)
        chain = density.DiscreteChainRule.from_density(  # the page factors its KDE
            lambda query: density.kde(points, 0.2, query), bins=int(rng.integers(4, 60)))
        make_contour_figure(np.linspace(-3, 3, 70), field, points).to_json()
        make_line_figure(chain.edges[:-1], {"m": chain.marginal, "c": chain.conditional(1)},
                         "x", "p").to_json()

    toy_points, toy_labels = synthetic.sample_2d("moons", 400, seed=0)

    classifier = gen_disc.LogisticClassifier(toy_points, toy_labels)

    def gen_vs_disc_toy_set():  # a new toy set refits the classifier (cached per set)
        gen_disc.LogisticClassifier(toy_points, toy_labels)

    def gen_vs_disc_bandwidth():  # what a bandwidth change recomputes (not cached)
        model = gen_disc.GenerativeClassModel(toy_points, toy_labels, rng.uniform(0.05, 1.5))
        grid = np.stack(np.meshgrid(AXIS, AXIS), -1).reshape(-1, 2)
        both = model.p_x_given_y(grid)
        p_x = (both @ model.prior).reshape(61, 61)
        conditional = both[:, 0].reshape(61, 61)
        disc = classifier.p_y_given_x(grid)[:, 1].reshape(61, 61)
        for field in (disc, np.log10(p_x + 1e-12), np.log10(conditional + 1e-12)):
            make_contour_figure(AXIS, field, toy_points, toy_labels, clickable=True).to_json()

    def gen_vs_disc_click():
        model = gen_disc.GenerativeClassModel(toy_points, toy_labels, 0.3)
        gen_disc.bayes_check(model, rng.uniform(-4, 4, 2))

    controls = {"1-D sliders (histogram + KDE)": one_d_fit, "mixture: 50 steps": fifty_steps,
                "log trick N": log_trick, "budget sliders": budget,
                "2-D toy set / bins": two_d,
                "gen vs disc: bandwidth (refit + 3 maps)": gen_vs_disc_bandwidth,
                "gen vs disc: click a point": gen_vs_disc_click,
                "gen vs disc: new toy set (classifier refit)": gen_vs_disc_toy_set}
    per_control = {name: percentiles(timed(action, 15)) for name, action in controls.items()}
    worst = max(v["p95_ms"] for v in per_control.values())
    write_results("foundations_latency", {"server_p95_ms": worst, "per_control": per_control,
                                          "goal_server_p95_ms": 200,
                                          "what": "computation + plotly JSON per control "
                                                  "change, single process, no cache hits"})


if __name__ == "__main__":
    main()
