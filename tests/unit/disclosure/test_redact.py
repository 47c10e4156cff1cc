"""Personal data masking and formula neutralisation."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ducha.disclosure import redact
from ducha.disclosure.redact import (
    PERSONAL_PATTERNS,
    find_personal,
    is_missing,
    mask_personal,
    neutralise_formula,
    safe_text,
)

POSITIVE = [
    # (kind, in text, masked)
    ("mobile", "13812345678", "138****5678"),
    ("mobile", "138-1234-5678", "138-****-5678"),
    ("mobile", "138 1234 5678", "138 **** 5678"),
    ("mobile", "+86 13812345678", "+86 138****5678"),
    ("mobile", "+86-138-1234-5678", "+86-138-****-5678"),
    ("mobile", "008619912345678", "0086199****5678"),
    ("landline", "0731-84512345", "0731-****2345"),
    ("landline", "073184512345", "0731****2345"),
    ("landline", "(0731)84512345", "(0731)****2345"),
    ("landline", "010-12345678", "010-****5678"),
    ("landline", "021 6234 5678", "021 **** 5678"),
    ("landline", "0739-5123456", "0739-***3456"),
    ("id_card", "430102199001011234", "430102********1234"),
    ("id_card", "43010219900101123X", "430102********123X"),
    ("id_card", "43010219900101123x", "430102********123x"),
    ("id_card", "430102 19900101 123X", "430102 ******** 123X"),
    ("id_card", "430102900101123", "430102******123"),
    ("email", "abc.de@example.com", "a***@example.com"),
    ("email", "13812345678@qq.com", "1***@qq.com"),
    ("email", "zhang_san+ducha@mail.hunan.gov.cn", "z***@mail.hunan.gov.cn"),
    ("bank_card", "6222021234567890", "6222********7890"),
    ("bank_card", "6222 0212 3456 1234", "6222 **** **** 1234"),
    ("bank_card", "6222-0212-3456-7890-123", "6222-****-****-***0-123"),
    ("bank_card", "6217002870012345678", "6217***********5678"),
]


@pytest.mark.parametrize(("kind", "raw", "masked"), POSITIVE)
def test_masks_each_kind_alone(kind: str, raw: str, masked: str) -> None:
    assert mask_personal(raw) == masked
    assert find_personal(raw) == [(kind, raw)]
    assert PERSONAL_PATTERNS[kind].search(raw)


@pytest.mark.parametrize(("kind", "raw", "masked"), POSITIVE)
def test_masks_inside_chinese_text(kind: str, raw: str, masked: str) -> None:
    text = f"举报人联系方式：{raw}，请核实。"
    assert mask_personal(text) == f"举报人联系方式：{masked}，请核实。"
    assert find_personal(mask_personal(text)) == []


def test_masks_several_in_one_text() -> None:
    text = "联系人张某，手机13912345678，座机0731-84512345，身份证号43010219900101123X，邮箱zs@qq.com。"
    assert mask_personal(text) == (
        "联系人张某，手机139****5678，座机0731-****2345，身份证号430102********123X，邮箱z***@qq.com。"
    )
    assert [kind for kind, _ in find_personal(text)] == ["mobile", "landline", "id_card", "email"]


def test_masks_full_width_digits() -> None:
    assert mask_personal("电话１３８１２３４５６７８") == "电话１３８****５６７８"
    assert mask_personal("１３８－１２３４－５６７８") == "１３８－****－５６７８"
    assert mask_personal("ａｂｃ＠ｑｑ．ｃｏｍ") == "ａ***＠ｑｑ．ｃｏｍ"
    assert find_personal("身份证４３０１０２１９９００１０１１２３Ｘ") == [
        ("id_card", "４３０１０２１９９００１０１１２３Ｘ")
    ]
    assert mask_personal("Ｄ３ＨＮ２０２４０６０２００４０") == "Ｄ３ＨＮ２０２４０６０２００４０"


@pytest.mark.parametrize(
    "text",
    [
        "D3HN202406020040",
        "X3HB202406020025",
        "第31批 D3GS202312200043",
        "D3SX202505280018、D2HH202403210001",
        "D3600797202309080106",  # malformed IDs are kept for flagging, not masked
        "D3GS202300781",
        "20240603",
        "2024年6月3日",
        "2024-06-03",
        "第二十批 (4月13日8时至20时)",
        "罚款金额251542.71元",
        "处罚金额约18213.33万元",
        "累计收到群众举报15536件，交办举报问题10558件",
        "截至4月11日累计移交17批次1449件",
        "0.13812345678",
        "13812345678.5",
        "1234567890123",  # 13 digits: no kind
        "430100000012345",  # 15-digit company registration number (no valid birth date)
        "91430100MA4L1234X5",  # unified social credit code
        "12369环保举报热线",
        "责令整改88家，立案处罚46家，刑事拘留3人",
        "",
    ],
)
def test_leaves_ids_dates_amounts_and_counts(text: str) -> None:
    assert mask_personal(text) == text
    assert find_personal(text) == []


def test_no_partial_match_inside_longer_digit_run() -> None:
    # 21 digits: neither a bank card nor an ID card nor a phone inside it.
    assert mask_personal("123456789012345678901") == "123456789012345678901"
    assert mask_personal("913812345678") == "913812345678"


@given(st.text())
def test_masking_is_idempotent_and_leaves_nothing(text: str) -> None:
    masked = mask_personal(text)
    assert mask_personal(masked) == masked
    assert find_personal(masked) == []


@given(
    st.lists(
        st.sampled_from(
            [raw for _, raw, _ in POSITIVE] + ["举报", "，", " ", "D3HN202406020040", "251542.71元"]
        ),
        max_size=8,
    )
)
def test_masked_text_keeps_no_personal_data(parts: list[str]) -> None:
    # Joined with a Chinese character so neighbouring samples never glue into one number.
    assert find_personal(mask_personal("。".join(parts))) == []


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralises_each_formula_trigger(lead: str) -> None:
    text = f"{lead}SUM(A1:A2)"
    assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("   " + text) == "'   " + text
    assert neutralise_formula("\u3000" + text) == "'\u3000" + text


@pytest.mark.parametrize("text", ["普通文本", "1+1", "a=b", "'=1+1", "", "   ", "-", " - ", "—", "＝1"])
def test_leaves_harmless_text(text: str) -> None:
    assert neutralise_formula(text) == text


@given(st.text())
def test_neutralise_is_idempotent(text: str) -> None:
    once = neutralise_formula(text)
    assert neutralise_formula(once) == once
    assert once in (text, "'" + text)


@pytest.mark.parametrize("value", [None, float("nan")])
def test_safe_text_missing_is_empty(value: object) -> None:
    assert safe_text(value) == ""


def test_safe_text_pandas_missing() -> None:
    pd = pytest.importorskip("pandas")
    assert safe_text(pd.NA) == ""
    assert safe_text(pd.NaT) == ""
    assert is_missing(math.nan)
    assert not is_missing(0)
    assert not is_missing("")


def test_safe_text_masks_then_neutralises() -> None:
    assert safe_text('=HYPERLINK("http://x","13812345678")') == '\'=HYPERLINK("http://x","138****5678")'
    assert safe_text("+86 13812345678") == "'+86 138****5678"
    assert safe_text(12) == "12"
    assert safe_text("D3HN202406020040") == "D3HN202406020040"


# The forms people really type, beyond the plain ones: each must be found and masked.
WRITTEN_FORMS = [
    ("mobile", "138.1234.5678", "138.****.5678"),
    ("mobile", "+86 138-1234-5678", "+86 138-****-5678"),
    ("mobile", "一三八一二三四五六七八", "一三八****五六七八"),
    ("mobile", "幺三八〇〇〇〇五六七八", "幺三八****五六七八"),
    ("mobile", "１３８１２３４５６７８", "１３８****５６７８"),
    ("landline", "0731-8451 2345", "0731-**** 2345"),
    ("id_card", "430102-19900101-123X", "430102-********-123X"),
    ("qq", "QQ号123456789", "QQ号*********"),
    ("qq", "QQ：12345678", "QQ：********"),
    ("wechat", "微信号zhang_san88", "微信号***********"),
    ("wechat", "微信 abc-def123", "微信 **********"),
    ("email", "zhang＠example．com", "z***＠example．com"),
]


@pytest.mark.parametrize(("kind", "raw", "masked"), WRITTEN_FORMS)
def test_masks_the_forms_people_type(kind: str, raw: str, masked: str) -> None:
    text = f"如需核实请联系{raw}。"
    assert find_personal(text) == [(kind, raw)]
    assert mask_personal(text) == f"如需核实请联系{masked}。"
    assert find_personal(mask_personal(text)) == []


@pytest.mark.parametrize(
    "text", ["2024年6月1日", "251542.71元", "D3HN202406020040", "12345热线", "GB 3095-2012", "85.3%"]
)
def test_public_numbers_are_not_masked(text: str) -> None:
    assert mask_personal(text) == text and find_personal(text) == []


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=1+1", True),
        ("+86 138", True),
        ("-5", True),
        ("@SUM(A1)", True),
        ("\t=x", True),
        ("正常文本", False),
        ("2024-06-01", False),
        ("", False),
    ],
)
def test_looks_like_formula(text: str, formula: bool) -> None:
    assert redact.looks_like_formula(text) is formula


# --- every form the masker learned, checked by what the mask leaves behind ---------------------

# Digits however written: ASCII, full-width, Chinese numerals (〇一二…九, 零, 幺).
_ANY_DIGIT = str.maketrans(
    {0xFF10 + i: str(i) for i in range(10)}
    | {ord(ch): str(i) for i, ch in enumerate("〇一二三四五六七八九")}
    | {ord("零"): "0", ord("幺"): "1"}
)


def _digit_runs(text: str) -> list[str]:
    """The digit runs a reader could still dial: separators (spaces, dots, dashes, also
    full-width) inside a run are skipped, a masked "*" ends it. The country code 0086
    is not part of the number (as +86 is not)."""
    folded = re.sub(r"(?<!\d)0086", "+86", text.translate(_ANY_DIGIT))
    return [re.sub(r"\D", "", run) for run in re.findall(r"\d(?:[ .\-\u3000．－]*\d)*", folded)]


# (kind, as typed, the label the mask keeps: "" for bare numbers)
TYPED = [
    # mobiles: spaces, dots, dashes, mixed; +86 / 0086; full-width; Chinese numerals
    ("mobile", "138 1234 5678", ""),
    ("mobile", "138.1234.5678", ""),
    ("mobile", "138-1234-5678", ""),
    ("mobile", "138 1234-5678", ""),
    ("mobile", "+86 138 1234 5678", ""),
    ("mobile", "+86 138.1234.5678", ""),
    ("mobile", "+8613812345678", ""),
    ("mobile", "0086 138 1234 5678", ""),
    ("mobile", "１３８．１２３４．５６７８", ""),
    ("mobile", "一三八一二三四五六七八", ""),
    ("mobile", "一三八 一二三四 五六七八", ""),
    ("mobile", "一三八-一二三四-五六七八", ""),
    ("mobile", "幺三八〇〇〇〇五六七八", ""),
    ("mobile", "一三八零零零零五六七八", ""),
    ("mobile", "138一二三四5678", ""),
    # landlines with dashes (and dots, and in Chinese numerals)
    ("landline", "0731-8451-2345", ""),
    ("landline", "010-1234-5678", ""),
    ("landline", "(0731)8451-2345", ""),
    ("landline", "0731.8451.2345", ""),
    ("landline", "〇七三一-八四五一二三四五", ""),
    # ID-card numbers with spaces or dashes
    ("id_card", "430102 19900101 123X", ""),
    ("id_card", "430102-19900101-123X", ""),
    ("id_card", "430102-19900101-1234", ""),
    ("id_card", "４３０１０２－１９９００１０１－１２３Ｘ", ""),
    # QQ: the label stays, the account goes
    ("qq", "QQ号123456789", "QQ号"),
    ("qq", "QQ：12345678", "QQ："),
    ("qq", "QQ号码 1234567890", "QQ号码 "),
    ("qq", "qq 12345", "qq "),
    ("qq", "ＱＱ号１２３４５６７８９", "ＱＱ号"),
    ("qq", "QQ：一二三四五六七八九", "QQ："),
    # WeChat ids
    ("wechat", "微信号zhang_san88", "微信号"),
    ("wechat", "微信：wxid_abc123def", "微信："),
    ("wechat", "微信 abc-def123", "微信 "),
    ("wechat", "微信号：Zhang-San_88", "微信号："),
    ("wechat", "weixin: zhangsan01", "weixin: "),
    ("wechat", "WeChat: zhangsan01", "WeChat: "),
    # e-mail with full-width ＠ and ．
    ("email", "zhang＠example．com", ""),
    ("email", "zhang＠example.com", ""),
    ("email", "zhang@example．com", ""),
    ("email", "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", ""),
]


@pytest.mark.parametrize(("kind", "raw", "label"), TYPED, ids=[f"{k}:{r}" for k, r, _ in TYPED])
def test_every_typed_form_is_found_and_masked(kind: str, raw: str, label: str) -> None:
    text = f"举报人联系方式{raw}，请回访。"
    assert find_personal(text) == [(kind, raw)]
    masked = mask_personal(text)
    assert masked.startswith("举报人联系方式" + label) and masked.endswith("，请回访。")
    written = masked[len("举报人联系方式") : -len("，请回访。")]
    assert "*" in written
    assert all(len(run) < 7 for run in _digit_runs(masked)), (masked, _digit_runs(masked))
    if kind in ("qq", "wechat"):
        assert set(written[len(label) :]) == {"*"}  # the whole account, nothing of it left
    if kind == "email":
        assert "zhang" not in masked and "ｚｈａｎｇ" not in masked
        assert written[0] in "zｚ" and written.endswith(raw[raw.index("@" if "@" in raw else "＠") :])
    assert mask_personal(masked) == masked
    assert find_personal(masked) == []


def test_typed_forms_in_one_complaint() -> None:
    text = (
        "2024年6月1日，举报人（QQ号123456789，微信zhang_san88，电话138.1234.5678，"
        "座机0731-8451-2345，身份证430102-19900101-123X，邮箱zhang＠example．com，"
        "备用一三八一二三四五六七八）反映D3HN202406020040所涉企业罚款251542.71元未缴，"
        "二氧化硫超出GB 3095-2012限值85.3%，已转12345热线。"
    )
    assert [kind for kind, _ in find_personal(text)] == [
        "qq",
        "wechat",
        "mobile",
        "landline",
        "id_card",
        "email",
        "mobile",
    ]
    assert mask_personal(text) == (
        "2024年6月1日，举报人（QQ号*********，微信***********，电话138.****.5678，"
        "座机0731-****-2345，身份证430102-********-123X，邮箱z***＠example．com，"
        "备用一三八****五六七八）反映D3HN202406020040所涉企业罚款251542.71元未缴，"
        "二氧化硫超出GB 3095-2012限值85.3%，已转12345热线。"
    )


PUBLIC = [
    "2024年6月1日",
    "2024年6月1日10时至20时",
    "2024-06-01",
    "2024.06.01",
    "20240601",
    "251542.71元",
    "1,234,567.89元",
    "处罚金额约18213.33万元",
    "D3HN202406020040",
    "D3HN202406020040、D3HN202406020041",
    "12345热线",
    "12369环保举报热线",
    "GB 3095-2012",
    "GB3096-2008",
    "GB/T 14848-2017",
    "HJ 2.2-2018",
    "85.3%",
    "100%",
    "同比下降12.35%",
    "PM2.5浓度35微克/立方米",
    "统一社会信用代码91430100MA4L1234X5",
    "微信公众号",
    "QQ群",
]


@pytest.mark.parametrize("public", PUBLIC)
def test_public_numbers_are_left_as_written(public: str) -> None:
    for text in (public, f"经核查，{public}，情况属实。"):
        assert find_personal(text) == [], text
        assert mask_personal(text) == text


FORMULAS = [
    ("=1+1", True),
    ("+86 138", True),
    ("-5", True),
    ("@SUM(", True),
    ("\t=x", True),
    ("\r=x", True),
    ("  =1+1", True),  # leading spaces do not disarm it
    ("\u3000=1+1", True),
    ("-", False),  # a lone dash is the usual "none"
    (" - ", False),
    ("", False),
    ("   ", False),
    ("正常文本", False),
    ("1+1", False),
    ("a=b", False),
    ("'=1+1", False),  # already quoted
    ("＝1+1", False),  # full-width: text to a spreadsheet
    ("—5", False),
    ("2024-06-01", False),
    ("86 138", False),
]


@pytest.mark.parametrize(("text", "formula"), FORMULAS, ids=[repr(t) for t, _ in FORMULAS])
def test_looks_like_formula_agrees_with_neutralise(text: str, formula: bool) -> None:
    assert redact.looks_like_formula(text) is formula
    assert neutralise_formula(text) == ("'" + text if formula else text)


# Gaps found while writing the tests above, then closed: each leaked an account or a
# number, or lost the label the scheme keeps.
ONCE_MISSED = [
    ("qq", "QQ123456789", "QQ"),  # the label went too: "***********"
    ("qq", "QQ号是123456789", "QQ号是"),
    ("qq", "QQ号为 123456789", "QQ号为 "),
    ("wechat", "wechat: zhangsan01", "wechat: "),  # lower-case label
    ("wechat", "微信号是zhangsan01", "微信号是"),
    ("wechat", "WeChat号abc12345", "WeChat号"),
    ("mobile", "+86.138.1234.5678", ""),  # dot after the country code
    ("id_card", "430102-1990-0101-123X", ""),  # 6-4-4-4 grouping
]


@pytest.mark.parametrize(("kind", "raw", "label"), ONCE_MISSED, ids=[r for _, r, _ in ONCE_MISSED])
def test_gaps_once_missed(kind: str, raw: str, label: str) -> None:
    text = f"举报人联系方式{raw}，请回访。"
    masked = mask_personal(text)
    assert masked.startswith("举报人联系方式" + label)
    assert masked != text
    assert all(len(run) < 7 for run in _digit_runs(masked))
    assert find_personal(masked) == []


# --- names after a role word, and homes down to their room (issue 11) -----------------------

NAMES = [
    ("举报人张伟反映噪声扰民", "举报人张某反映噪声扰民"),
    ("举报人张伟", "举报人张某"),
    ("来电人李晓明称", "来电人李某某称"),
    ("来信人：王芳，电话13812345678", "来信人：王某，电话138****5678"),
    ("联系人欧阳娜娜反映", "联系人欧阳某某反映"),
    ("投诉人张三、李四反映", "投诉人张某、李某反映"),  # Chinese numerals are names too
    ("举报人姓名：赵六。", "举报人姓名：赵某。"),
    ("联系人张一三九一二三四五六七八", "联系人张某某某****五六七八"),  # never half a phone
    ("联系人张三0731-84512345企业", "联系人张某0731-****2345企业"),  # freed by the name's mask
    ("舉報人張偉反映噪聲擾民", "舉報人張某反映噪聲擾民"),  # typed in Traditional characters
    ("聯繫人：李曉明，電話13812345678", "聯繫人：李某某，電話138****5678"),
]


@pytest.mark.parametrize(("text", "masked"), NAMES)
def test_masks_names_after_role_words(text: str, masked: str) -> None:
    assert mask_personal(text) == masked
    assert any(kind == "name" for kind, _ in find_personal(text))
    assert find_personal(masked) == []


@pytest.mark.parametrize(
    "text",
    [
        "来电人王某某反映",  # already as officials write it
        "举报人张先生称",
        "举报人反映某企业夜间偷排",
        "投诉人多次来电反映",
        "联系人员已到场",
        "举报人联系方式已隐去",
        "来信人称附近有异味",
        "群众反映张伟家附近有噪声",  # no role word: no name is guessed
    ],
)
def test_leaves_what_is_no_name(text: str) -> None:
    assert mask_personal(text) == text
    assert find_personal(text) == []


ADDRESSES = [
    ("住麓山路88号3栋502室", "住麓山路88号*栋***室"),
    ("5号楼1单元301家中", "*号楼*单元***家中"),
    ("A座1203室有噪声", "*座****室有噪声"),
    ("家住三栋五〇二室", "家住*栋***室"),
    ("楼下502室开办作坊", "楼下***室开办作坊"),
]


@pytest.mark.parametrize(("text", "masked"), ADDRESSES)
def test_masks_homes_down_to_the_room(text: str, masked: str) -> None:
    assert mask_personal(text) == masked
    assert [kind for kind, _ in find_personal(text)] == ["address"]
    assert find_personal(masked) == []


@pytest.mark.parametrize("text", ["3号车间", "2栋厂房", "会议室", "厂区西侧200米", "第3批"])
def test_leaves_workplaces_and_distances(text: str) -> None:
    assert mask_personal(text) == text


_FRAGMENTS = [
    "举报人", "来电人", "联系人", "姓名", "：", "张", "欧阳", "伟", "三", "某", "某某", "先生",
    "、", "反映", "称", "多次", "电话", "一三九一二三四五六七八", "13812345678", "3栋", "502室",
    "，", " ", "企业", "家", "QQ号", "123456789", "0731-84512345", "A座", "1单元", "*", "号楼", "5",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12))
def test_name_masking_is_idempotent_and_leaves_nothing(parts: list[str]) -> None:
    text = "".join(parts)
    masked = mask_personal(text)
    assert mask_personal(masked) == masked
    assert find_personal(masked) == []
