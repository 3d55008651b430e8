"""The pages' caches of results keyed by what a user picks (a toy set, a count, a model):
each one bounded with max_entries, so a room of students trying many values cannot grow
the server's memory without limit (a test drives 200 distinct inputs through them)."""

import numpy as np
import streamlit as st

from app_pages.common import load_optional, load_split
from explorer import (
    density,
    gen_disc,
    imaging,
    latent,
    quality,
    sampling,
    sampling_cost,
    synthetic,
)
from explorer.figures import make_distribution_figure

AXIS = np.linspace(-4, 4, 61)  # the generative-vs-discriminative maps' grid


@st.cache_data(max_entries=64)
def draw_samples(name: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    truth = synthetic.DENSITIES_1D[name]
    return truth.sample(count, seed), truth.sample(count, seed + 10_000)


@st.cache_resource(show_spinner="Fitting the mixture (150 gradient steps)...", max_entries=32)
def _mixture_fit_2d(toy: str, count: int, components: int) -> density.GaussianMixture:
    """Shared read-only: only its density is read."""
    return density.fit_mixture_2d(synthetic.sample_2d(toy, count, seed=0)[0], components)


def _density_2d(toy: str, count: int, components: int | None):
    """The 2-D estimator's density function: a KDE of bandwidth 0.2 (components None) or
    the fitted mixture."""
    if components is None:
        points = synthetic.sample_2d(toy, count, seed=0)[0]
        return lambda query: density.kde(points, 0.2, query)
    return _mixture_fit_2d(toy, count, components).density


@st.cache_data(show_spinner=False, max_entries=32)
def field_2d(toy: str, count: int, components: int | None) -> np.ndarray:
    """The estimator's density on the page's 70 x 70 grid over [-3, 3]^2."""
    return _density_2d(toy, count, components)(synthetic.Grid2D(-3, 3, 70).points())


@st.cache_data(show_spinner=False, max_entries=64)
def chain_rule_2d(toy: str, count: int, components: int | None,
                  bins: int) -> density.DiscreteChainRule:
    """The discretised chain rule of the same estimator (its mass per bin)."""
    return density.DiscreteChainRule.from_density(_density_2d(toy, count, components), bins)


@st.cache_resource(show_spinner="Fitting the classifier...", max_entries=32)
def classifier_for(name: str, count: int) -> gen_disc.LogisticClassifier:
    return gen_disc.LogisticClassifier(*synthetic.sample_2d(name, count, seed=0))


@st.cache_data(show_spinner=False, max_entries=32)
def fields(name: str, count: int, bandwidth: float) -> dict[str, np.ndarray]:
    points, labels = synthetic.sample_2d(name, count, seed=0)
    return gen_disc.toy_fields(gen_disc.GenerativeClassModel(points, labels, bandwidth),
                               classifier_for(name, count), AXIS)


@st.cache_data(show_spinner="Timing one sampling step...", max_entries=8)
def sampling_step_seconds(model_key: str, _model) -> float:
    return sampling_cost.seconds_per_step(_model)


@st.cache_data(show_spinner="Encoding the test set...", max_entries=8)
def test_encodings(model_key: str, _model) -> tuple | None:
    split = load_split("mnist", "test")
    if split is None:
        return None
    means, logvars = latent.encode_means(_model, split[0])
    return means, logvars, split[1].numpy()


@st.cache_data(show_spinner="Fitting a linear probe on the codes...", max_entries=8)
def probe_accuracy(model_key: str, _model) -> float | None:
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    if train is None or test is None:
        return None
    return latent.linear_probe_accuracy(latent.encode_means(_model, train[0][:10000])[0],
                                        train[1][:10000].numpy(),
                                        latent.encode_means(_model, test[0])[0], test[1].numpy())


@st.cache_resource(show_spinner=False)
def _shared_replays() -> sampling.SharedReplays:
    return sampling.SharedReplays()


def replayed(sampler: sampling.PixelSampler, model, model_key: str, steps: int,
             forced: dict[int, int]) -> sampling.PixelSampler:
    """The sampler at `steps` pixels (with `forced` values): unchanged when it is there
    already, else a copy of this server's shared replay of that run (30 followers of a
    presenter replay each new row once, not 30 times)."""
    if sampler.position == steps and sampling.forced_values(sampler) == forced:
        return sampler
    return _shared_replays().get(model, model_key, sampler.seed, sampler.label,
                                 sampler.temperature, sampler.greedy, steps, forced,
                                 sampler.guidance)


def share_run(sampler: sampling.PixelSampler, model_key: str) -> None:
    """A presenter's sampling run, offered to its followers' replays (see replayed)."""
    _shared_replays().share(model_key, sampler)


@st.cache_data(show_spinner="Drawing one sample per digit (once per model on this server)...",
               max_entries=8)
def sample_gallery(model_key: str, _model) -> quality.Gallery:
    """Ten samples from the fixed quality seed with the shipped classifier's readings (none
    when the classifier cannot be loaded)."""
    judge = load_optional(quality.CLASSIFIER_NAME)
    return quality.gallery(_model, judge[0] if judge is not None else None)


@st.cache_data(show_spinner=False, max_entries=256)
def sampling_canvas(image: np.ndarray, position: int, scale: int) -> bytes:
    """imaging.sampling_canvas, encoded once per image for every session that shows it (a
    presenter's followers all show the same one)."""
    return imaging.sampling_canvas(image, position, scale=scale)


@st.cache_resource(show_spinner=False, max_entries=256)
def _distribution_figure(probabilities: bytes, value: int, model_probabilities: bytes | None,
                         log_scale: bool):
    model = None if model_probabilities is None else np.frombuffer(model_probabilities)
    return make_distribution_figure(np.frombuffer(probabilities), value, model,
                                    log_scale=log_scale)


def distribution_figure(probabilities, value: int, model_probabilities, log_scale: bool):
    """make_distribution_figure, built once per distribution and shared by every session
    (read-only: ui.chart copies a figure before changing it)."""
    model = None if model_probabilities is None else \
        np.asarray(model_probabilities, dtype=np.float64).tobytes()
    return _distribution_figure(np.asarray(probabilities, dtype=np.float64).tobytes(),
                                int(value), model, bool(log_scale))
