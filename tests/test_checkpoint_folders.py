"""Shipped and saved checkpoints live apart: users' saves go to a user-data folder, are
listed after the shipped ones, and never overwrite anything unless asked to."""

import threading
from pathlib import Path

import pytest
import torch

from explorer import checkpoints
from explorer.models.vae import VAE, VAEConfig

ROOT = Path(__file__).resolve().parent.parent


def tiny_vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(latent_dim=3, hidden=16))


@pytest.fixture
def folders(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(shipped, saved) folders; the shipped one holds `zz_shipped`."""
    shipped, saved = tmp_path / "shipped", tmp_path / "saved"
    checkpoints.save(tiny_vae(), {"dataset": "generated"}, shipped / "zz_shipped")
    monkeypatch.setenv(checkpoints.SHIPPED_ENV_VAR, str(shipped))
    monkeypatch.setenv(checkpoints.SAVED_ENV_VAR, str(saved))
    return shipped, saved


def test_a_user_save_goes_to_the_saved_folder_not_the_shipped_one(folders):
    shipped, saved = folders
    before = sorted(p.name for p in shipped.iterdir())
    path = checkpoints.save_user(tiny_vae(), {"dataset": "generated"}, "my_vae")
    assert path == saved / "my_vae.pt" and (saved / "my_vae.json").is_file()
    assert sorted(p.name for p in shipped.iterdir()) == before
    assert checkpoints.shipped_dir() == checkpoints.checkpoint_dir() == shipped


def test_the_saved_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(checkpoints.SAVED_ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert checkpoints.saved_dir() == tmp_path / ".cache" / "explorer" / "checkpoints"
    monkeypatch.delenv(checkpoints.SHIPPED_ENV_VAR, raising=False)
    assert checkpoints.shipped_dir() == ROOT / "checkpoints"
    assert ROOT not in checkpoints.saved_dir().parents


def test_shipped_are_listed_first_then_saved_with_source_and_full_path(folders):
    shipped, saved = folders
    checkpoints.save_user(tiny_vae(), {"dataset": "generated"}, "aa_saved")  # sorts first
    listed = checkpoints.available()
    assert [(e["name"], e["source"]) for e in listed] == [("zz_shipped", "shipped"),
                                                          ("aa_saved", "saved")]
    assert listed[1]["path"] == str((saved / "aa_saved").resolve())
    assert all(Path(e["path"]).is_absolute() for e in listed)
    model, card = checkpoints.load(listed[1]["path"], device="cpu")
    assert card["model"] == "VAE"
    assert [e["source"] for e in checkpoints.available(shipped)] == ["shipped"]
    assert [e["source"] for e in checkpoints.available(saved)] == ["saved"]


def test_an_existing_name_is_refused_with_a_free_suggestion(folders):
    _, saved = folders
    checkpoints.save_user(tiny_vae(0), {"dataset": "first"}, "my_vae")
    weights = (saved / "my_vae.pt").read_bytes()
    with pytest.raises(checkpoints.CheckpointExists, match="already exists") as refused:
        checkpoints.save_user(tiny_vae(1), {"dataset": "second"}, "my_vae")
    assert refused.value.suggested_name == "my_vae_2"
    assert "my_vae_2" in str(refused.value)
    assert (saved / "my_vae.pt").read_bytes() == weights  # untouched
    assert checkpoints.read_card(saved / "my_vae")["dataset"] == "first"
    assert not list(saved.glob("*.tmp")) and not list(saved.glob(".*"))
    checkpoints.save_user(tiny_vae(1), {"dataset": "second"}, "my_vae", overwrite=True)
    assert checkpoints.read_card(saved / "my_vae")["dataset"] == "second"
    checkpoints.save_user(tiny_vae(1), {"dataset": "third"}, "my_vae_2")
    assert checkpoints.suggest_name("my_vae") == "my_vae_3"


def test_a_shipped_name_cannot_be_taken_by_a_save(folders):
    with pytest.raises(checkpoints.CheckpointExists, match="shipped"):
        checkpoints.save_user(tiny_vae(), {}, "zz_shipped")
    with pytest.raises(checkpoints.CheckpointExists):
        checkpoints.save_user(tiny_vae(), {}, "zz_shipped", overwrite=True)


def test_save_without_overwrite_refuses_an_orphan_file_too(tmp_path):
    (tmp_path / "half_written.json").write_text("{}")
    with pytest.raises(checkpoints.CheckpointExists):
        checkpoints.save(tiny_vae(), {}, tmp_path / "half_written", overwrite=False)
    assert not (tmp_path / "half_written.pt").exists()
    (tmp_path / "orphan.pt").write_bytes(b"old")
    with pytest.raises(checkpoints.CheckpointExists):
        checkpoints.save(tiny_vae(), {}, tmp_path / "orphan", overwrite=False)
    assert (tmp_path / "orphan.pt").read_bytes() == b"old"
    assert not (tmp_path / "orphan.json").exists()


def race(models: dict[int, VAE], name: str) -> list[int | None]:
    """Both models saved under one name at the same moment; the seed of each winner, None
    for each writer refused."""
    start, outcomes = threading.Barrier(len(models)), []

    def save(seed: int) -> None:
        start.wait()
        try:
            checkpoints.save_user(models[seed], {"dataset": f"writer {seed}"}, name)
            outcomes.append(seed)
        except checkpoints.CheckpointExists:
            outcomes.append(None)

    threads = [threading.Thread(target=save, args=(seed,)) for seed in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_of_two_concurrent_saves_under_one_name_exactly_one_wins(folders):
    _, saved = folders
    models = {seed: tiny_vae(seed) for seed in (1, 2)}  # built here: the global RNG is shared
    for round_ in range(5):
        name = f"race_{round_}"
        outcomes = race(models, name)
        winners = [seed for seed in outcomes if seed is not None]
        assert len(winners) == 1, outcomes
        assert checkpoints.read_card(saved / name)["dataset"] == f"writer {winners[0]}"
        loaded, _ = checkpoints.load(saved / name, device="cpu")
        assert torch.equal(loaded.state_dict()["decoder.0.weight"],
                           models[winners[0]].state_dict()["decoder.0.weight"])


@pytest.mark.parametrize("name", ["", "a" * 41, "My_VAE", "my vae", "../escape", "a/b",
                                  "vae.pt", "café", None])
def test_bad_names_are_refused(folders, name):
    with pytest.raises(checkpoints.CheckpointError, match="1-40"):
        checkpoints.save_user(tiny_vae(), {}, name)


@pytest.mark.parametrize("name", ["a", "a" * 40, "vae-2_b", "0"])
def test_good_names_pass(name):
    assert checkpoints.check_name(name) == name


def test_a_suggestion_stays_a_valid_name(folders):
    long = "v" * 40
    checkpoints.save_user(tiny_vae(), {}, long)
    with pytest.raises(checkpoints.CheckpointExists) as refused:
        checkpoints.save_user(tiny_vae(), {}, long)
    suggestion = refused.value.suggested_name
    assert checkpoints.check_name(suggestion) and suggestion != long
    assert len(suggestion) == 40


def test_locate_finds_shipped_then_saved_then_says_where_shipped_would_be(folders):
    shipped, saved = folders
    assert checkpoints.locate("zz_shipped") == shipped / "zz_shipped"
    checkpoints.save_user(tiny_vae(), {"dataset": "generated"}, "mine")
    assert checkpoints.locate("mine") == saved / "mine"
    checkpoints.load(checkpoints.locate("mine"), device="cpu")
    assert checkpoints.locate("absent") == shipped / "absent"
    with pytest.raises(checkpoints.CheckpointError, match="No checkpoint card"):
        checkpoints.load(checkpoints.locate("absent"))


def test_the_listing_stamp_changes_with_a_save(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(tmp_path / "saved"))
    before = checkpoints.listing_stamp()
    assert before == checkpoints.listing_stamp()  # nothing changed: a cache may keep it
    checkpoints.save_user(tiny_vae(), {"model": "VAE"}, "mine")
    after = checkpoints.listing_stamp()
    assert after != before
    assert "mine" in {entry["name"] for entry in checkpoints.available()}
