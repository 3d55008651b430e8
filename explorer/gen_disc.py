"""Generative vs discriminative vs conditional generative models on labelled toy data:
class-conditional kernel densities p(x|y) with priors p(y) (so p(x) and, by Bayes' rule,
p(y|x)), and a separately trained logistic regression p(y|x). Also a pixel classifier for
the "confident on nonsense" contrast with an image density model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.density import DensityInputError, check_samples, check_width, kde
from explorer.logistic import fit_logistic_regression
from explorer.typeset import probability_column


@dataclass
class GenerativeClassModel:
    """p(x|y) = KDE of class y's points, p(y) = class frequency, p(x) = sum_y p(x|y) p(y)."""

    points: np.ndarray
    labels: np.ndarray
    bandwidth: float = 0.3

    def __post_init__(self) -> None:
        self.points = check_samples(self.points, minimum=2).reshape(-1, 2)
        self.labels = np.asarray(self.labels).astype(int)
        check_width(self.bandwidth)
        self.classes = np.unique(self.labels)
        if len(self.classes) < 2:
            raise DensityInputError("Need points from at least two classes.")
        self.prior = np.array([(self.labels == c).mean() for c in self.classes])

    def p_x_given_y(self, query: np.ndarray) -> np.ndarray:
        """(M, C) class-conditional densities."""
        query = np.asarray(query, dtype=np.float64).reshape(-1, 2)
        return np.stack([kde(self.points[self.labels == c], self.bandwidth, query)
                         for c in self.classes], axis=1)

    def p_x(self, query: np.ndarray) -> np.ndarray:
        """(M,) marginal density p(x) = sum_y p(x|y) p(y)."""
        return self.p_x_given_y(query) @ self.prior

    def p_y_given_x(self, query: np.ndarray) -> np.ndarray:
        """(M, C) posterior by Bayes' rule p(y|x) = p(x|y) p(y) / p(x) (uniform where p(x)=0)."""
        joint = self.p_x_given_y(query) * self.prior
        total = joint.sum(1, keepdims=True)
        uniform = np.full_like(joint, 1.0 / joint.shape[1])
        return np.where(total > 0, joint / np.where(total > 0, total, 1.0), uniform)


def quadratic_features(points: np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    return torch.cat([x, x**2, (x[:, 0] * x[:, 1])[:, None]], dim=1)


@dataclass
class LogisticClassifier:
    """Discriminative p(y|x): multinomial logistic regression on quadratic features."""

    points: np.ndarray
    labels: np.ndarray
    l2: float = 1e-3

    def __post_init__(self) -> None:
        features = quadratic_features(check_samples(self.points, minimum=2))
        targets = torch.as_tensor(np.asarray(self.labels)).long()
        self.classes = int(targets.max()) + 1
        self.layer = fit_logistic_regression(features, targets, self.l2, iterations=200)

    @torch.no_grad()
    def p_y_given_x(self, query: np.ndarray) -> np.ndarray:
        return torch.softmax(self.layer(quadratic_features(query)), 1).numpy()


def bayes_check(model: GenerativeClassModel, point: np.ndarray) -> dict[str, np.ndarray]:
    """The numbers of Bayes' rule at one point: p(x|y) and p(y|x) p(x) / p(y), per class."""
    p_xy = model.p_x_given_y(point)[0]
    p_x = float(model.p_x(point)[0])
    p_yx = model.p_y_given_x(point)[0]
    return {"p_x_given_y": p_xy, "p_y_given_x": p_yx, "p_x": np.array(p_x),
            "p_y": model.prior, "bayes": p_yx * p_x / model.prior}


def toy_fields(generative: GenerativeClassModel, discriminative: LogisticClassifier,
               axis: np.ndarray) -> dict[str, np.ndarray]:
    """The three maps over axis x axis (rows = x2): p(x) (n, n), p(x|y) (C, n, n) in the
    order of generative.classes, and the classifier's p(y=1|x) (n, n)."""
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)  # (n*n, 2), x1 fastest
    shape = (len(axis), len(axis))
    conditional = generative.p_x_given_y(grid)  # (M, C), reused for p(x) = sum_y p(x|y) p(y)
    return {"p_x": (conditional @ generative.prior).reshape(shape),
            "p_x_given_y": conditional.T.reshape(-1, *shape),
            "disc": discriminative.p_y_given_x(grid)[:, 1].reshape(shape)}


def bayes_table(generative: GenerativeClassModel, discriminative: LogisticClassifier,
                point: np.ndarray) -> dict[str, list]:
    """The Bayes' rule table at one point, one row per class: p(y), p(x|y), the generative
    model's p(y|x), p(y|x) p(x) / p(y) (which equals p(x|y)), and the classifier's p(y|x)."""
    numbers = bayes_check(generative, np.asarray(point, dtype=np.float64))
    return {"class y": [str(c) for c in generative.classes],
            "p(y)": list(numbers["p_y"]), "p(x|y)": list(numbers["p_x_given_y"]),
            "p(y|x) from the generative model": list(numbers["p_y_given_x"]),
            "p(y|x) p(x) / p(y)": list(numbers["bayes"]),
            "discriminative p(y|x)": list(discriminative.p_y_given_x(
                np.asarray(point, dtype=np.float64))[0])}


