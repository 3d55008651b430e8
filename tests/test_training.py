import time
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from explorer import checkpoints
from explorer.training import MetricsLog, TrainConfig, Trainer


@dataclass
class ToyConfig:
    size: int = 4


class ToyModel(nn.Module):
    """Regresses mean brightness; `poison` > 0 makes the loss NaN, `poison_gradient` > 0 only
    its gradient, `scale` multiplies it."""

    def __init__(self, config: ToyConfig = ToyConfig()):
        super().__init__()
        self.config = config
        self.linear = nn.Linear(784, 1)
        self.seen_scales: list[float] = []

    @property
    def live_hyperparameters(self):
        return {"scale": 1.0, "poison": 0.0, "poison_gradient": 0.0}

    def training_loss(self, images, labels, hyper):
        self.seen_scales.append(hyper["scale"])
        x = images.float().flatten(1) / 255
        loss = hyper["scale"] * (self.linear(x).squeeze(1) - x.mean(1)).pow(2).mean()
        loss = loss * (1 + 0.1 * torch.rand(()))  # draws from the global generator, as
        # dropout and VAE noise do, so resuming must restore that generator too
        if hyper["poison"] > 0:
            loss = loss * float("nan")
        if hyper["poison_gradient"] > 0:  # the loss stays finite, d sqrt(0 * w) / dw is NaN
            loss = loss + (0.0 * self.linear.weight.sum()).sqrt()
        return {"loss": loss, "scaled": loss.detach()}


def wait_for(condition, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def make_trainer(fake_images, fake_labels, **config):
    defaults = dict(epochs=1000, batch_size=8, snapshot_every=5, device="cpu")
    defaults.update(config)
    return Trainer("toy", ToyModel(), fake_images, fake_labels, TrainConfig(**defaults))


def test_start_pause_resume_stop(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels).start()
    assert wait_for(lambda: trainer.step > 5)
    trainer.pause()
    time.sleep(0.1)
    paused_at = trainer.step
    time.sleep(0.2)
    assert trainer.step <= paused_at + 1 and trainer.state == "paused"
    trainer.resume()
    assert wait_for(lambda: trainer.step > paused_at + 5)
    trainer.stop()
    trainer.join(5)
    assert trainer.state == "stopped" and not trainer.active
    assert len(trainer.log) > 0 and "scaled" in trainer.log.latest()


def test_runs_to_completion_and_loss_falls(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels, epochs=30, learning_rate=1e-3)
    hyper = {"scale": 1.0, "poison": 0.0, "poison_gradient": 0.0}
    with torch.no_grad():
        before = float(trainer.model.training_loss(fake_images, fake_labels, hyper)["loss"])
    trainer.run()
    with torch.no_grad():
        after = float(trainer.model.training_loss(fake_images, fake_labels, hyper)["loss"])
    assert trainer.state == "finished" and trainer.step == 30 * (64 // 8)
    assert after < 0.5 * before


@pytest.mark.parametrize("knob", ["poison", "poison_gradient"])
def test_nan_mid_run_keeps_last_good_weights(fake_images, fake_labels, knob):
    """A NaN loss, or a NaN gradient under a finite loss, stops the run on good weights."""
    trainer = make_trainer(fake_images, fake_labels).start()
    assert wait_for(lambda: trainer.step >= 12)
    trainer.set_hyper(knob, 1.0)
    assert wait_for(lambda: trainer.state == "failed")
    trainer.join(5)
    assert "NaN" in trainer.reason
    good = trainer._good_state["model"]
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, good[key])
        assert torch.isfinite(value).all()
    assert trainer._good_step % 5 == 0 and trainer._good_step >= 10


def test_live_hyperparameter_change_is_used_and_marked(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels).start()
    assert wait_for(lambda: trainer.step >= 3)
    trainer.set_hyper("scale", 7.0)
    assert wait_for(lambda: 7.0 in trainer.model.seen_scales)
    trainer.stop()
    trainer.join(5)
    markers = trainer.log.markers()
    assert markers and markers[0]["name"] == "scale" and markers[0]["value"] == 7.0
    assert trainer.model.seen_scales[-1] == 7.0


def test_a_burst_of_presses_on_one_knob_is_one_change():
    from explorer.training import KNOB_BURST_SECONDS, MetricsLog

    log = MetricsLog()
    for i, value in enumerate([1.0, 2.0, 3.0]):  # three arrow-key presses, 0.4 s apart
        log.mark(100 + 5 * i, "beta", value, 10.0 + 0.4 * i)
    log.mark(111, "sigma", 0.5, 11.0)  # another knob: its own change
    log.mark(112, "sigma", 0.2, 11.0 + KNOB_BURST_SECONDS + 0.1)  # too late: a new change
    markers = log.markers()
    assert [(m["name"], m["step"], m["value"], m["presses"]) for m in markers] == [
        ("beta", 110, 3.0, 3), ("sigma", 111, 0.5, 1), ("sigma", 112, 0.2, 1)]


def test_learning_rate_is_live(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels, max_steps=4)
    trainer.set_hyper("learning_rate", 0.123)
    trainer.run()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.123)


def test_unknown_knob_and_bad_value_are_refused(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels)
    with pytest.raises(KeyError):
        trainer.set_hyper("warp_speed", 9)
    with pytest.raises(ValueError):
        trainer.set_hyper("scale", float("inf"))


