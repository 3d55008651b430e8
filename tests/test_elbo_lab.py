import numpy as np
import pytest
import torch

from explorer import elbo_lab

TINY = elbo_lab.LabSettings(latent_dim=3, hidden=16, batch_size=16, device="cpu")


def test_sweep_gives_one_point_per_beta(fake_images, fake_labels):
    added = []
    points = elbo_lab.run_beta_sweep([0.1, 1.0, 4.0], TINY, fake_images, fake_labels,
                                     fake_images[:16], steps=20, add_point=added.append)
    assert [p.beta for p in points] == [0.1, 1.0, 4.0] and added == points
    assert all(p.rate >= 0 and p.distortion > 0 for p in points)
    assert all("gaussian" not in p.label for p in points)
    from dataclasses import replace

    from explorer.figures import _finished_label

    (gaussian,) = elbo_lab.run_beta_sweep([1.0], replace(TINY, likelihood="gaussian"),
                                          fake_images, fake_labels, fake_images[:16], steps=5)
    assert _finished_label(gaussian) == "β=1 sweep Gaussian"  # its D is a log density


def test_diagnostics_and_bounds(fake_images, fake_labels):
    trainer = elbo_lab.make_trainer(TINY, fake_images, fake_labels)
    trainer.config.max_steps = 150
    trainer.run()
    model = trainer.model.eval()
    diagnostics = elbo_lab.diagnose(model, fake_images[:20], reconstruct=5, samples=6)
    assert diagnostics.kl_per_dim.shape == (3,)
    assert diagnostics.posterior_std.shape == (60,) and (diagnostics.posterior_std > 0).all()
    assert diagnostics.reconstructions.shape == (5, 28, 28)
    assert diagnostics.samples.shape == (6, 28, 28)
    values = elbo_lab.bounds(model, fake_images, ks=(1, 10, 100))
    assert values[1] < values[10] < values[100]
    rate, distortion = elbo_lab.rate_distortion(model, fake_images[:20])
    assert rate >= 0 and distortion > 0
    assert (diagnostics.rate, diagnostics.distortion) == pytest.approx((rate, distortion))
    assert diagnostics.rate == pytest.approx(float(diagnostics.kl_per_dim.sum()), rel=1e-5)


def test_live_views_leave_the_training_threads_random_numbers_alone(fake_images, fake_labels):
    model = elbo_lab.make_trainer(TINY, fake_images, fake_labels).model.eval()
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    elbo_lab.diagnose(model, fake_images[:8])
    elbo_lab.rate_distortion(model, fake_images[:8])
    elbo_lab.bounds(model, fake_images[:4], ks=(1, 3))
    assert torch.equal(torch.rand(5), expected)


def test_lab_trainer_uses_the_chosen_decoder_sigma(fake_images, fake_labels):
    settings = elbo_lab.LabSettings(latent_dim=2, hidden=8, likelihood="gaussian", sigma=0.3,
                                    device="cpu")
    trainer = elbo_lab.make_trainer(settings, fake_images, fake_labels)
    assert trainer.hyper["sigma"] == 0.3 and trainer.hyper["beta"] == 1.0
    trainer.set_hyper("beta", 2.0)
    assert trainer.current_hyper()["beta"] == 2.0 and trainer.hyper["beta"] == 1.0


