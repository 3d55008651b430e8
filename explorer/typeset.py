"""Numbers as typeset on screen (numpy only, so the training CLIs and the worker stay free
of plotly): true minus signs, thousands separators, powers of ten with superscripts, and
one format per column of probabilities."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def signed(value: float, digits: int = 2) -> str:
    """A number as typeset: a true minus sign (−1.73, not -1.73), thousands separated
    (−3,464.6, as the app's counts are) and ∞ for an infinity."""
    if np.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:,.{digits}f}"
    if not text.strip("-0.,"):  # -0.001 rounds to 0.00: no sign on a zero
        text = text.lstrip("-")
    return text.replace("-", "−")


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value: float, digits: int = 3) -> str:
    """'2.38 × 10⁻¹⁷': a number in powers of ten as typeset (`digits` significant figures,
    true minus signs); 0 stays '0', infinities read ∞."""
    if not np.isfinite(value):
        return signed(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    if int(exponent) == 0:  # 1.00, not 1.00 × 10⁰
        return signed(float(mantissa), digits - 1)
    return f"{signed(float(mantissa), digits - 1)} × 10{str(int(exponent)).translate(_SUPERSCRIPTS)}"


def markdown_table(columns: dict[str, Sequence[str]]) -> str:
    """A Markdown table (header row, alignment row, one row per entry) from columns of
    equal length, already formatted: headers may hold $...$ math, which Streamlit's
    Markdown typesets (a dataframe's headers cannot). Numbers are right-aligned. A "|" in
    a cell is escaped. ValueError when the columns differ in length."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
    rows = ["| " + " | ".join(cell(h) for h in columns) + " |",
            "|" + "|".join(":--" if i == 0 else "--:" for i in range(len(columns))) + "|"]
    for row in zip(*columns.values()):
        rows.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(rows)


def probability_column(values: Sequence[float], digits: int = 3) -> list[str]:
    """One column of probabilities or densities (floats >= 0) in one format: three decimals
    ("0.500") when every non-zero value is at least 0.001, otherwise every value as
    "5.00 × 10⁻¹" (three significant figures). A 0 stays "0"; NaN reads "n/a"."""
    finite = [float(v) for v in values if np.isfinite(v)]
    small = any(0 < abs(v) < 10.0 ** -digits for v in finite)

    def one(value: float) -> str:
        if not np.isfinite(value):
            return "n/a"
        if value == 0:
            return "0"
        return scientific(value, digits) if small else signed(value, digits)
    return [one(float(v)) for v in values]


def value_path(values: Sequence[float], arrow: str = "→", between: str = "…") -> str:
    """A knob's history as its first and last values: '1' (never changed), '1→10', and
    '1→…→10' when it stood at other values between (a run's β on the rate-distortion plane,
    with arrow '->' and between '...' in the run store's plain-text label). Raises
    IndexError on an empty history."""
    parts = [f"{values[0]:g}"] + ([between] if len(values) > 2 else []) \
        + ([f"{values[-1]:g}"] if len(values) > 1 else [])
    return arrow.join(parts)

