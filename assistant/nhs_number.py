"""The NHS number's modulus-11 check digit: 10 digits, the last one checks the other nine.

Used by redaction (an NHS number is confirmed before it is redacted as one) and by the
transcript guard (a number that fails was probably misheard). No imports beyond the
standard library, so the transcriber does not load the redaction engine.
"""

from __future__ import annotations


def nhs_checksum_ok(text: str) -> bool:
    """True when the digits of ``text`` are 10 and the tenth is the check digit of the first nine."""
    digits = [int(ch) for ch in text if ch.isdigit()]
    if len(digits) != 10:
        return False
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]
