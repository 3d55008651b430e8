import numpy as np
import pytest

from explorer import animation


def test_gif_has_one_frame_per_input_and_loops():
    frames = [np.full((28, 28), v / 10) for v in range(10)]
    gif = animation.gif_bytes(frames, scale=2)
    assert gif[:6] in (b"GIF87a", b"GIF89a") and animation.frame_count(gif) == 10
    with pytest.raises(ValueError):
        animation.gif_bytes([])
    with pytest.raises(ValueError):
        animation.gif_bytes([np.zeros((28, 28)), np.zeros((14, 14))])


def test_sampling_frames_follow_the_rows():
    image = np.arange(784, dtype=np.uint8).reshape(28, 28)
    frames = animation.sampling_frames(image, 60)
    assert len(frames) == 4 and frames[0].shape == (28, 28, 3)  # 0, 28, 56 and 60 pixels
    assert not np.array_equal(frames[1], frames[2])


def test_there_and_back_is_a_palindrome_without_doubled_ends():
    assert animation.there_and_back([1, 2, 3, 4]) == [1, 2, 3, 4, 3, 2]