def test_huge_learning_rate_fails_cleanly_and_keeps_finite_weights(fake_images, fake_labels):
    settings = elbo_lab.LabSettings(latent_dim=2, hidden=16, likelihood="gaussian", sigma=0.03,
                                    learning_rate=1e6, batch_size=16, device="cpu")
    trainer = elbo_lab.make_trainer(settings, fake_images, fake_labels)
    trainer.config.max_steps = 200
    trainer.set_hyper("beta", 0.0)
    trainer.run()
    assert trainer.state == "failed" and "NaN/Inf" in trainer.reason
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_smoothing_is_a_trailing_mean():
    records = [{"step": i, "kl": float(i)} for i in range(1, 11)]
    smoothed = elbo_lab.smooth_records(records, ("kl",), window=3)
    assert [r["kl"] for r in smoothed] == [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert elbo_lab.smooth_records([], ("kl",)) == []


def test_snapshot_places_knob_marks_on_the_trail():
    smoothed = [{"step": float(s), "kl": float(s), "reconstruction": 100.0 - s}
                for s in range(0, 1000, 10)]
    now = elbo_lab.Diagnostics(*(np.zeros(0),) * 4, rate=7.0, distortion=50.0)
    snapshot = elbo_lab.LiveSnapshot(smoothed, [{"step": 500, "name": "beta", "value": 2.0}], now)
    trail = snapshot.rate_distortion_trail(limit=20)
    assert len(trail) <= 21 and trail[0] == (0.0, 100.0) and trail[-1] == (7.0, 50.0)
    assert snapshot.knob_marks() == [(500.0, -400.0, "β→2", True, "β→2")]
    burst = [{"step": 500 + i, "name": "beta", "value": v} for i, v in enumerate((1, 2, 10))]
    marks = elbo_lab.LiveSnapshot(smoothed, burst, now).knob_marks()
    # three presses, one change (β→10); the last two lie at one logged point (step 510):
    # one mark there, named as the latest and by both on hover
    assert [(m[2], m[3], m[4]) for m in marks] == [("β→1", False, "β→1"),
                                                   ("β→10", True, "β→2, then β→10")]
    assert elbo_lab.LiveSnapshot([], [], now).knob_marks() == []


def test_a_merged_knob_mark_names_a_change_the_curves_name(monkeypatch):
    """Two changes at one logged point are one mark. When the curves name only the earlier
    one, the mark shows that one: it showed the latest, which no curve named."""
    from explorer import figures

    smoothed = [{"step": float(s), "kl": float(s), "reconstruction": 100.0 - s}
                for s in range(0, 1000, 10)]
    now = elbo_lab.Diagnostics(*(np.zeros(0),) * 4, rate=7.0, distortion=50.0)
    burst = [{"step": 501, "name": "beta", "value": 2.0},
             {"step": 502, "name": "beta", "value": 5.0}]
    monkeypatch.setattr(figures, "labelled_changes", lambda markers, span: [0])
    (mark,) = elbo_lab.LiveSnapshot(smoothed, burst, now).knob_marks()
    assert mark[2:] == ("β→2", True, "β→2, then β→5")
    monkeypatch.setattr(figures, "labelled_changes", lambda markers, span: [])
    (mark,) = elbo_lab.LiveSnapshot(smoothed, burst, now).knob_marks()
    assert mark[2:] == ("β→5", False, "β→2, then β→5")


def test_snapshot_bytes_round_trip_without_pickle(fake_images, fake_labels):
    trainer = elbo_lab.make_trainer(TINY, fake_images, fake_labels)
    trainer.config.max_steps = 5
    trainer.run()
    snapshot = elbo_lab.live_snapshot(trainer, fake_images[:8])
    back, extra = elbo_lab.snapshot_from_bytes(elbo_lab.snapshot_bytes(snapshot, {"step": 5}))
    assert extra == {"step": 5} and back.smoothed == snapshot.smoothed
    assert np.allclose(back.diagnostics.kl_per_dim, snapshot.diagnostics.kl_per_dim)
    assert back.diagnostics.reconstructions.shape == (8, 28, 28)
    figures = elbo_lab.live_figures(back, [])
    assert set(figures) == {"terms", "elbo", "rd", "kl_bars", "std_hist"}


def test_live_figures_survive_overflowing_diagnostics():
    """A retried diverged run drew posterior spreads near 1e23 and inf: no figure may fail."""
    smoothed = [{"step": 1.0, "kl": 1e30, "reconstruction": float("inf"), "elbo": -1e30}]
    diagnostics = elbo_lab.Diagnostics(np.array([1e23, np.inf]), np.array([0.5, np.inf, 1e23]),
                                       np.zeros((8, 28, 28)), np.zeros((16, 28, 28)),
                                       rate=float("inf"), distortion=1e25)
    figures = elbo_lab.live_figures(elbo_lab.LiveSnapshot(smoothed, [], diagnostics), [])
    for figure in figures.values():
        figure.to_json()


def test_curves_csv_has_a_row_per_point_and_the_knob_changes():
    smoothed = [{"step": 10.0, "reconstruction": 120.5, "kl": 3.25, "elbo": -123.75},
                {"step": 20.0, "reconstruction": 110.0, "kl": 4.0, "elbo": -114.0}]
    now = elbo_lab.Diagnostics(*(np.zeros(0),) * 4, rate=4.0, distortion=110.0)
    text = elbo_lab.curves_csv(elbo_lab.LiveSnapshot(smoothed, [{"step": 15, "name": "beta",
                                                                  "value": 2.0}], now))
    lines = text.strip().splitlines()
    assert lines[0] == "step,reconstruction_nats,kl_nats,elbo_nats"
    assert lines[1] == "10,120.5,3.25,-123.75" and lines[-1] == "# step 15: beta = 2"


def test_finished_point_labels_name_the_kind_beta_and_a_gaussian_decoder():
    assert elbo_lab.finished_point_label("run", {"beta": 2.0}) == "run at beta=2"
    assert elbo_lab.finished_point_label("sweep", {"beta": 0.25, "sigma": 0.1}) \
        == "sweep beta=0.25, gaussian sigma=0.1"


def test_a_run_whose_beta_was_turned_is_named_by_first_and_last_beta():
    """A live run turned from β = 1 to 10 read "β=10" on the plane, as if trained at 10."""
    from explorer.figures import finished_points_names
    from explorer.run_store import RatePoint

    turned = [{"step": 100, "name": "beta", "value": 3.0},
              {"step": 200, "name": "sigma", "value": 0.2},
              {"step": 300, "name": "beta", "value": 10.0}]
    label = elbo_lab.finished_point_label("run", {"beta": 10.0}, turned[2:], start_beta=1.0)
    assert label == "run at beta=1->10"
    through = elbo_lab.finished_point_label("run", {"beta": 10.0}, turned, start_beta=1.0)
    assert through == "run at beta=1->...->10"  # it stood at 3 between
    assert elbo_lab.finished_point_label("run", {"beta": 1.0}, [], start_beta=1.0) \
        == "run at beta=1"  # never turned
    # turned and turned back: "β=1" hid it (walk 17), now it shows it went elsewhere
    back = [{"step": 5, "name": "beta", "value": 4.0}, {"step": 9, "name": "beta", "value": 1.0}]
    back_label = elbo_lab.finished_point_label("run", {"beta": 1.0}, back, 1.0)
    assert back_label == "run at beta=1->...->1"
    same = [{"step": 5, "name": "beta", "value": 1.0}]  # set to the value in force
    assert elbo_lab.finished_point_label("run", {"beta": 1.0}, same, 1.0) == "run at beta=1"
    # the plane names a point from its stored β history, not from the label's text
    assert elbo_lab.beta_history({"beta": 10.0}, turned, 1.0) == (1.0, 3.0, 10.0)
    assert elbo_lab.beta_history({"beta": 1.0}, back, 1.0) == (1.0, 4.0, 1.0)
    assert elbo_lab.beta_history({"beta": 2.0}) == (2.0,)
    names = finished_points_names([
        RatePoint(20.0, 90.0, 10.0, "run", betas=(1.0, 10.0)),
        RatePoint(5.0, 150.0, 10.0, "run", betas=(10.0,)),
        RatePoint(9.0, 95.0, 10.0, "run", betas=elbo_lab.beta_history({"beta": 10.0}, turned,
                                                                        1.0)),
        RatePoint(7.0, 99.0, 1.0, "run", betas=(1.0, 4.0, 1.0)),
        RatePoint(6.0, 98.0, 0.5, "sweep beta=0.5")])  # stored without a history
    assert names == ["1: β=1→10 (R 20.0, D 90.0)", "2: β=10 (R 5.0, D 150.0)",
                     "3: β=1→…→10 (R 9.0, D 95.0)", "4: β=1→…→1 (R 7.0, D 99.0)",
                     "5: β=0.5 sweep (R 6.0, D 98.0)"]


def test_now_text_gives_each_place_its_own_now():
    smoothed = [{"step": 10.0, "elbo": -150.0, "reconstruction": 130.0, "kl": 20.0}]
    probe = elbo_lab.Diagnostics(*(np.zeros(0),) * 4, rate=18.0, distortion=120.0)
    snapshot = elbo_lab.LiveSnapshot(smoothed, [], probe)
    latest = {"elbo": -155.25, "reconstruction": 133.0, "kl": 22.25}
    text = elbo_lab.now_text(latest, snapshot, batch_size=64)
    assert "Latest batch of 64: ELBO −155.2" in text  # the batch, as logged
    assert "curves end at ELBO −150.0" in text  # the smoothed curve's last point
    assert f"on {elbo_lab.PROBE_IMAGES} fixed test images, at ELBO −138.0" in text  # -(R + D)
    assert "(R 18.0, D 120.0)" in text
    ended = elbo_lab.now_text(latest, snapshot, batch_size=64, live=False)
    assert "blue" not in ended and "its finished (green) point, on" in ended  # no "now" point


def test_sweep_description_says_what_each_run_trains():
    settings = elbo_lab.LabSettings()
    text = elbo_lab.sweep_description(settings, 300)
    assert f"{settings.latent_dim}-D latent" in text and "from scratch" in text
    assert f"300 steps ({300 * settings.batch_size / 60_000:.2f} epochs" in text
    wider = elbo_lab.sweep_description(elbo_lab.LabSettings(latent_dim=2, batch_size=64), 1000)
    assert "2-D latent" in wider and "1,000 steps (1.07 epochs" in wider
