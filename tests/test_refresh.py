import pytest

from explorer.refresh import AdaptiveInterval


def test_interval_grows_with_watchers_and_cost_and_stays_clamped():
    interval = AdaptiveInterval(minimum=1.0, maximum=8.0, budget=0.5, window=10.0)
    assert interval.seconds(now=0.0) == 1.0  # nobody watching yet
    for session in range(30):  # 30 sessions, 20 ms a refresh: 30 * 0.02 / 0.5 = 1.2 s
        interval.record(f"s{session}", 0.02, now=1.0)
    assert interval.seconds(now=1.0) == pytest.approx(1.2)
    for session in range(30):  # the refreshes get slower: the interval stretches
        interval.record(f"s{session}", 0.5, now=2.0)
    assert interval.seconds(now=2.0) == 8.0  # clamped at the maximum
    assert interval.seconds(now=30.0) == 1.0  # everyone left: back to the minimum
    with pytest.raises(ValueError):
        AdaptiveInterval(minimum=0)
