"""Numbers as people say them: the words for digits, teens and tens, and a number said in words.

One table for the three places that read or write spoken numbers: the recognizers (an NHS number
said digit by digit), redaction (a house number said as "twenty two" or "two two") and drafting (a
figure a statement gives must have been said). Plain Python, so drafting can use it without
loading Presidio.
"""

from __future__ import annotations

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")  # 20, 30, ... 90


def in_words(n: int) -> str:
    """0-999 as said in British English: 22 -> 'twenty two', 105 -> 'one hundred and five'."""
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is outside 0-999")
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + DIGITS[n % 10])
    rest = n % 100
    return DIGITS[n // 100] + " hundred" + ("" if rest == 0 else " and " + in_words(rest))
