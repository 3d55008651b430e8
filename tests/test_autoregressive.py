import math

import numpy as np
import pytest
import torch

from explorer import sampling
from explorer.models import build

TINY = {
    "GatedPixelCNN": {"channels": 8, "layers": 3, "head_channels": 16},
    "GatedPixelCNN/dilated": {"channels": 8, "layers": 5, "head_channels": 16,
                              "dilation_cycle": 3},
    "MaskedPixelCNN": {"channels": 8, "layers": 2, "head_channels": 16},
    "PixelTransformer": {"d_model": 16, "layers": 2, "heads": 2},
    "PixelTransformer/2d": {"d_model": 16, "layers": 2, "heads": 2, "position_2d": True,
                            "class_every_position": True},
}


def tiny(name, **overrides):
    torch.manual_seed(0)
    return build(name.split("/")[0], {**TINY[name], **overrides}).eval()


def random_images(count=2, seed=0):
    return torch.randint(0, 256, (count, 1, 28, 28), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", TINY)
def test_shapes_and_exact_nll(name):
    model = tiny(name)
    images = random_images()
    logits = model(images, torch.tensor([1, 2]))
    assert logits.shape == (2, 256, 28, 28)
    nll = model.nll(images, torch.tensor([1, 2]))
    manual = -torch.log_softmax(logits, 1).gather(1, images.long()).flatten(1).sum(1)
    assert torch.allclose(nll, manual, rtol=1e-5)
    bpd = model.test_metric(images, torch.tensor([1, 2]))
    assert torch.allclose(bpd, nll / (784 * math.log(2)))


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("k", [0, 29, 200, 406, 783])
def test_changing_pixel_k_never_changes_earlier_or_own_logits(name, k):
    model = tiny(name)
    images = random_images(1)
    changed = images.clone()
    changed.view(-1)[k] = (int(images.view(-1)[k]) + 128) % 256
    with torch.no_grad():
        before = model(images, 3).flatten(2)  # (1, 256, 784)
        after = model(changed, 3).flatten(2)
    assert torch.allclose(before[..., :k + 1], after[..., :k + 1], atol=1e-5)
    if k < 783:
        assert not torch.allclose(before[..., k + 1:], after[..., k + 1:], atol=1e-5)


@pytest.mark.parametrize("name", TINY)
def test_fast_stepper_gives_the_naive_distributions(name):
    model = tiny(name)
    images = random_images(2, seed=3)
    with torch.no_grad():
        fast = model.stepper(images, torch.tensor([4, -1]), fast=True)
        naive = model.stepper(images, torch.tensor([4, -1]), fast=False)
        for k in range(0, 784, 7):
            for skipped in range(max(0, k - 6), k):
                fast(skipped)  # the fast path is called in order
            assert torch.allclose(fast(k), naive(k), atol=1e-4), k


# guided: the convolutional models (a Transformer's naive path costs 15 s a case here; its
# guided fast path is checked step by step against the naive one in test_guidance)
@pytest.mark.parametrize("name, guidance", [(name, 0.0) for name in TINY]
                         + [(name, 1.5) for name in TINY if "Transformer" not in name])
def test_fast_and_naive_samplers_draw_the_same_images(name, guidance):
    model = tiny(name)  # with guidance, two fast caches read the one image being drawn
    fast = sampling.sample_images(model, 2, label=5, seed=11, fast=True, guidance=guidance)
    naive = sampling.sample_images(model, 2, label=5, seed=11, fast=False, guidance=guidance)
    assert torch.equal(fast, naive)
    assert not torch.equal(fast, sampling.sample_images(model, 2, label=5, seed=12))


def test_nll_equals_the_sum_of_per_step_log_probabilities():
    model = tiny("GatedPixelCNN")
    sampler = sampling.PixelSampler(label=2, seed=4)
    while not sampler.done:
        sampler.step(model)
    nll_bits = float(model.nll(sampler.image, 2)[0].detach()) / math.log(2)
    assert sampler.bits_so_far == pytest.approx(nll_bits, rel=1e-4)
    assert sampling.per_pixel_bits(model, sampler.image, 2).sum() == pytest.approx(nll_bits,
                                                                                   rel=1e-4)


def test_seed_replays_and_forcing_changes_what_follows():
    model = tiny("MaskedPixelCNN")
    first, second = sampling.PixelSampler(seed=9), sampling.PixelSampler(seed=9)
    values_a = [first.step(model).value for _ in range(40)]
    values_b = [second.step(model).value for _ in range(40)]
    assert values_a == values_b
    forced = sampling.PixelSampler(seed=9)
    for _ in range(30):
        forced.step(model)
    forced.force(255)
    assert forced.history[-1].forced and forced.image.view(-1)[29] == 255
    later = [forced.step(model).probabilities for _ in range(10)]
    replay = sampling.PixelSampler(seed=9)
    for _ in range(30):
        replay.step(model)
    unforced = [replay.step(model).probabilities for _ in range(10)]
    assert any(not np.allclose(a, b) for a, b in zip(later, unforced))


def test_greedy_takes_the_mode_and_temperature_sharpens():
    model = tiny("GatedPixelCNN")
    greedy = sampling.PixelSampler(greedy=True)
    step = greedy.step(model)
    assert step.value == int(np.argmax(step.model_probabilities))
    cold = sampling.PixelSampler(temperature=0.2).step(model)
    hot = sampling.PixelSampler(temperature=5.0).step(model)
    assert cold.probabilities.max() > step.model_probabilities.max() > hot.probabilities.max()
    assert step.entropy_bits > 0


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), 1e6])
def test_bad_temperatures_are_refused(temperature):
    with pytest.raises(sampling.SamplingError, match="Temperature"):
        sampling.PixelSampler(temperature=temperature)


