"""Numbers in words, as the redactor says a written house number to find it spoken."""

from __future__ import annotations

import pytest

from assistant.spoken_numbers import in_words


@pytest.mark.parametrize(
    ("n", "said"),
    [(0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (22, "twenty two"), (90, "ninety"),
     (100, "one hundred"), (105, "one hundred and five"), (999, "nine hundred and ninety nine")],
)  # fmt: skip
def test_a_number_under_a_thousand_is_said_as_a_british_speaker_says_it(n: int, said: str) -> None:
    assert in_words(n) == said


@pytest.mark.parametrize("n", [-1, 1000])
def test_a_number_it_cannot_say_is_refused(n: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        in_words(n)
