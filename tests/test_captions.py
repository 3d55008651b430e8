"""Captions that state a fact about the data are computed from that data: change the
inputs and the sentence changes with them."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import likelihood_probe, receptive_field, sampling_cost
from explorer.models import build
from tests.conftest import requires_mnist


def test_likelihood_verdict_names_what_beats_the_digit():
    text = likelihood_probe.verdict({"test digit": 1.2, "noise": 8.0, "scribble": 1.1,
                                     "blank": 0.1})
    rejected, accepted = text.split("Rated at least as likely")
    # every score with its unit ("noise (11.1)" left bits/dim implied)
    assert "noise (8.00 bits/dim)" in rejected and "scribble" not in rejected
    assert "scribble (1.10 bits/dim)" in accepted and "blank (0.100 bits/dim)" in accepted
    flipped = likelihood_probe.verdict({"test digit": 1.2, "noise": 8.0, "scribble": 3.0,
                                        "blank": 2.0})
    assert "Rated at least as likely" not in flipped and "scribble (3.00 bits/dim)" in flipped
    assert "most to least likely" in likelihood_probe.verdict({"noise": 8.0, "blank": 0.1})
    assert "could reject it: noise" in text and "would accept them: scribble" in text
    assert "could reject them: noise" in flipped  # one name or three: the pronoun agrees
    assert likelihood_probe.percent(0.97312) == "97.3%"
    assert likelihood_probe.percent(0.99996) == "over 99.9%"  # never a rounded-up 100.0%
    assert likelihood_probe.percent(1.0) == "100%"


def test_probe_inputs_depend_on_the_seed_and_the_data():
    a = likelihood_probe.probe_inputs(np.full((28, 28), 7, np.uint8), seed=0)
    b = likelihood_probe.probe_inputs(None, seed=1)
    assert {"test digit", "rolled digit, wrapped", "noise", "scribble", "blank"} == set(a)
    assert "test digit" not in b and not np.array_equal(a["scribble"], b["scribble"])


@pytest.mark.parametrize("name, config, covers", [
    ("GatedPixelCNN", {"channels": 4, "layers": 8, "head_channels": 8, "dilation_cycle": 4,
                       "first_kernel": 3}, True),
    ("MaskedPixelCNN", {"channels": 4, "layers": 3, "head_channels": 8}, False),
])
def test_receptive_field_caption_is_measured(name, config, covers):
    torch.manual_seed(0)
    model = build(name, config).eval()
    image = torch.randint(0, 256, (28, 28), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    field = receptive_field.influence_map(model, image, None, 300)
    assert field.earlier == 300 and field.row == 10 and field.col == 20
    assert field.covers_every_earlier_pixel is covers
    assert (field.influence.ravel()[300:] == 0).all()  # never the pixel itself or later ones
    text = receptive_field.describe({name: field})
    assert ("reaches all 300 earlier pixels" in text) is covers
    if not covers:  # a 3-layer masked stack: a blind spot, and rows above out of its reach
        blind, beyond = field.missed_by_kind()
        assert blind > 0 and beyond > 0 and blind + beyond == 300 - field.influencing
        assert f"{blind} in the blind spot above and to the right and {beyond} beyond its " \
               "reach" in text
    shown = field.display()
    assert np.nanmax(shown) == pytest.approx(6.0)
    # no influence at all is a gap (white), never the colour of a barely-seen pixel
    assert np.array_equal(np.isnan(shown), field.influence == 0)
    assert np.nanmin(shown) >= 0.0
    with pytest.raises(ValueError):
        receptive_field.influence_map(model, image, None, 784)


def test_receptive_field_caption_says_one_kind_of_miss_once():
    """"misses 55: 55 in the blind spot" said the count twice: with one kind of miss the
    caption says where they all lie; with both, how many of each."""
    row, col = 14, 14
    position = row * 28 + col
    rows, cols = np.divmod(np.arange(784), 28)
    blind = (rows < row) & (cols > col)  # a masked stack deep enough to reach every row
    influence = np.where(~blind & (np.arange(784) < position), 1.0, 0.0).reshape(28, 28)
    field = receptive_field.InfluenceMap(position, row, col, influence,
                                         int((influence > 0).sum()), position, row)
    assert field.missed_by_kind() == (int(blind.sum()), 0)
    assert receptive_field.describe({"Masked PixelCNN": field}) == (
        f"Masked PixelCNN reaches {field.influencing} of {position} earlier pixels and misses "
        f"{int(blind.sum())}, all in the blind spot above and to the right.")
    influence[0, :col] = 0.0  # and the top row's left part beyond its reach
    field.influencing = int((influence > 0).sum())
    assert receptive_field.describe({"Masked PixelCNN": field}).endswith(
        f"misses {int(blind.sum()) + col}: {int(blind.sum())} in the blind spot above and to "
        f"the right and {col} beyond its reach.")


def test_sampling_cost_and_durations():
    cost = sampling_cost.sampling_cost(1024, "subpixels", 0.002)
    assert cost.subpixel_steps == cost.sequential_steps == 1024 * 1024 * 3
    assert sampling_cost.format_duration(cost.seconds) == "1.75 h"
    assert sampling_cost.sampling_cost(28, "4×4 patches", 1.0).sequential_steps == 49
    assert sampling_cost.format_duration(0.0123) == "12.3 ms"
    assert sampling_cost.format_duration(90) == "1.5 min"
    # an estimate ("about ... left") in whole seconds: "7.27 s" stood beside "12 s"
    assert [sampling_cost.format_duration(s, 2) for s in (7.27, 12.4, 95)] \
        == ["7 s", "12 s", "1.6 min"]
    assert sampling_cost.format_duration(3 * 86400) == "3 days"
    assert sampling_cost.format_duration(4e8).endswith("years")
    with pytest.raises(ValueError):
        sampling_cost.sampling_cost(0, "subpixels", 1.0)


def test_a_sure_pixel_explains_its_single_spike():
    from explorer.sampling import PixelStep, distribution_note

    sure = np.zeros(256)
    sure[0], sure[1:] = 0.99, 0.01 / 255
    step = PixelStep(0, 0, 0, sure, sure, 0, 0.01)
    assert "MNIST digits sit on black" in distribution_note(step)
    spread = np.full(256, 1 / 256)
    assert distribution_note(PixelStep(0, 0, 0, spread, spread, 7, 8.0)) is None
    # an uncertain pixel that took an unlikely level: the arrow's bar is invisible, say so
    uncertain = np.full(256, 0.4 / 255)
    uncertain[0] = 0.6
    note = distribution_note(PixelStep(0, 0, 0, uncertain, uncertain, 64, 8.7))
    assert "The level taken, 64" in note and "log scale" in note
    likely = distribution_note(PixelStep(0, 0, 0, uncertain, uncertain, 0, 0.7))
    assert likely is None  # the taken bar is the tallest one


def test_every_grey_level_is_clickable_in_the_distribution_chart():
    from explorer.figures import make_distribution_figure

    p = np.zeros(256)
    p[0] = 1.0
    for log_scale in (False, True):
        figure = make_distribution_figure(p, 0, log_scale=log_scale)
        layer = figure.data[0]  # full-height invisible bars, one per level
        assert list(layer.customdata) == list(range(256)) and min(layer.y) > 0
    assert make_distribution_figure(p, 0, log_scale=True).layout.yaxis.type == "log"


def test_kl_caption_counts_what_the_bars_colour():
    from explorer import elbo_lab
    from explorer.figures import make_kl_bars_figure

    kl = np.array([3.0, 0.5, 0.005, 0.0, 0.02])
    text = elbo_lab.kl_summary(kl)
    assert "3 of 5 carry more than 0.01 nats" in text and "2 grey ones" in text
    figure = make_kl_bars_figure(kl, kl > elbo_lab.ACTIVE_KL_NATS, np.argsort(-kl))
    colours = list(figure.data[0].marker.color)
    assert colours.count("#94a3b8") == 2  # the grey ones the caption counts
    # every grey one reads "<0.01", whether it would round to 0.01 or to 0.00
    assert list(figure.data[0].text) == ["3.00", "0.50", "0.02", "<0.01", "<0.01"]
    # no "trace 0" in the legend: it keys the two colours only, and the caption's words
    named = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert named == ["active", "collapsed to the prior (< 0.01 nats)"]
    stubs = figure.data[1]  # the collapsed ones, whose bars have no height, are still seen
    assert list(stubs.x) == ["2", "3"] and list(stubs.y) == [0.0, 0.0]
    many = np.linspace(3.0, 0.0, 16)  # 16 bars: upright labels, so neighbours never merge
    sixteen = make_kl_bars_figure(many, many > 0.01, np.arange(16))
    assert sixteen.data[0].textangle == -90
    # the names under the bars are bare numbers, upright, in the bars' order
    assert sixteen.layout.xaxis.tickangle == 0 and sixteen.layout.xaxis.type == "category"
    assert list(sixteen.data[0].x)[:3] == ["0", "1", "2"]
    assert figure.data[0].textangle == 0 and figure.layout.xaxis.tickangle == 0
    assert "none has collapsed" in elbo_lab.kl_summary(np.array([1.0, 2.0]))
    assert "posterior collapse" in elbo_lab.kl_summary(np.zeros(4))


def test_the_current_subpixel_is_drawn_in_the_captions_orange():
    from explorer import subpixel_order
    from explorer.figures import CURRENT_SUBPIXEL, make_subpixel_figure

    figure = make_subpixel_figure(subpixel_order.context(4, 4, 4),
                                  subpixel_order.position(4, 4))
    assert CURRENT_SUBPIXEL == "#f97316"  # the caption says orange
    (shape,) = figure.layout.shapes
    row, col, channel = subpixel_order.position(4, 4)
    assert shape.line.color == CURRENT_SUBPIXEL
    assert shape.x0 < col * 4 + channel < shape.x1 and shape.y0 < row < shape.y1


PLAIN_TEXT_MATH = re.compile(r"prod_i|x_<i|\bmu \+ sigma|\beps ~|-E(_q)? log|\bd logits|"
                             r"p\(x1, x2\)|sigma\^2|\bz ~ N\(|\|z - z_|\bN\(0, I\)|\blog10 p")
USER_FACING = ["app_pages", "explorer/figures.py", "explorer/taxonomy.py",
               "explorer/reparameterization.py", "explorer/elbo_lab.py", "explorer/quality.py",
               "explorer/likelihood_probe.py", "explorer/receptive_field.py"]


def _shown_strings(path: Path):
    """String literals of a module that are not docstrings (what a page may show)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_formula_is_shown_as_plain_text():
    root = Path(__file__).resolve().parent.parent
    files = [p for entry in USER_FACING for p in
             (sorted((root / entry).rglob("*.py")) if (root / entry).is_dir() else [root / entry])]
    found = [f"{path.relative_to(root)}:{line} {text[:60]!r}" for path in files
             for line, text in _shown_strings(path)
             if PLAIN_TEXT_MATH.search(re.sub(r"\$[^$]*\$", "", text))]  # $...$ is typeset
    assert not found, "typeset these ($...$, st.latex or Unicode): " + "; ".join(found)


