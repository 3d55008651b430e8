"""Generative vs discriminative on toy data: the maps sit where their classes are, and the
captions are computed from the numbers they describe."""

import numpy as np
import pytest

from explorer import gen_disc, synthetic

AXIS = np.linspace(-4, 4, 61)


def at_points(field, points):
    ix = np.clip(np.searchsorted(AXIS, points[:, 0]), 0, len(AXIS) - 1)
    iy = np.clip(np.searchsorted(AXIS, points[:, 1]), 0, len(AXIS) - 1)
    return field[iy, ix]


@pytest.mark.parametrize("name", synthetic.TOY_2D_NAMES)
def test_each_map_is_high_where_its_class_is(name):
    points, labels = synthetic.sample_2d(name, 300, seed=0)
    generative = gen_disc.GenerativeClassModel(points, labels, 0.3)
    maps = gen_disc.toy_fields(generative, gen_disc.LogisticClassifier(points, labels), AXIS)
    for index, label in enumerate(generative.classes):
        conditional = at_points(maps["p_x_given_y"][index], points)
        assert conditional[labels == label].mean() > 5 * conditional[labels != label].mean()
    disc = at_points(maps["disc"], points)
    assert disc[labels == 1].mean() > 0.7 > 0.3 > disc[labels == 0].mean()


def test_agreement_caption_follows_the_numbers():
    points, labels = synthetic.sample_2d("moons", 300, seed=0)
    generative = gen_disc.GenerativeClassModel(points, labels, 0.3)
    classifier = gen_disc.LogisticClassifier(points, labels)
    near = gen_disc.bayes_table(generative, classifier, np.array([0.0, 0.5]))
    assert np.allclose(near["p(x|y)"], near["p(y|x) p(x) / p(y)"])
    assert f"{gen_disc.P_X_GIVEN_Y} and {gen_disc.BAYES} agree" in gen_disc.agreement(near)
    far = gen_disc.bayes_table(generative, classifier, np.array([40.0, 40.0]))
    assert "cannot recover" in gen_disc.agreement(far)  # p(x) underflows to 0 out there
    table = dict(near)
    table["discriminative p(y|x)"] = [1.0, 0.0]
    table["p(y|x) from the generative model"] = [0.5, 0.5]
    assert "differs from the generative model's by up to 0.50" in gen_disc.agreement(table)
    table["discriminative p(y|x)"] = [0.5, 0.5]
    assert "matches" in gen_disc.agreement(table)


def test_the_verdict_above_the_plots_names_each_models_class_from_the_numbers():
    """A click's answer stands above the plots (on a projector the table is below the first
    screen): each model's class and p(y|x), and p(x), read from the table at the point."""
    points, labels = synthetic.sample_2d("moons", 300, seed=0)
    generative = gen_disc.GenerativeClassModel(points, labels, 0.3)
    classifier = gen_disc.LogisticClassifier(points, labels)
    for point in points[labels == 0][:3]:  # on class 0's own points both models say 0
        table = gen_disc.bayes_table(generative, classifier, point)
        line = gen_disc.verdict(table, float(generative.p_x(point)[0]))
        assert "generative model (Bayes' rule) says class 0" in line
        assert "the classifier class 0" in line
    table = dict(gen_disc.bayes_table(generative, classifier, np.array([0.0, 0.5])))
    table["p(y|x) from the generative model"] = [0.2, 0.8]  # the two models disagree
    table["discriminative p(y|x)"] = [0.9, 0.1]
    line = gen_disc.verdict(table, 0.0123)
    assert "$p(x)$ = 0.012" in line and "says class 1 (0.80)" in line
    assert "the classifier class 0 (0.90)" in line
    far = gen_disc.bayes_table(generative, classifier, np.array([40.0, 40.0]))
    assert "cannot choose" in gen_disc.verdict(far, 0.0)  # p(x) underflows out there