@pytest.mark.parametrize("value", [-1, 256, 3.5, "7"])
def test_forcing_out_of_range_is_refused(value):
    sampler = sampling.PixelSampler()
    sampler.step(tiny("MaskedPixelCNN"))
    with pytest.raises(sampling.SamplingError, match="0 to 255"):
        sampler.force(value)


def test_forcing_before_any_step_and_stepping_past_the_end():
    model = tiny("MaskedPixelCNN")
    sampler = sampling.PixelSampler(height=2, width=3)
    with pytest.raises(sampling.SamplingError):
        sampler.force(3)
    with torch.no_grad():
        for _ in range(6):
            sampler.step(model)
    with pytest.raises(sampling.SamplingError, match="complete"):
        sampler.step(model)


def test_completion_keeps_the_prefix():
    model = tiny("GatedPixelCNN")
    prefix = random_images(3)
    out = sampling.sample_images(model, 3, prefix=prefix, start=14 * 28, seed=1)
    assert torch.equal(out[:, :, :14], prefix[:, :, :14])
    assert not torch.equal(out[:, :, 14:], prefix[:, :, 14:])


def test_masked_pixelcnn_has_the_blind_spot_and_gated_does_not():
    """With a 3x3 mask-A input and mask-B 3x3 layers every path moves by offsets with
    d_col <= -d_row, so pixels up-and-right beyond that diagonal are never seen."""
    masked = tiny("MaskedPixelCNN", first_kernel=3, layers=3)
    gated = tiny("GatedPixelCNN", first_kernel=3, layers=4)
    image = random_images(1)[0, 0]
    r, c = 14, 10
    k = r * 28 + c
    masked_map = masked.influence(image, None, k)
    gated_map = gated.influence(image, 3, k)
    assert masked_map[r - 1, c + 1] > 0 and masked_map[r, c - 1] > 0
    assert masked_map[r - 1, c + 2] == 0 and masked_map[r - 2, c + 3] == 0  # the blind spot
    assert gated_map[r - 1, c + 2] > 0 and gated_map[r - 2, c + 3] > 0
    for influence in (masked_map, gated_map):  # nothing at or after the pixel itself
        assert influence.flatten()[k:].abs().sum() == 0


def test_training_loss_falls_on_a_fixed_batch(fake_images, fake_labels):
    model = tiny("GatedPixelCNN").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.training_loss(fake_images, fake_labels, {})["loss"].detach())
    for _ in range(30):
        optimizer.zero_grad()
        model.training_loss(fake_images, fake_labels, {})["loss"].backward()
        optimizer.step()
    assert float(model.training_loss(fake_images, fake_labels, {})["loss"].detach()) < 0.5 * first