def test_periodic_checkpoint_is_saved(fake_images, fake_labels, tmp_path):
    trainer = make_trainer(fake_images, fake_labels, max_steps=10,
                           checkpoint_path=str(tmp_path / "toy"))
    trainer.run()
    assert (tmp_path / "toy.pt").is_file() and (tmp_path / "toy.json").is_file()


def test_metrics_log_stays_bounded():
    log = MetricsLog(max_points=16)
    for step in range(1, 10_001):
        log.append({"step": step, "loss": 1.0 / step})
    records = log.records()
    assert len(records) <= 16
    assert records[0]["step"] < 1000 and log.latest()["step"] == 10_000


def test_paused_time_is_not_training_time(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels).start()
    assert wait_for(lambda: trainer.step > 3)
    trainer.pause()
    time.sleep(0.1)
    before = trainer.train_seconds
    time.sleep(1.0)
    trainer.resume()
    assert wait_for(lambda: trainer.step > 10)
    trainer.stop()
    trainer.join(5)
    assert trainer.train_seconds - before < 0.9


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("schedule", ["constant", "cosine", "wsd"])
def test_resume_continues_a_run_exactly(fake_images, fake_labels, tmp_path, schedule):
    """Straight through vs stopped halfway, saved, rebuilt and resumed: the same weights,
    averaged weights, step, data order and random state, bit for bit."""
    config = dict(epochs=3, batch_size=8, device="cpu", threads=1, ema=0.9,
                  lr_schedule=schedule, decay_epochs=1, warmup_steps=3)
    torch.manual_seed(0)
    straight = make_trainer(fake_images, fake_labels, **config)
    straight.run()
    torch.manual_seed(0)
    first = make_trainer(fake_images, fake_labels, **config)
    first.add_callback(lambda trainer, record: trainer.stop() if trainer.step == 7 else None)
    first.run()
    assert first.state == "stopped"
    first.save_state(tmp_path / "run.state.pt")
    torch.manual_seed(123)  # the resumed process starts from another global random state
    resumed = make_trainer(fake_images, fake_labels, **config)
    resumed.load_training_state(checkpoints.load_state(tmp_path / "run.state.pt"))
    assert resumed.step == 7
    resumed.run()
    assert resumed.step == straight.step == straight.total_steps()
    for a, b in zip(_weights(straight.model), _weights(resumed.model)):
        assert torch.equal(a, b)
    for a, b in zip(straight.ema_weights, resumed.ema_weights):
        assert torch.equal(a, b)
    assert [r["loss"] for r in straight.log.records()] == [r["loss"] for r in resumed.log.records()]


def test_wsd_schedule_is_flat_then_decays_to_zero(fake_images, fake_labels):
    trainer = make_trainer(fake_images, fake_labels, epochs=4, lr_schedule="wsd",
                           decay_epochs=1, learning_rate=0.01, warmup_steps=2)
    total, per_epoch = trainer.total_steps(), trainer.steps_per_epoch()
    rates = [trainer.scheduled_rate(step, total) for step in range(total)]
    assert rates[0] == pytest.approx(0.005) and rates[1] == pytest.approx(0.01)
    assert all(r == pytest.approx(0.01) for r in rates[2:total - per_epoch + 1])
    assert rates[-1] == pytest.approx(0.01 / per_epoch)
    assert all(a >= b for a, b in zip(rates[2:], rates[3:]))


def test_bad_training_settings_are_refused(fake_images, fake_labels):
    for bad in ({"lr_schedule": "sawtooth"}, {"precision": "int4"}, {"ema": 1.5}):
        with pytest.raises(ValueError):
            make_trainer(fake_images, fake_labels, **bad)


@pytest.mark.parametrize("knob", ["poison", "poison_gradient"])
def test_a_diverged_run_never_leaves_nan_weights_on_disk(fake_images, fake_labels, tmp_path,
                                                         knob):
    """Periodic saves after a NaN gradient (finite loss) would write NaN weights; the run
    fails instead and its files hold the restored good weights."""
    trainer = make_trainer(fake_images, fake_labels, checkpoint_every_s=0.0, ema=0.5,
                           checkpoint_path=str(tmp_path / "run"),
                           state_path=str(tmp_path / "run.state.pt"), snapshot_every=1000)
    trainer.add_callback(lambda t, record: t.set_hyper(knob, 1.0) if t.step == 20 else None)
    trainer.run()
    assert trainer.state == "failed" and "NaN" in trainer.reason
    on_disk = torch.load(tmp_path / "run.pt", weights_only=True)
    assert on_disk and checkpoints.all_finite(on_disk)
    state = checkpoints.load_state(tmp_path / "run.state.pt")
    assert checkpoints.all_finite(state["weights"]) and checkpoints.all_finite(state["ema"])
    assert checkpoints.all_finite(trainer.model.state_dict())


def test_core_hours_weigh_each_stretch_by_its_threads():
    from explorer.training import core_hours

    segments = [{"hardware": "CPU: AMD EPYC (1 thread)", "seconds_before": 0.0},
                {"hardware": "CPU: AMD EPYC (2 threads)", "seconds_before": 3600.0},
                {"hardware": "cuda: H200", "seconds_before": 5400.0}]
    assert core_hours(segments, 7200.0) == pytest.approx(1.0 + 1.0 + 0.5)
    assert core_hours([], 100.0) == 0.0