# the table's columns as typeset on the page ($...$ is Streamlit Markdown's math)
BAYES_HEADERS = {"class y": "class $y$", "p(y)": "$p(y)$", "p(x|y)": r"${p(x \mid y)}$",
                 "p(y|x) from the generative model": r"generative ${p(y \mid x)}$",
                 "p(y|x) p(x) / p(y)": r"${p(y \mid x)\,p(x)\,/\,p(y)}$",
                 "discriminative p(y|x)": r"discriminative ${p(y \mid x)}$"}
P_X_GIVEN_Y, BAYES = BAYES_HEADERS["p(x|y)"], BAYES_HEADERS["p(y|x) p(x) / p(y)"]


def agreement(table: dict[str, list], rtol: float = 1e-6) -> str:
    """Which columns of a Bayes table agree, checked on the numbers, as a sentence."""
    if max(table["p(x|y)"]) == 0.0:
        text = (f"Here every {P_X_GIVEN_Y}, and so $p(x),$ is 0 to machine precision: the "
                r"generative model's ${p(y \mid x)}$ falls back to uniform and Bayes' rule "
                f"cannot recover {P_X_GIVEN_Y}.")
    elif np.allclose(table["p(x|y)"], table["p(y|x) p(x) / p(y)"], rtol=rtol, atol=0.0):
        text = (f"The columns {P_X_GIVEN_Y} and {BAYES} agree: Bayes' rule recovers "
                rf"{P_X_GIVEN_Y} from ${{p(y \mid x)}},$ $p(x)$ and $p(y).$")
    else:
        text = f"The columns {P_X_GIVEN_Y} and {BAYES} differ here (rounding)."
    gap = float(np.max(np.abs(np.subtract(table["p(y|x) from the generative model"],
                                          table["discriminative p(y|x)"]))))
    text += (r" The separately trained classifier's ${p(y \mid x)}$ differs from the generative "
             f"model's by up to {gap:.2f}." if gap > 0.01 else
             r" The separately trained classifier's ${p(y \mid x)}$ matches the generative "
             "model's here.")
    return text


def verdict(table: dict[str, list], p_x: float) -> str:
    """What a click on the toy plots answers, in one line (markdown with $...$): p(x) at the
    point, and the class each model picks there with its p(y|x), e.g. 'At the cross:
    p(x) = 3.76 × 10⁻³⁷; the generative model (Bayes' rule) says class 1 (1.00), the
    classifier class 0 (1.00).' `table` is a bayes_table; `p_x` its point's density."""
    classes = table["class y"]
    generative = np.asarray(table["p(y|x) from the generative model"], dtype=float)
    discriminative = np.asarray(table["discriminative p(y|x)"], dtype=float)
    d = int(np.argmax(discriminative))
    said = f"the classifier class {classes[d]} ({discriminative[d]:.2f})"
    if max(table["p(x|y)"]) == 0.0:
        return (f"At the cross: $p(x)$ = 0 to machine precision, so the generative model "
                f"cannot choose; {said}.")
    g = int(np.argmax(generative))
    return (f"At the cross: $p(x)$ = {probability_column([p_x])[0]}; the generative model "
            f"(Bayes' rule) says class {classes[g]} ({generative[g]:.2f}), {said}.")


class PixelClassifier:
    """Logistic regression on the 784 pixels of MNIST digits: a discriminative p(y|x)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, iterations: int = 100):
        x = images.float().flatten(1) / 255.0
        self.layer = fit_logistic_regression(x, labels, 1e-4, iterations, classes=10)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor | np.ndarray) -> np.ndarray:
        """uint8 images (N, 28, 28) or (N, 1, 28, 28) -> p(y|x) (N, 10)."""
        x = torch.as_tensor(np.asarray(images)).float().reshape(len(images), -1) / 255.0
        return torch.softmax(self.layer(x), 1).numpy()


def scribble(seed: int = 0, strokes: int = 3) -> np.ndarray:
    """A random-stroke uint8 28x28 image: ink that is not a digit."""
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), dtype=np.float32)
    for _ in range(strokes):
        start, end = rng.uniform(3, 25, 2), rng.uniform(3, 25, 2)
        for t in np.linspace(0, 1, 60):
            r, c = (1 - t) * start + t * end
            image[max(0, int(r) - 1):int(r) + 2, max(0, int(c) - 1):int(c) + 2] = 1.0
    return (image * 255).astype(np.uint8)