def test_unknown_or_missing_labels_mean_none():
    model = tiny("GatedPixelCNN")
    none = model.label_tensor(None, 2, torch.device("cpu"))
    assert none.tolist() == [10, 10]
    assert model.label_tensor(torch.tensor([3, -1]), 2, torch.device("cpu")).tolist() == [3, 10]
    assert tiny("MaskedPixelCNN").label_tensor(3, 1, torch.device("cpu")) is None


def test_a_sampling_run_replays_bit_for_bit_from_its_link():
    model = tiny("GatedPixelCNN")
    original = sampling.PixelSampler(label=3, seed=5)
    for _ in range(40):
        original.step(model)
        if original.position == 30:
            original.force(255)
    link = sampling.format_forced(sampling.forced_values(original))
    assert link == "29:255"
    again = sampling.PixelSampler(label=3, seed=5)
    sampling.replay(again, model, original.position, sampling.parse_forced(link))
    assert torch.equal(again.image, original.image)
    assert [s.value for s in again.history] == [s.value for s in original.history]
    for bad in ("29", "29:256", "x:1", "900:3"):
        with pytest.raises(sampling.SamplingError):
            sampling.parse_forced(bad)
    with pytest.raises(sampling.SamplingError):
        sampling.replay(again, model, 10, {29: 255})


def test_replay_continues_a_matching_run_instead_of_starting_over():
    model = tiny("GatedPixelCNN")
    lead, follower = (sampling.PixelSampler(label=1, seed=2) for _ in range(2))
    for _ in range(10):
        lead.step(model)
    lead.force(77)
    sampling.replay(follower, model, 10, {9: 77})
    first_history = list(follower.history)
    for _ in range(5):
        lead.step(model)
    sampling.replay(follower, model, 15, {9: 77})
    assert all(a is b for a, b in zip(follower.history[:10], first_history))  # not redone
    assert torch.equal(follower.image, lead.image)
    sampling.replay(follower, model, 15, {9: 78})  # a different forced value: redone
    assert follower.history[9].value == 78
    assert not any(a is b for a, b in zip(follower.history[:9], first_history))


def test_shared_replays_advance_one_run_and_hand_out_copies():
    model = tiny("GatedPixelCNN")
    shared = sampling.SharedReplays(max_runs=2)
    first = shared.get(model, "m", 3, 1, 1.0, False, 10, {})
    second = shared.get(model, "m", 3, 1, 1.0, False, 20, {12: 40})
    assert first.position == 10 and second.position == 20 and second.image.view(-1)[12] == 40
    assert torch.equal(second.image.view(-1)[:10], first.image.view(-1)[:10])
    at_twenty = second.image.clone()
    second.step(model)  # a copy: stepping it leaves the shared run alone
    assert shared.get(model, "m", 3, 1, 1.0, False, 20, {12: 40}).position == 20
    alone = sampling.PixelSampler(label=1, seed=3)
    sampling.replay(alone, model, 20, {12: 40})  # from scratch: the very same image
    assert torch.equal(alone.image, at_twenty)
    for seed in (4, 5, 6):  # bounded: only the latest two runs are kept
        shared.get(model, "m", seed, 1, 1.0, False, 1, {})
    assert len(shared._runs) == 2


def test_a_shared_presenter_run_is_handed_out_without_sampling_again():
    model = tiny("GatedPixelCNN")
    shared = sampling.SharedReplays()
    lead = sampling.PixelSampler(label=2, seed=8)
    sampling.advance(lead, model, 28)
    shared.share("m", lead)
    calls = []
    original = sampling.PixelSampler.step
    try:  # a copy of the presenter's run: not one pixel is sampled again
        sampling.PixelSampler.step = lambda self, m: calls.append(1) or original(self, m)
        copy = shared.get(model, "m", 8, 2, 1.0, False, 28, {})
    finally:
        sampling.PixelSampler.step = original
    assert not calls and copy is not lead and torch.equal(copy.image, lead.image)
    alone = sampling.PixelSampler(label=2, seed=8)
    sampling.replay(alone, model, 28, {})  # and it is what a replay from the seed draws
    assert torch.equal(alone.image, lead.image)
    lead.step(model)  # the presenter goes on; the kept copy does not move with it
    assert shared.get(model, "m", 8, 2, 1.0, False, 28, {}).position == 28
