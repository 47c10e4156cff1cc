"""An independent detector of personal data, for sweeps of published files.

It shares nothing with ducha.disclosure.redact: a different method (normalise, then
look for long digit runs and labelled accounts), so a gap in the masker's patterns is not
repeated here. It is deliberately blunter than the masker: any run of ten or more digits
(with single spaces, dots, dashes or brackets between them) that is not glued to a code
counts, so a published file passes only if no such run is left.
"""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = str.maketrans("〇零一二三四五六七八九幺", "001234567891")

# Ten or more digits, single separators allowed between them; not after a Latin letter
# or digit (case ids such as D3HN202406020040 are public).
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\d(?:[ .\-()]?\d){9,}")
_QQ = re.compile(r"qq\D{0,4}\d{5,}", re.IGNORECASE)
_WECHAT = re.compile(r"(?:微信|weixin|wechat)\S{0,3}?[A-Za-z][\w-]{4,}", re.IGNORECASE)
# A mailbox with at least two visible characters before "@" (a masked one keeps one).
_EMAIL = re.compile(r"(?<![*\w])[A-Za-z0-9][A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def normalise(text: str) -> str:
    """Full-width forms to ASCII (NFKC), Chinese numerals to digits."""
    return unicodedata.normalize("NFKC", text).translate(_CN_DIGITS)


def personal_data(text: str) -> list[str]:
    """Every stretch of ``text`` that looks like personal data."""
    flat = normalise(text)
    found = [m.group(0) for m in _DIGIT_RUN.finditer(flat)]
    found += [m.group(0) for m in _QQ.finditer(flat)]
    found += [m.group(0) for m in _WECHAT.finditer(flat)]
    found += [m.group(0) for m in _EMAIL.finditer(flat)]
    return found


# The forms a sample must hold for a sweep to mean something: name -> test on raw text.
FORMS = {
    "mobile, plain": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "mobile, spaced": re.compile(r"(?<!\d)1[3-9]\d \d{4} \d{4}(?!\d)"),
    "mobile, dashed with +86": re.compile(r"\+86 ?1[3-9]\d-\d{4}-\d{4}"),
    "mobile, dotted": re.compile(r"(?<!\d)1[3-9]\d\.\d{4}\.\d{4}(?!\d)"),
    "mobile, Chinese numerals": re.compile(r"一[三四五七八九][〇一二三四五六七八九]{9}"),
    "landline with a dash": re.compile(r"(?<!\d)0\d{2,3}-\d{3,4} ?\d{4}(?!\d)"),
    "ID card with spaces": re.compile(r"(?<!\d)\d{6} \d{8} \d{3}[\dX]"),
    "ID card with dashes": re.compile(r"(?<!\d)\d{6}-\d{8}-\d{3}[\dX]"),
    "QQ": re.compile(r"QQ号\d{5,}"),
    "WeChat": re.compile(r"微信号[A-Za-z][\w-]{5,}"),
    "e-mail with a full-width @ and dot": re.compile(r"\w+＠\w+．com"),
    "bank card": re.compile(r"(?<!\d)\d{4} \d{4} \d{4} \d{4}(?!\d)"),
}


def missing_forms(text: str) -> list[str]:
    """The FORMS ``text`` does not hold."""
    return [name for name, pattern in FORMS.items() if not pattern.search(text)]
