"""Keep personal data and spreadsheet formulas out of published files.

Masking scheme (mask the middle, keep separators, so text stays readable and the
masked form is recognisably the same kind of number):

==========  ===============================  ==============================
kind        kept                             example
==========  ===============================  ==============================
mobile      first 3 and last 4 digits        138****5678, +86 138-****-5678
landline    area code and last 4 digits      0731-****2345, 0731****2345
id_card     region code (6) and the last     430102********123X (18),
            4 (18-digit) / 3 (15-digit);     430102******123 (15)
            the birth date is always hidden
bank_card   first 4 and last 4 digits        6222 **** **** 1234
email       first character of the name      a***@example.com
            and the domain; fixed "***"
qq          the label                        QQ号*********
wechat      the label                        微信号**********
address     the units (栋, 单元, 室)           麓山路88号*栋***室
name        the role word and the surname;   举报人张某, 联系人欧阳某某
            某 for each other character
==========  ===============================  ==============================

Addresses are masked down to building and room (the street is where a polluter is,
too). Names are those written after a role word (举报人, 来电人, 联系人 …); the words
around them (roles, what ends a name, what is no name, compound surnames) are data, in
the ``privacy`` section of the configuration's contract.yaml. A name already written as
"王某某", or a form of address ("张先生"), stays as written.

Separators may be spaces, dashes or dots (138.1234.5678); digits may be full-width or
Chinese numerals (一三八一二三四五六七八, as people write a number out in words).

Numbers glued to Latin letters are codes, not personal data: complaint IDs
(D3HN202406020040, the malformed D3600797202309080106), credit codes, models. So
id_card, bank_card and landline must not follow a letter or a digit, and no number
pattern starts or ends inside a longer digit run or a decimal (0.13812345678).
Mobile numbers only refuse a preceding digit: "TEL13812345678" is still masked.
Full-width digits and separators (typed in an IME's full-width mode) count too, and so
do Chinese numerals (〇一二三四五六七八九, 零, 幺).
Over-masking is the safe side: every 18-digit run is treated as an ID-card number and
every other 16-19 digit run as a bank-card number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from ducha.contract import load_contract

# Guards: not inside a longer digit run, not a decimal's fraction, not glued to a code.
_AFTER_CODE = r"(?<![\dA-Za-z])(?<!\d[.])"
_AFTER_DIGIT = r"(?<!\d)(?<!\d[.])"
_END = r"(?!\d)(?![.]\d)"

_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # MMDD

_PATTERNS: dict[str, str] = {
    # Before the number kinds: a mobile number can be an e-mail name (13812345678@qq.com).
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])",
    # Labelled accounts: the label says what the number or name is.
    "qq": r"(?i:qq)(?:号码|号|號碼|號)?(?:是|为|為)?[ :：]*\d{5,11}(?!\d)",
    "wechat": r"(?:微信|(?i:weixin|wechat))(?:号|號)?(?:是|为|為)?[ :：]*[A-Za-z][-_A-Za-z0-9]{5,19}"
    + r"(?![-_A-Za-z0-9])",
    # 18 characters (optionally 6-8-4 with spaces or dashes), or 15 digits with a valid
    # YYMMDD (15-digit runs are also company registration numbers, which are public).
    "id_card": _AFTER_CODE
    + r"(?:\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx]|\d{6}(?P<id_sep>[ -])\d{4}(?P=id_sep)\d{4}(?P=id_sep)\d{3}[\dXx]"
    + r"|[1-9]\d{5}\d{2}"
    + _DAY
    + r"\d{2}[\dXx])"
    + r"(?![\dA-Za-z])(?![.]\d)",
    "bank_card": _AFTER_CODE
    + r"(?:\d{16,19}|\d{4}(?P<bank_sep>[ -])\d{4}(?P=bank_sep)\d{4}(?P=bank_sep)\d{4}(?:(?P=bank_sep)\d{1,3})?)"
    + _END,
    "mobile": _AFTER_DIGIT + r"(?:(?:\+|00)?86[ .-]?)?1[3-9]\d[ .-]?\d{4}[ .-]?\d{4}" + _END,
    # Area codes: 010 and 02x have three digits, the rest four.
    "landline": _AFTER_CODE
    + r"(?:\(0(?:10|2\d|[3-9]\d{2})\)|0(?:10|2\d|[3-9]\d{2}))[ .-]?\d{3,4}[ .-]?\d{4}"
    + _END,
    # A home down to its room: building (栋, 幢, 座, 号楼), unit, floor, then the room
    # ("3栋502室", "5号楼1单元301", "A座1203"), or a room alone ("502室").
    # Never next to a "*": a number masked already is not a room ("3栋139****5678").
    "address": r"(?<![\dA-Za-z*])(?:[\dA-Za-z]{1,4}(?:栋|幢|座|号楼)(?:\d{1,2}单元)?(?:\d{1,2}[层楼])?-?\d{2,5}"
    + r"|\d{1,2}单元\d{2,5})(?:室|号房|房|户)?(?![\dA-Za-z*])"
    + r"|(?<![\dA-Za-z.*])\d{3,5}(?:室|号房|房间)",
}


def _words(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _name_pattern() -> str:
    """Names after a role word, on the text as written (Chinese numerals are part of
    names: 张三), several joined by "、". The surname is taken whole (an atomic group: 欧阳
    is not 欧 + 阳…); a name is the shortest run of 2 to 4 characters that something ends."""
    words = load_contract().privacy
    name = (
        rf"(?>{_words(words.compound_surnames)}|[\u4e00-\u9fff])(?!{_words(words.honorifics)})"
        r"[\u4e00-\u9fff]{1,3}?"
    )
    return (
        rf"(?:{_words(words.name_roles)})(?:姓名)?[ \u3000:：]*(?!{_words(words.not_names)})"
        rf"(?P<who>{name}(?:、{name})*)(?={_words(words.name_ends)}|[^\u4e00-\u9fff]|$)"
    )


_NAME = re.compile(_name_pattern())

#: Compiled patterns by kind, in matching priority order. They expect ASCII forms,
#: except "name", which reads the text as written; find_personal (for sweeps of
#: generated files) and mask_personal also fold full-width characters and use the
#: union, so a span is claimed by one kind only.
PERSONAL_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {kind: re.compile(pattern) for kind, pattern in _PATTERNS.items()} | {"name": _NAME}
)

# One alternation, so a span is claimed once (leftmost, then in priority order) and the
# masked output is never re-scanned.
_ANY = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items()))


# Full-width forms (IME full-width mode: "１３８－１２３４－５６７８") are matched as ASCII.
# A one-to-one character map keeps positions, so spans found in the folded text apply
# to the original, which is what gets masked and returned.
_FOLD = (
    {0xFF01 + i: 0x21 + i for i in range(0x5E)}
    | {0x3000: 0x20}
    | {ord(ch): ord(str(i)) for i, ch in enumerate("〇一二三四五六七八九")}
    | {ord("零"): ord("0"), ord("幺"): ord("1")}
)


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def _mask_middle(text: str, head: int, tail: int) -> str:
    """Replace the digits (and X) of text by "*", except the first head and last tail;
    separators stay where they are."""
    positions = [i for i, ch in enumerate(_fold(text)) if ch.isdecimal() or ch in "Xx"]
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def _digits(text: str) -> str:
    return "".join(ch for ch in _fold(text) if ch.isdecimal())


def _mask_email(text: str) -> str:
    at = _fold(text).index("@")
    return f"{text[0]}***{text[at:]}"


def _mask_mobile(text: str) -> str:
    prefix = len(_digits(text)) - 11  # "86" / "0086" country code, kept as written
    return _mask_middle(text, prefix + 3, 4)


def _mask_landline(text: str) -> str:
    area = 3 if _digits(text).startswith(("010", "02")) else 4
    return _mask_middle(text, area, 4)


def _mask_id_card(text: str) -> str:
    length = sum(ch.isdecimal() or ch in "Xx" for ch in _fold(text))
    return _mask_middle(text, 6, 4 if length == 18 else 3)


def _mask_bank_card(text: str) -> str:
    return _mask_middle(text, 4, 4)


def _mask_address(text: str) -> str:
    """The numbers and letters of the building and room go; the units stay."""
    return "".join(
        "*" if f.isascii() and f.isalnum() else ch for ch, f in zip(text, _fold(text), strict=True)
    )


def _mask_name(m: re.Match[str]) -> str:
    compound = load_contract().privacy.compound_surnames

    def one(who: str) -> str:
        surname = who[:2] if who[:2] in compound and len(who) > 2 else who[:1]
        return surname + "某" * (len(who) - len(surname))

    names = "、".join(one(who) for who in m.group("who").split("、"))
    return m.group(0)[: m.start("who") - m.start()] + names


# The label of a QQ or WeChat account, as the patterns above accept it: kept when masked.
_ACCOUNT_LABEL = re.compile(
    r"(?:(?i:qq)(?:号码|号|號碼|號)?|(?:微信|(?i:weixin|wechat))(?:号|號)?)(?:是|为|為)?[ :：]*"
)


def _mask_account(text: str) -> str:
    """A labelled QQ or WeChat account: the label stays, the account goes."""
    label = _ACCOUNT_LABEL.match(_fold(text))
    start = label.end() if label else len(text)
    return text[:start] + "*" * (len(text) - start)


_MASKERS = {
    "email": _mask_email,
    "id_card": _mask_id_card,
    "bank_card": _mask_bank_card,
    "mobile": _mask_mobile,
    "landline": _mask_landline,
    "qq": _mask_account,
    "wechat": _mask_account,
    "address": _mask_address,
}


def _kind(match: re.Match[str]) -> str:
    return next(kind for kind in _PATTERNS if match.group(kind) is not None)


def find_personal(text: str) -> list[tuple[str, str]]:
    """Every (kind, matched text) of personal data in text: the numbers, accounts and
    addresses left to right, then the names."""
    numbers = [(_kind(m), text[m.start() : m.end()]) for m in _ANY.finditer(_fold(text))]
    return numbers + [("name", m.group(0)) for m in _NAME.finditer(_mask_numbers(text))]


@lru_cache(maxsize=1 << 17)  # one publish writes each text in several tables and formats
def mask_personal(text: str) -> str:
    """Mask phone numbers, ID-card and bank-card numbers, e-mail addresses, QQ and WeChat
    accounts, home addresses and the names of complainants and contacts in text (scheme
    in the module docstring). Idempotent; everything else is left as written."""
    # Numbers first: a name never swallows the start of a phone number written in
    # Chinese numerals (联系人张一三九…). A mask can free a neighbour that was glued to
    # it ("联系人张三0731-84512345": the landline follows a digit until 三 is masked), so
    # masking runs again until nothing changes; each pass only hides more.
    for _ in range(8):
        masked = _NAME.sub(_mask_name, _mask_numbers(text))
        if masked == text:
            break
        text = masked
    return text


def _mask_numbers(text: str) -> str:
    out, end = [], 0
    for m in _ANY.finditer(_fold(text)):
        out += [text[end : m.start()], _MASKERS[_kind(m)](text[m.start() : m.end()])]
        end = m.end()
    return "".join([*out, text[end:]])


# A spreadsheet runs a cell as a formula when it starts with one of these, also after
# leading spaces (OWASP "CSV injection").
_FORMULA_TRIGGERS = frozenset("=+-@\t\r")
_LEADING_SPACE = " \n\x0b\x0c\u00a0\u3000"


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet run this text as a formula (also after leading spaces)? A
    lone "-" (a common "none" marker) is not one."""
    stripped = text.lstrip(_LEADING_SPACE)
    return bool(stripped) and stripped[0] in _FORMULA_TRIGGERS and stripped.rstrip() != "-"


def neutralise_formula(text: str) -> str:
    """Prefix "'" to text a spreadsheet would run as a formula: for CSV, which has no
    cell formats. Idempotent: the result starts with "'". XLSX cells keep the text as
    typed and carry Excel's quote prefix in their format instead (writers.py)."""
    return "'" + text if looks_like_formula(text) else text


def is_missing(value: object) -> bool:
    """None, NaN, pandas NA/NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(value != value)  # NaN-likes (numpy, Decimal, NaT) are unequal to themselves
    except (TypeError, ValueError):
        return True  # pandas.NA: its comparison result has no truth value


def safe_text(value: object) -> str:
    """The text every writer puts in a cell: "" for missing values, personal data masked,
    formulas neutralised."""
    if is_missing(value):
        return ""
    return neutralise_formula(mask_personal(str(value)))