def test_percentages_are_written_one_way():
    """91.7%, never 91.7 followed by a space and %: one style for every percentage shown."""
    import re

    pattern = re.compile(r"(\d|\})\s%")
    offenders = []
    root = Path(__file__).resolve().parent.parent
    for path in list((root / "app_pages").glob("*.py")) + list((root / "explorer").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#") and "#" not in line:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_no_line_starts_with_the_punctuation_after_math():
    """A browser may break a line between inline math and the comma after it (", p(x) and
    p(y)." began a line at 1280): punctuation after math goes inside it ("$p(x),$", a colon
    as "{:}"), and 𝒩(0, I) in plain text keeps its comma and I together (a no-break space)."""
    import re

    after_math = re.compile(r"(?<=[^\s${])\$[,.;:](?!\.\.)")
    offenders = []
    root = Path(__file__).resolve().parent.parent
    for path in list((root / "app_pages").glob("*.py")) + list((root / "explorer").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if after_math.search(line) or ("𝒩(0, I)" in line and path.parent.name == "app_pages"):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_numbers_are_typeset_with_a_true_minus_and_infinity():
    from explorer.figures import signed

    assert signed(-1.734) == "−1.73" and signed(2.0) == "2.00"
    assert signed(float("-inf")) == "−∞" and signed(float("inf")) == "∞"
    assert signed(-0.001) == "0.00" and signed(-0.004, 3) == "−0.004"  # no signed zero


def test_patches_that_do_not_tile_the_image_still_cover_it():
    assert sampling_cost.sampling_cost(28, "16×16 patches", 1.0).sequential_steps == 4  # 2 x 2
    assert sampling_cost.sampling_cost(28, "8×8 patches", 1.0).sequential_steps == 16  # 4 x 4
    assert sampling_cost.sampling_cost(1024, "4×4 patches", 1.0).sequential_steps == 256 ** 2
    assert sampling_cost.sampling_cost(5, "pixels (RGB at once)", 1.0).sequential_steps == 25


@requires_mnist
def test_the_pages_claim_about_images_holds_for_the_shipped_model():
    """The home card and the intro of "Generative vs discriminative" said only p(x) can
    reject odd inputs, while the Images tab showed a blank and a scribble rated likelier
    than the digit. They now say a likelihood "can rate a blank above a digit": that claim
    is checked here against the shipped gated PixelCNN, on the first test digit of each
    class."""
    from app_pages.common import CATALOG
    from explorer import checkpoints, data

    card_text = next(p.teaches for p in CATALOG if p.path == "app_pages/gen_vs_disc.py")
    assert "can rate a blank above a digit" in card_text and "reject odd" not in card_text
    model, _ = checkpoints.load(Path(__file__).parents[1] / "checkpoints" / "gated_pixelcnn_mnist")
    test = data.load("mnist", "test")
    labels = test.labels.numpy()
    inputs = {"blank": np.zeros((28, 28), np.uint8)}
    for k in range(10):
        inputs[f"digit {k}"] = np.asarray(test.images[int(np.flatnonzero(labels == k)[0]), 0],
                                          np.uint8)
    bits, _ = likelihood_probe.score(model, inputs, label=None)
    assert all(bits["blank"] < bits[f"digit {k}"] for k in range(10)), bits
