"""choose(): inverse-CDF sampling never takes a level of probability 0.

torch.rand returns exactly 0.0 now and then (seed 28587 of the autoregressive page does at
pixel 190), and float32 cumulative sums can fall short of 1, so both ends of the CDF are
tested on purpose, then a seeded loop over many random distributions with zeros stands in
for a property test.
"""

import dataclasses

import numpy as np
import pytest
import torch

from explorer import sampling

LEVELS = 256
ONE_MINUS_EPS = float(np.nextafter(np.float32(1.0), np.float32(0.0)))  # largest float32 < 1


def one_hot_row(level: int, levels: int = LEVELS) -> torch.Tensor:
    p = torch.zeros(1, levels)
    p[0, level] = 1.0
    return p


def test_a_zero_uniform_skips_leading_zero_levels():
    p = torch.zeros(1, LEVELS)
    p[0, 7], p[0, 200] = 0.25, 0.75
    assert int(sampling.choose(p, torch.tensor([0.0]), greedy=False)[0]) == 7


def test_the_top_of_the_cdf_never_falls_into_trailing_zeros():
    # A float32 softmax can sum to a few ulps short of 1; the largest uniforms must still
    # land on a level with mass, not on the zero levels after it.
    p = torch.zeros(1, LEVELS)
    p[0, :100] = 0.01
    p[0, 99] = 1.0 - float(p[0, :99].sum()) - 3e-7
    assert float(p.cumsum(-1)[0, 99]) < 1.0 - 1e-7  # the case the old code mishandled
    for u in (ONE_MINUS_EPS, 1.0 - 1e-7, 0.9999999):
        assert int(sampling.choose(p, torch.tensor([u]), greedy=False)[0]) == 99


def test_a_uniform_of_exactly_one_takes_the_last_level_with_mass():
    p = torch.zeros(1, LEVELS)
    p[0, 3], p[0, 10] = 0.5, 0.5
    assert int(sampling.choose(p, torch.tensor([1.0]), greedy=False)[0]) == 10


def test_the_uniform_0_0_of_seed_28587_at_pixel_190():
    uniforms = sampling.seeded_uniforms(28587, 1, 784)[0]
    if float(uniforms[190]) != 0.0:
        pytest.skip("this torch version's generator no longer gives 0.0 there")
    p = torch.zeros(1, LEVELS)
    p[0, 1:] = 1.0 / 255  # a white-ish pixel that can be anything but black
    assert int(sampling.choose(p, uniforms[190:191], greedy=False)[0]) != 0


@pytest.mark.parametrize("temperature", [sampling.MIN_TEMPERATURE, 0.3, 1.0, 4.0,
                                         sampling.MAX_TEMPERATURE])
def test_never_a_zero_level_over_random_distributions_with_zeros(temperature):
    """Property test without hypothesis: many seeded random cases, each checked exactly."""
    rng = np.random.default_rng(1234)
    for case in range(300):
        batch = int(rng.integers(1, 9))
        levels = int(rng.choice([2, 3, 17, LEVELS]))
        logits = torch.from_numpy(rng.normal(0.0, rng.uniform(0.5, 30.0), (batch, levels)))
        p = sampling.tempered(logits, temperature)  # float32 softmax, may underflow to 0
        zeros = torch.from_numpy(rng.random((batch, levels)) < rng.uniform(0.0, 0.95))
        zeros[torch.arange(batch), p.argmax(-1)] = False  # every row keeps some mass
        p = p.masked_fill(zeros, 0.0)
        if case % 3 == 0:  # also the unnormalised sums a float32 softmax leaves behind
            p = p / p.sum(-1, keepdim=True)
        edge = rng.choice([0.0, ONE_MINUS_EPS, 1.0 - 1e-7], batch)
        uniforms = torch.from_numpy(np.where(rng.random(batch) < 0.5, edge,
                                             rng.random(batch))).float()
        chosen = sampling.choose(p, uniforms, greedy=False)
        assert chosen.shape == (batch,) and chosen.dtype == torch.int64
        picked = p[torch.arange(batch), chosen]
        assert bool((picked > 0).all()), (case, chosen, uniforms)


def test_the_sampled_frequencies_match_the_distribution():
    p = torch.tensor([[0.0, 0.1, 0.0, 0.6, 0.3, 0.0]])
    uniforms = torch.rand(20000, generator=torch.Generator().manual_seed(0))
    chosen = sampling.choose(p.expand(20000, -1), uniforms, greedy=False)
    counts = torch.bincount(chosen, minlength=6).double() / 20000
    assert counts[[0, 2, 5]].sum() == 0
    assert torch.allclose(counts, p[0].double(), atol=0.01)


def test_the_same_uniforms_replay_the_same_levels():
    p = torch.softmax(torch.randn(4, LEVELS, generator=torch.Generator().manual_seed(2)), -1)
    uniforms = sampling.seeded_uniforms(5, 1, 4)[0]
    assert torch.equal(sampling.choose(p, uniforms, False), sampling.choose(p, uniforms, False))


def test_greedy_takes_the_mode_and_no_mass_is_an_error():
    assert int(sampling.choose(one_hot_row(42), torch.tensor([0.3]), greedy=True)[0]) == 42
    with pytest.raises(sampling.SamplingError, match="no positive probability"):
        sampling.choose(torch.zeros(1, LEVELS), torch.tensor([0.5]), greedy=False)


def test_a_tiny_probability_is_never_printed_as_zero():
    p = np.full(256, 1e-12)
    p[0] = 1 - 255e-12
    step = sampling.PixelStep(index=3, row=0, col=3, probabilities=p, model_probabilities=p,
                              value=244, bits=float(-np.log2(1e-12)), forced=True)
    text = sampling.describe_step(step)
    assert "p = 1.0 × 10⁻¹²" in text and "p = 0.000" not in text and "e-" not in text
    # one sentence, ended, so the note on its bars reads apart in one caption (in projector
    # view "..., forced p = 1.000 on level 0" read as if the forced pixel had p = 1)
    assert text.endswith(", forced by you.") and sampling.describe_step(
        dataclasses.replace(step, forced=False)).endswith(" bits).")
