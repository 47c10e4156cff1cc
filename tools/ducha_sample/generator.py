"""Deterministic sample data: the daily workbooks a province receives during an inspection.

Day i brings batch N = i+1 (``第N批交办清单.xlsx``: new cases, still 正在办理) and, once
results start to come back, one ``办理情况更新（Y年M月D日）.xlsx`` with the handling of
cases transferred 3–8 days earlier. A few deliberate faults (listed in
``SampleSummary.dirty``) exercise the quality checks. Everything is drawn from one
``random.Random(seed)`` and the workbook timestamps are fixed, so the same arguments
give byte-identical files; day i never depends on ``days``, so a shorter run is a
prefix of a longer one.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import xlsxwriter

from ducha.config import Inspection, Region, get_inspection, registry
from ducha.contract import TYPE_SEPARATOR, load_contract
from ducha.layouts import layouts
from ducha.text import batch_label, cn_date, cn_month_day

DEFAULT_INSPECTION = "c3-hn-2024"
DEFAULT_START = dt.date(2024, 6, 1)  # for inspections without a configured period
MIN_CASES, MAX_CASES = 60, 280

# Columns after the layout's own: flags and penalty counts, as provinces append them.
PENALTY_FIELDS = tuple(load_contract().penalty_fields)  # the contract's order
EXTRA_FIELDS = ("key_case", "duplicate_of", *PENALTY_FIELDS)

NEW_STATUS = "正在办理"
# How clerks mark the 重点关注 column, batch by batch: (key case, other case). Each of
# these is a configured word (contract.yaml flags).
KEY_MARKS = (("是", ""), ("★", "一般"), ("√", "否"), ("重点", ""))
PARTLY_CLOSED = "阶段性办结"
CLOSED = "已办结"
INVALID_STATUS = "处理中啦"  # day 2's fault
INVALID_VERIFIED = "待核实"  # day 2's fault for layouts without a status column
EXTRA_FILE = "补报材料.xlsx"  # day 7's fault: no 受理编号 column

# Rough shares of the third-round categories in published statistics.
TYPE_WEIGHTS = {"大气": 30, "水": 28, "噪声": 14, "生态": 11, "其他": 9, "土壤": 6, "辐射": 1}
OTHER_TYPE_WEIGHT = 2  # local additions (海洋, 固废 …) in a generic profile

VERIFIED_WEIGHTS = {"属实": 35, "基本属实": 10, "部分属实": 40, "不属实": 15}


@dataclass(frozen=True)
class SampleSummary:
    inspection_id: str
    days: int
    files: list[Path]
    cases: int  # distinct case_ids across all files
    rows: int  # data rows written across all files
    dirty: list[str]  # the deliberate faults: which file, what fault


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    width: int


# --- what complaints are about ----------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One kind of complaint. A problem reads after its polluter ("鑫达化工厂" + "偷排废水");
    facts and actions are what inspectors find and require for it, so findings match."""

    polluters: tuple[str, ...]
    problems: tuple[str, ...]
    consequences: tuple[str, ...]
    facts: tuple[str, ...]  # may use {n} {db} {area} {tons}
    actions: tuple[str, ...]


_T = Topic  # short alias: the table below is long
TOPICS: dict[str, tuple[Topic, ...]] = {
    "大气": (
        _T(
            ("搅拌站", "砂石场", "砖厂", "石料厂"),
            ("粉尘污染严重", "生产时粉尘漫天", "运输车辆抛洒扬尘"),
            ("周边居民无法开窗", "附近农作物叶面覆满灰尘"),
            (
                "现场发现该单位物料露天堆放，未落实抑尘措施，作业时粉尘较大",
                "现场发现运输车辆未密闭，道路积尘明显",
            ),
            ("物料堆场全封闭改造并加装喷淋设施", "硬化厂区道路并安装车辆冲洗设施"),
        ),
        _T(
            ("餐馆", "烧烤店", "食堂"),
            ("油烟直排扰民", "油烟未经净化直排"),
            ("油烟味直冲楼上住户", "周边居民无法开窗"),
            ("现场发现该店油烟净化设施未正常运行", "现场发现该店未安装油烟净化设施，油烟经排风扇直排"),
            ("加装油烟净化设施并定期清洗", "将排烟口改至楼顶高空排放"),
        ),
        _T(
            ("化工厂", "喷涂厂", "橡胶厂", "制药厂"),
            ("废气直排、异味扰民", "夜间偷排废气，刺鼻异味明显"),
            ("刺鼻气味影响居民健康", "周边居民夜间无法入睡"),
            ("现场发现废气收集处理设施未正常运行", "现场发现该单位活性炭吸附装置长期未更换，废气处理效率低"),
            ("更换废气处理设施并加强运维", "加装废气收集处理设施"),
        ),
        _T(
            ("沥青搅拌站",),
            ("沥青烟气刺鼻",),
            ("周边居民无法开窗",),
            ("现场发现沥青烟气收集装置破损",),
            ("修复沥青烟气收集处理装置",),
        ),
    ),
    "水": (
        _T(
            ("印染厂", "化工厂", "造纸厂", "电镀厂"),
            ("偷排废水", "通过暗管向河道排放废水"),
            ("河水发黑发臭", "鱼虾大量死亡", "影响下游饮用水安全"),
            (
                "现场发现该单位存在废水未经处理直排现象，经采样监测，化学需氧量超标{n}倍",
                "现场发现一处暗管通往附近沟渠",
            ),
            ("封堵暗管并完善废水处理设施", "雨污分流改造并封堵暗管"),
        ),
        _T(
            ("养殖场", "养猪场"),
            ("养殖废水直排", "粪污直排入沟渠"),
            ("附近沟渠臭气熏天", "周边水井水质变差"),
            ("现场发现该养殖场粪污处理设施容量不足，存在粪污外溢现象",),
            ("扩建粪污储存池并实施干湿分离", "配套建设粪污资源化利用设施"),
        ),
        _T(
            ("洗砂场",),
            ("洗砂废水直排河道", "泥浆水直排"),
            ("河水浑浊", "影响下游饮用水安全"),
            ("现场发现该洗砂场沉淀池容量不足，泥浆水溢流至河道",),
            ("扩建沉淀池，实现废水循环利用",),
        ),
        _T(
            ("农贸市场", "屠宰场"),
            ("污水直排，周边沟渠形成黑臭水体",),
            ("河水发黑发臭", "蚊蝇滋生"),
            ("现场发现其污水未接入市政管网，直排周边沟渠",),
            ("将污水接入市政管网并清淤沟渠",),
        ),
        _T(
            ("污水处理厂",),
            ("超标排放", "雨天污水溢流直排"),
            ("河水发黑发臭",),
            ("经采样监测，出水氨氮超标{n}倍",),
            ("提标改造并加强运行管理",),
        ),
    ),
    "噪声": (
        _T(
            ("建筑工地",),
            ("夜间施工噪声扰民", "夜间施工噪声大"),
            ("严重影响周边居民休息", "附近学生无法正常学习"),
            (
                "经夜间监测，施工场界噪声为{db}分贝，超过排放标准",
                "现场发现该工地未办理夜间施工许可即进行夜间作业",
            ),
            ("调整作业时间，禁止夜间违规施工", "加装隔音围挡"),
        ),
        _T(
            ("KTV", "酒吧"),
            ("夜间噪声扰民",),
            ("严重影响周边居民休息",),
            ("经夜间监测，边界噪声为{db}分贝，超过排放标准",),
            ("加装隔音设施并控制营业音量",),
        ),
        _T(
            ("木材加工厂", "石材加工厂"),
            ("机器噪声扰民",),
            ("严重影响周边居民休息",),
            ("经监测，厂界噪声为{db}分贝，超过排放标准",),
            ("更换低噪声设备并加装隔音设施",),
        ),
    ),
    "生态": (
        _T(
            ("采砂场", "砂石场"),
            ("非法采砂破坏植被", "非法采砂破坏河道"),
            ("河岸植被被破坏", "河床千疮百孔"),
            ("现场发现该处存在非法采砂痕迹，破坏植被面积约{area}平方米",),
            ("清理现场并补种植被", "回填砂坑并修复河岸"),
        ),
        _T(
            ("采石场", "矿山"),
            ("违规开采、破坏山体植被", "开采后未进行生态修复"),
            ("山体裸露、水土流失严重",),
            ("现场发现该矿山越界开采，破坏山体面积约{area}平方米",),
            ("停止开采并实施复绿", "编制并实施矿山生态修复方案"),
        ),
        _T(
            ("农家乐", "度假村"),
            ("违规占用林地", "侵占河道修建设施"),
            ("周边林木被砍伐", "影响河道行洪"),
            ("现场发现该单位违规占用林地约{area}平方米",),
            ("拆除违建设施并复绿",),
        ),
    ),
    "土壤": (
        _T(
            ("冶炼厂", "电镀厂", "化工厂"),
            ("固废倾倒污染土壤", "废渣随意堆放污染农田"),
            ("周边农田无法耕种", "雨天渗滤液流入农田"),
            ("现场发现该处堆放工业固废约{tons}吨，未采取防渗措施",),
            ("清运固废并开展土壤检测", "清理废渣并进行防渗处理"),
        ),
        _T(
            ("渣土场",),
            ("非法倾倒建筑垃圾和固废", "非法填埋固废"),
            ("周边农田无法耕种",),
            ("现场发现该处堆放建筑垃圾约{tons}吨",),
            ("清运建筑垃圾并平整复绿",),
        ),
    ),
    "其他": (
        _T(
            ("垃圾中转站", "垃圾填埋场"),
            ("垃圾堆放发臭、渗滤液外流",),
            ("蚊蝇滋生", "影响周边环境卫生"),
            ("现场发现垃圾清运不及时，渗滤液收集池破损",),
            ("加快垃圾清运并修复渗滤液收集池",),
        ),
        _T(
            ("废品回收站",),
            ("废旧物资露天堆放、焚烧电缆皮",),
            ("影响周边环境卫生", "焚烧时黑烟滚滚"),
            ("现场发现该回收站废旧物资露天堆放，地面有焚烧痕迹",),
            ("规范物资堆放并禁止露天焚烧",),
        ),
    ),
    "辐射": (
        _T(
            ("通信基站",),
            ("基站辐射影响居民健康",),
            ("居民担心影响身体健康",),
            ("经监测，基站周边电磁环境符合国家标准，但运营单位未按要求公开监测信息",),
            ("公开监测结果并做好解释工作",),
        ),
        _T(
            ("医院放射科",),
            ("辐射防护措施不到位",),
            ("居民担心影响身体健康",),
            ("现场发现该科室辐射警示标识缺失",),
            ("完善辐射防护设施和警示标识",),
        ),
    ),
}
# A second problem in a two-type complaint: reads after any polluter.
SECOND_PROBLEMS = {
    "水": "废水直排附近河道",
    "大气": "废气异味扰民",
    "噪声": "夜间生产噪声扰民",
    "生态": "破坏周边植被",
    "土壤": "废渣随意堆放",
    "其他": "垃圾随意堆放",
    "辐射": "辐射防护不到位",
}
SECTOR_OFFICES = {
    "生态": ("自然资源局", "水利局", "林业局"),
    "噪声": ("住房和城乡建设局", "城市管理局"),
    "其他": ("城市管理局",),
    "水": ("水利局", "农业农村局"),
}

TOWNS = ("莲花", "白沙", "黄花", "永安", "金井", "桥头", "高塘", "新市", "石湾", "大坪", "花桥", "梅田")
VILLAGES = ("桃花", "石门", "新塘", "杨柳", "枫林", "青山", "龙泉", "凤凰", "梅溪", "兴隆", "长岭", "双江")
ESTATES = ("金桂园", "翠竹苑", "枫林雅苑", "阳光花园", "锦绣华庭", "书香名邸", "碧水蓝湾", "学府佳苑")
PARKS = ("金霞", "新港", "城南", "沿江", "临港", "龙岭")
ROADS = ("建设", "人民", "解放", "迎宾", "新华", "劳动", "车站", "环城", "滨江")
BRANDS = ("鑫达", "恒发", "宏远", "永盛", "利民", "顺通", "金源", "德丰", "大成", "新宇", "众鑫", "振邦")
DURATIONS = ("", "", "长期", "近半年来", "自去年以来", "每天夜间", "近两个月来", "一直")
# How a complaint goes on after what it is about: drawn in parts, so that no closing
# sentence repeats word for word through the round (a real round has thousands of texts).
CLOSINGS = (
    (
        ("该问题已存在", "这种情况已持续", "此问题已反映"),
        ("多年", "两三年", "十余年", "大半年", "好几年"),
        ("，当地一直未彻底解决", "，多次整治后又反弹", "，相关部门来看过但一直没有处理", "，至今没有改善"),
    ),
    (
        ("举报人称曾多次拨打", "来电人表示已向", "群众称多次通过"),
        ("12345热线", "12369环保热线", "市长信箱", "乡镇政府"),
        ("反映，问题依旧", "反映，至今无人处理", "投诉，但没有结果", "反映，对方只是敷衍"),
    ),
    (
        ("附近还有一所", "离此处不远有一所", "周边有"),
        ("小学", "幼儿园", "中学", "卫生院", "养老院"),
        ("，师生深受其害", "，孩子们每天经过", "，影响很大", "，老人和孩子受影响最大"),
    ),
    (
        ("雨天时", "夏季", "夜间", "周末", "每逢赶集时", "刮风时"),
        ("情况更为严重", "气味尤其明显", "问题更加突出", "影响最大"),
        ("", "，居民苦不堪言", "，已严重影响正常生活"),
    ),
    (
        ("举报人", "来电人", "来信人", "周边群众", "附近村民"),
        ("希望", "要求", "恳请", "请求"),
        (
            "有关部门尽快查处",
            "依法查处并公开处理结果",
            "督察组督促当地彻底整改",
            "尽快还大家一个良好的环境",
            "相关部门加强监管",
            "彻底关停该企业",
        ),
    ),
)


ROUND_FINES = (5000, 10000, 20000, 25000, 30000, 50000, 100000, 200000)


# --- the plan: cases, their results, the sheets to write --------------------------------------


@dataclass(frozen=True)
class Story:
    """What a complaint is about; a repeated complaint reuses its original's story."""

    pollution_types: tuple[str, ...]
    topic: Topic  # of the first pollution type
    place: str
    polluter: str
    problems: tuple[str, ...]  # one per pollution type
    consequence: str


@dataclass(frozen=True)
class Result:
    day: int  # day index on which the result is published
    verified: str
    findings: str
    target: str
    handling: str
    status: str
    accountability: str
    penalties: dict[str, int | float]


@dataclass
class Case:
    case_id: str
    batch_no: int
    city: str
    county: str  # "" when the region is the city alone
    story: Story
    summary: str
    types_text: str
    key_case: bool
    duplicate_of: str
    seq: int = 0
    results: list[Result] = field(default_factory=list)
    dirty: bool = False  # carries a deliberate fault: never referenced by a repeat

    @property
    def region(self) -> str:
        return self.city + self.county


@dataclass
class Sheet:
    name: str  # file name
    day: int
    sheet: str
    title: str
    columns: list[Column]
    rows: list[dict[str, object] | None]  # None: a blank row
    notes: str | None
    created: dt.datetime
    subtitle: str | None = None  # a second title row (填报单位, 填报日期)
    # A two-row header: (group label, first field, last field) over the columns between.
    groups: tuple[tuple[str, str, str], ...] = ()
    merge_down: str | None = None  # a field whose runs of one value are merged down (行政区域)


@dataclass(frozen=True)
class Profile:
    """The inspection as the generator needs it, with fallbacks for a generic profile."""

    inspection: Inspection
    start: dt.date
    round: int
    province_code: str
    regions: tuple[Region, ...]
    type_weights: dict[str, int]
    layout_columns: tuple[Column, ...]
    extra_columns: tuple[Column, ...]
    title: str  # the layout's title template

    @property
    def columns(self) -> list[Column]:
        return [*self.layout_columns, *self.extra_columns]

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=index)


# --- public API -------------------------------------------------------------------------------


def generate(
    landing_root: Path,
    inspection_id: str = DEFAULT_INSPECTION,
    days: int = 10,
    seed: int = 7,
    progress: bool | None = None,
) -> SampleSummary:
    """Write ``days`` days of sample workbooks under ``landing_root/<inspection_id>/<date>/``."""
    if not 1 <= days <= 999:
        raise ValueError(f"days must be 1..999, got {days}")
    profile = build_profile(get_inspection(inspection_id))
    sheets, dirty = plan(profile, days, random.Random(seed))
    root = Path(landing_root) / inspection_id
    show = sys.stderr.isatty() if progress is None else progress
    files = _write_all(root, profile, sheets, days, show)
    rows = [row for sheet in sheets for row in sheet.rows if row is not None]
    case_ids = {row["case_id"] for row in rows if row.get("case_id")}
    return SampleSummary(
        inspection_id=inspection_id,
        days=days,
        files=files,
        cases=len(case_ids),
        rows=len(rows),
        dirty=dirty,
    )


def build_profile(inspection: Inspection) -> Profile:
    fallback = registry().get(DEFAULT_INSPECTION)
    regions = inspection.regions or (fallback.regions if fallback else ())
    if not regions:
        raise ValueError(f"inspection {inspection.id}: no regions to draw cases from")
    layout = layouts()[inspection.layout]
    contract = load_contract()
    extra = []
    for name in EXTRA_FIELDS:
        label = contract.fields[name].label
        if name == "fine_amount":
            label = f"{label}（{inspection.fine_unit}）"
        extra.append(Column(name, label, 10))
    return Profile(
        inspection=inspection,
        start=inspection.period_start or DEFAULT_START,
        round=inspection.round or (fallback.round if fallback and fallback.round else 3),
        province_code=inspection.province_code or (fallback.province_code if fallback else None) or "HN",
        regions=regions,
        type_weights={t: TYPE_WEIGHTS.get(t, OTHER_TYPE_WEIGHT) for t in inspection.pollution_types},
        layout_columns=tuple(Column(c.field, c.header, int(c.width)) for c in layout.columns),
        extra_columns=tuple(extra),
        title=layout.title,
    )


def batch_file_name(batch_no: int) -> str:
    return f"{batch_label(batch_no)}交办清单.xlsx"


def update_file_name(day: dt.date) -> str:
    return f"办理情况更新（{cn_date(day)}）.xlsx"


# --- planning ---------------------------------------------------------------------------------


def plan(profile: Profile, days: int, rng: random.Random) -> tuple[list[Sheet], list[str]]:
    """Every sheet to write (batch files in day order, update files after) and the faults."""
    city_weights = [3.0] + [rng.uniform(0.6, 1.6) for _ in profile.regions[1:]]  # the capital leads
    history: list[Case] = []
    batches: list[Sheet] = []
    extras: list[Sheet] = []
    dirty: list[str] = []
    for index in range(days):
        cases = _new_batch(profile, index, rng, city_weights, history)
        sheet = _batch_sheet(profile, index, cases)
        _clerk_habits(index, rng, sheet, cases)
        extra = _apply_faults(profile, index, rng, sheet, cases, city_weights, dirty)
        if extra:
            extras.append(extra)
        batches.append(sheet)
        history.extend(cases)
    updates: list[Sheet] = []
    for index in range(days):
        due = _due(index, history)
        city = feedback_city(profile.regions, index)
        if city:  # that city sends its own file; the province's table carries the others
            own = [pair for pair in due if pair[0].city == city]
            updates.extend(_feedback_sheets(profile, index, city, own))
            due = [pair for pair in due if pair[0].city != city]
        if due:
            updates.append(_update_sheet(profile, index, due))
    return [*batches, *updates, *extras], dirty


def _new_batch(
    profile: Profile, index: int, rng: random.Random, city_weights: list[float], history: list[Case]
) -> list[Case]:
    batch_no = index + 1
    count = round(rng.triangular(MIN_CASES, MAX_CASES, 140))
    received = profile.day(index) - dt.timedelta(days=1)  # the batch goes out the day after intake
    channels = ["D" if rng.random() < 0.7 else "X" for _ in range(count)]
    ids: list[str] = []
    for channel in ("D", "X"):
        n = channels.count(channel)
        # Daily sequences have gaps: not every call or letter becomes a transferred case.
        for seq in sorted(rng.sample(range(1, int(n * 1.4) + 2), n)):
            ids.append(f"{channel}{profile.round}{profile.province_code}{received:%Y%m%d}{seq:04d}")
    earlier = [c for c in history if not c.dirty and not c.duplicate_of]
    cases = [_new_case(profile, batch_no, case_id, rng, city_weights, earlier) for case_id in ids]
    order = {r.name: i for i, r in enumerate(profile.regions)}
    cases.sort(key=lambda c: (order[c.city], c.case_id))  # published tables group by city
    for seq, case in enumerate(cases, start=1):
        case.seq = seq
        case.results = _results(profile, index, case, rng)
    if index == 0:
        # Every form of personal data the masker claims, once each in the first batch, so
        # a sweep of the published files proves something. A generator of their own per
        # case: the rest of the sample stays as it was.
        for i, make in enumerate(PERSONAL_FORMS):
            case = cases[(i * 7) % len(cases)]
            case.summary += make(random.Random(case.case_id))
    return cases


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + _digits(rng, 9)


def _cn_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "〇一二三四五六七八九"))


def _split(number: str, sep: str) -> str:
    return sep.join((number[:3], number[3:7], number[7:]))


# What complainants really write into a complaint: each form of personal data masked
# before publication (disclosure/redact.py).
PERSONAL_FORMS = (
    lambda r: f"（举报人电话{_mobile(r)}）",
    lambda r: f"（联系电话：{_split(_mobile(r), ' ')}）",
    lambda r: f"（来电人手机+86 {_split(_mobile(r), '-')}）",
    lambda r: f"（举报人手机{_split(_mobile(r), '.')}）",
    lambda r: f"（电话：{_cn_digits(_mobile(r))}）",
    lambda r: f"（座机0731-{_digits(r, 4)} {_digits(r, 4)}）",
    lambda r: (
        f"（身份证号430102 19{r.randint(60, 99)}0{r.randint(1, 9)}1{r.randint(0, 9)} {_digits(r, 3)}X）"
    ),
    lambda r: f"（身份证号430104-19{r.randint(60, 99)}1{r.randint(0, 2)}2{r.randint(0, 8)}-{_digits(r, 4)}）",
    lambda r: f"（举报人QQ号{r.randint(10**5, 10**10)}）",
    lambda r: f"（微信号wx_{''.join(r.choice('abcdefghjkmnpqrstuvwxyz') for _ in range(6))}{_digits(r, 2)}）",
    lambda r: f"（邮箱zhang{_digits(r, 3)}＠qq．com）",
    lambda r: f"（卡号6222 0212 {_digits(r, 4)} {_digits(r, 4)}）",
)


def _new_case(
    profile: Profile,
    batch_no: int,
    case_id: str,
    rng: random.Random,
    city_weights: list[float],
    earlier: list[Case],
) -> Case:
    key_case = rng.random() < 0.07
    if earlier and rng.random() < 0.02:
        original = rng.choice(earlier)
        return Case(
            case_id=case_id,
            batch_no=batch_no,
            city=original.city,
            county=original.county,
            story=original.story,
            summary=_repeat_summary(rng, original.story),
            types_text=original.types_text,
            key_case=key_case,
            duplicate_of=original.case_id,
        )
    region = rng.choices(profile.regions, weights=city_weights)[0]
    county = rng.choice(region.counties) if region.counties and rng.random() < 0.88 else ""
    story = _story(profile, rng, county)
    summary = _summary(rng, story)
    if rng.random() < 0.01:  # the pipeline must mask these before publication
        summary += f"（举报人电话1{rng.choice('3589')}{rng.randrange(10**9):09d}）"
    return Case(
        case_id=case_id,
        batch_no=batch_no,
        city=region.name,
        county=county,
        story=story,
        summary=summary,
        types_text=rng.choice(("、", "，")).join(story.pollution_types),
        key_case=key_case,
        duplicate_of="",
    )


def _story(profile: Profile, rng: random.Random, county: str) -> Story:
    types = list(profile.type_weights)
    weights = list(profile.type_weights.values())
    first = rng.choices(types, weights=weights)[0]
    chosen = [first]
    if len(types) > 1 and rng.random() < 0.2:
        others = [(t, w) for t, w in zip(types, weights, strict=True) if t != first]
        chosen.append(rng.choices([t for t, _ in others], weights=[w for _, w in others])[0])
    topic = rng.choice(TOPICS.get(first, TOPICS["其他"]))
    seconds = [SECOND_PROBLEMS.get(t, SECOND_PROBLEMS["其他"]) for t in chosen[1:]]
    return Story(
        pollution_types=tuple(chosen),
        topic=topic,
        place=_place(rng, county),
        polluter=rng.choice(BRANDS) + rng.choice(topic.polluters),
        problems=(rng.choice(topic.problems), *seconds),
        consequence=rng.choice(topic.consequences),
    )


def _place(rng: random.Random, county: str) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        place = f"{rng.choice(TOWNS)}镇{rng.choice(VILLAGES)}村"
        if rng.random() < 0.4:
            place += f"{rng.randint(1, 12)}组"
    elif kind == 1:
        place = f"{rng.choice(ESTATES)}小区"
    elif kind == 2:
        place = f"{rng.choice(PARKS)}工业园"
    else:
        first, second = rng.sample(ROADS, 2)
        place = f"{first}路与{second}路交叉口" if rng.random() < 0.5 else f"{first}路{rng.randint(1, 399)}号"
    return (county + place) if county and rng.random() < 0.5 else place


def _problems_text(story: Story) -> str:
    return "，同时".join(story.problems)


def _summary(rng: random.Random, story: Story) -> str:
    where, who, cons = story.place, story.polluter, story.consequence
    what = rng.choice(DURATIONS) + _problems_text(story)
    templates = (
        f"{where}{who}{what}，{cons}。",
        f"举报人反映，{where}的{who}{what}，{cons}，多次向当地有关部门反映未果。",
        f"{where}附近的{who}{what}，{cons}。",
        f"反映{where}{who}{what}。{cons}。",
        f"{who}位于{where}，{what}，{cons}。",
        f"群众反映{where}有一家{who}，{what}。",
    )
    text = rng.choice(templates)
    for closing in rng.sample(CLOSINGS, rng.choice((0, 1, 1, 2))):
        text += "".join(rng.choice(choices) for choices in closing) + "。"
    return text


def _repeat_summary(rng: random.Random, story: Story) -> str:
    where = story.place + story.polluter
    text = f"群众再次反映：{where}{_problems_text(story)}的问题仍未解决，{story.consequence}。"
    if rng.random() < 0.5:
        text += rng.choice(("此前已向督察组反映过，", "上次反映后，", "去年整改后，")) + rng.choice(
            ("整改不到位。", "问题又出现了。", "情况没有好转。", "企业又恢复了生产。")
        )
    return text


# --- handling results -------------------------------------------------------------------------


def _results(profile: Profile, index: int, case: Case, rng: random.Random) -> list[Result]:
    """The published updates of a case: a first result 3–8 days after its batch, and for a
    阶段性办结 case often a closing one 2–4 days later. Drawn whether or not they fall within
    the generated days, so that day i never depends on ``days``."""
    first_day = index + rng.randint(3, 8)
    verified = rng.choices(list(VERIFIED_WEIGHTS), weights=list(VERIFIED_WEIGHTS.values()))[0]
    if verified == "不属实":
        status = CLOSED if rng.random() < 0.9 else PARTLY_CLOSED
    else:
        status = CLOSED if rng.random() < 0.4 else PARTLY_CLOSED
    penalties = _penalties(profile, rng, verified)
    findings = _findings(profile, rng, case, verified, index, first_day)
    target = _target(profile, rng, verified, first_day)
    first = Result(
        day=first_day,
        verified=verified,
        findings=findings,
        target=target,
        handling=_handling(profile, rng, case, verified, status, penalties, target),
        status=status,
        accountability=_accountability(rng, case, penalties),
        penalties=penalties,
    )
    results = [first]
    if status == PARTLY_CLOSED and rng.random() < 0.7:
        closing = _handling(profile, rng, case, verified, CLOSED, penalties, target)
        results.append(replace(first, day=first_day + rng.randint(2, 4), status=CLOSED, handling=closing))
    return results


def _penalties(profile: Profile, rng: random.Random, verified: str) -> dict[str, int | float]:
    out: dict[str, int | float] = dict.fromkeys(PENALTY_FIELDS, 0)
    if verified == "不属实" or rng.random() > 0.45:
        return out
    out["rectify_orders"] = 2 if rng.random() < 0.1 else 1
    if rng.random() < 0.4:
        out["penalty_cases"] = 1
        fine = rng.choice(ROUND_FINES) if rng.random() < 0.7 else round(rng.uniform(3000, 300000), 2)
        out["fine_amount"] = fine if profile.inspection.fine_unit == "元" else round(fine / 10000, 4)
    if rng.random() < 0.03:
        out["criminal_investigations"] = 1
        out["criminal_detentions"] = rng.randint(0, 2)
    if rng.random() < 0.01:
        out["admin_detentions"] = rng.randint(1, 2)
    if rng.random() < 0.06:
        out["interviews"] = rng.randint(1, 3)
    if rng.random() < 0.02:
        out["accountable_persons"] = rng.randint(1, 2)
    return out


def _env_office(case: Case) -> str:
    if not case.county:
        return f"{case.city}生态环境局"
    short = case.county[:-1] if len(case.county) > 2 else case.county
    return f"{case.city}生态环境局{short}分局"


def _sector_office(rng: random.Random, case: Case) -> str | None:
    offices = SECTOR_OFFICES.get(case.story.pollution_types[0])
    if not offices or rng.random() < 0.4:
        return None
    return (case.county or case.city) + rng.choice(offices)


def _findings(profile: Profile, rng: random.Random, case: Case, verified: str, index: int, day: int) -> str:
    story = case.story
    visited = profile.day(rng.randint(index + 1, max(index + 1, day - 1)))
    team = _env_office(case)
    if sector := _sector_office(rng, case):
        team += f"会同{sector}"
    text = f"经调查核实，{cn_month_day(visited)}，{team}对{story.place}{story.polluter}开展现场核查。"
    fact = rng.choice(story.topic.facts).format(
        n=round(rng.uniform(0.2, 3.5), 1),
        db=rng.randint(58, 68),
        area=rng.randint(200, 5000),
        tons=rng.randint(5, 300),
    )
    problem = story.problems[0]
    if verified == "属实":
        text += f"{fact}。群众反映问题属实。"
    elif verified == "基本属实":
        text += f"{fact}，但问题程度较群众反映的轻。群众反映问题基本属实。"
    elif verified == "部分属实":
        text += f"群众反映的“{problem}”问题属实，{fact}；反映的“{story.consequence}”问题经现场核查不属实。"
    else:
        text += (
            f"现场检查时，{story.polluter}未发现群众反映的{problem}现象，"
            f"经走访周边群众{rng.randint(5, 30)}户，均表示未发现相关问题。群众反映问题不属实。"
        )
    return text


def _target(profile: Profile, rng: random.Random, verified: str, day: int) -> str:
    if verified == "不属实":
        return "加强日常监管，长期坚持"
    due = profile.day(day + rng.randint(10, 60))
    return rng.choice(
        (
            f"{cn_date(due)}前完成整改",
            "立行立改，长期坚持",
            f"{due.year}年12月31日前完成整改",
            "立即整改，并建立长效监管机制",
        )
    )


def _fine_text(profile: Profile, fine: int | float) -> str:
    return f"{fine}{profile.inspection.fine_unit}"


def _handling(
    profile: Profile,
    rng: random.Random,
    case: Case,
    verified: str,
    status: str,
    penalties: dict[str, int | float],
    target: str,
) -> str:
    story, office = case.story, _env_office(case)
    if verified == "不属实":
        return f"处理情况：无。整改情况：{office}将加强日常巡查，及时回应群众关切。"
    if penalties["penalty_cases"]:
        done = f"{office}对{story.polluter}立案处罚，罚款{_fine_text(profile, penalties['fine_amount'])}"
    elif penalties["rectify_orders"]:
        done = f"{office}向{story.polluter}下达《责令改正违法行为决定书》"
    else:
        done = f"{office}督促{story.polluter}立即整改"
    if penalties["criminal_investigations"]:
        done += "；公安机关已立案侦查"
    action = rng.choice(story.topic.actions)
    if status == CLOSED:
        fixed = f"{story.polluter}已完成{action}，经复查，问题已整改到位"
    else:
        fixed = f"{story.polluter}正在{action}，整改目标：{target}"
    return f"处理情况：{done}。整改情况：{fixed}。"


def _accountability(rng: random.Random, case: Case, penalties: dict[str, int | float]) -> str:
    parts = []
    where = case.county or case.city
    if penalties["interviews"]:
        parts.append(f"约谈{where}{rng.choice(TOWNS)}镇相关负责人{penalties['interviews']}人")
    if penalties["accountable_persons"]:
        parts.append(f"对{where}相关部门{penalties['accountable_persons']}名责任人予以问责")
    return "；".join(parts) or "无"


# --- sheets -----------------------------------------------------------------------------------


def _case_row(case: Case, result: Result | None) -> dict[str, object]:
    row: dict[str, object] = {
        "seq": case.seq,
        "case_id": case.case_id,
        "summary": case.summary,
        "region": case.region,
        "pollution_types": case.types_text,
        "key_case": KEY_MARKS[case.batch_no % len(KEY_MARKS)][0 if case.key_case else 1],
        "duplicate_of": case.duplicate_of,
        "status": NEW_STATUS,
    }
    if result is not None:
        row |= {
            "findings": result.findings,
            "verified": result.verified,
            "target": result.target,
            "handling": result.handling,
            "status": result.status,
            "accountability": result.accountability,
            **result.penalties,
        }
    return row


# Every TRANSFER_EVERY-th batch arrives as the team's own 转办清单: the case and where it
# is, nothing about its handling yet.
TRANSFER_EVERY = 4
TRANSFER_FIELDS = ("seq", "case_id", "summary", "region", "pollution_types", "key_case")


def is_transfer_list(index: int) -> bool:
    return index % TRANSFER_EVERY == TRANSFER_EVERY - 1


def _batch_sheet(profile: Profile, index: int, cases: list[Case]) -> Sheet:
    batch_no, day = index + 1, profile.day(index)
    label = batch_label(batch_no)
    mark = KEY_MARKS[batch_no % len(KEY_MARKS)][0]
    if is_transfer_list(index):
        return Sheet(
            name=batch_file_name(batch_no),
            day=index,
            sheet=label,
            title=f"{profile.inspection.name}{label}转办群众信访举报件清单（{cn_date(day)} 共{len(cases)}件）",
            columns=[c for c in profile.columns if c.field in TRANSFER_FIELDS],
            rows=[{f: v for f, v in _case_row(case, None).items() if f in TRANSFER_FIELDS} for case in cases],
            notes=f"注：请于{profile.inspection.conventions.feedback_days}日内反馈查处整改情况；"
            f"“重点关注”为“{mark}”的为重点件。（此行非数据）",
            created=dt.datetime.combine(day, dt.time(17, 0)),
        )
    return Sheet(
        name=batch_file_name(batch_no),
        day=index,
        sheet=label,
        # The team's list states its count: a row later rejected is still counted.
        title=profile.title.format(batch_label=label, batch_date=cn_date(day)).removesuffix("）")
        + f" 共{len(cases)}件）",
        columns=profile.columns,
        rows=[_case_row(case, None) for case in cases],
        notes=f"注：1.本表所列为{label}交办信访件，调查核实和处理整改情况将陆续公开；"
        f"2.“重点关注”为“{mark}”的为重点件。（此行非数据）",
        created=dt.datetime.combine(day, dt.time(18, 0)),
    )


def _due(index: int, cases: list[Case]) -> list[tuple[Case, Result]]:
    """The results published on day ``index``, in batch and 序号 order."""
    due = [(case, r) for case in cases for r in case.results if r.day == index]
    due.sort(key=lambda pair: (pair[0].batch_no, pair[0].seq))
    return due


def _update_sheet(profile: Profile, index: int, due: list[tuple[Case, Result]]) -> Sheet:
    day = profile.day(index)
    batch_column = Column("batch", load_contract().fields["batch"].label, 8)
    return Sheet(
        name=update_file_name(day),
        day=index,
        sheet="办理情况更新",
        title=f"群众信访举报办理情况更新表（{cn_date(day)}）",
        columns=[batch_column, *profile.columns],
        rows=[{"batch": batch_label(case.batch_no), **_case_row(case, r)} for case, r in due],
        notes="注：本表公开此前各批次交办件的最新办理情况，序号为原批次序号。（此行非数据）",
        created=dt.datetime.combine(day, dt.time(20, 0)),
    )


# --- a city's own feedback file ---------------------------------------------------------------

FEEDBACK_FROM = 4  # from day 5 on, every other day one city sends its results itself
FEEDBACK_XLS_EVERY = 4  # … and every second such file is an .xls saved by WPS
# The city's columns: its own 序号, the headers its office uses, a two-row header with
# groups, and its staff's contact columns (never read: contract internal_columns).
FEEDBACK_COLUMNS = (
    Column("seq", "序号", 6),
    Column("case_id", "受理编号", 20),
    Column("summary", "交办问题基本情况", 40),
    Column("region", "行政区域", 12),
    Column("findings", "核查情况", 40),
    Column("verified", "是否属实", 8),
    Column("target", "整改目标", 16),
    Column("handling", "处理情况", 40),
    Column("status", "办理状态", 10),
    *(Column(name, load_contract().fields[name].label, 8) for name in PENALTY_FIELDS),
    Column("accountability", "问责情况", 16),
    Column("unit", "责任单位", 16),
    Column("contact", "联系人", 8),
    Column("contact_phone", "联系电话", 14),
)
FEEDBACK_GROUPS = (
    ("调查核实情况", "findings", "verified"),
    ("处理和整改情况", "target", "status"),
    ("查处情况", PENALTY_FIELDS[0], PENALTY_FIELDS[-1]),
)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def feedback_city(regions: tuple[Region, ...], index: int) -> str | None:
    """The city that sends its own feedback file on day ``index``, if any."""
    if index < FEEDBACK_FROM or index % 2 or len(regions) < 2:
        return None
    others = regions[1:]  # not the capital: its cases open each batch, 序号 1, 2 …
    return others[(index // 2) % len(others)].name


def feedback_file_name(city: str, index: int, day: dt.date) -> str:
    ext = ".xls" if (index // 2) % (FEEDBACK_XLS_EVERY // 2) == 0 else ".xlsx"
    return f"{city}信访件办理情况反馈表（{cn_date(day)}）{ext}"


def _feedback_sheets(profile: Profile, index: int, city: str, due: list[tuple[Case, Result]]) -> list[Sheet]:
    """One sheet per batch, each numbered from 1, the city's office and contact on every
    row, summaries cut to their first sentence, the region merged down its rows."""
    day = profile.day(index)
    rng = random.Random(f"{city}{index}")  # its own: day i must not depend on how many days run
    name = feedback_file_name(city, index, day)
    contact = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN))
    phone = _mobile(rng)
    columns = [
        replace(c, header=f"{c.header}（{profile.inspection.fine_unit}）") if c.field == "fine_amount" else c
        for c in FEEDBACK_COLUMNS
    ]
    sheets = []
    for batch_no in sorted({case.batch_no for case, _ in due}):
        pairs = sorted((p for p in due if p[0].batch_no == batch_no), key=lambda p: (p[0].region, p[0].seq))
        rows: list[dict[str, object] | None] = []
        for seq, (case, result) in enumerate(pairs, start=1):
            row = _case_row(case, result)
            first, _, rest = case.summary.partition("。")
            rows.append(
                row
                | {
                    "seq": seq,
                    "summary": first + "。" if rest else case.summary,
                    "unit": f"{case.region}人民政府",
                    "contact": contact,
                    "contact_phone": phone,
                }
            )
        sheets.append(
            Sheet(
                name=name,
                day=index,
                sheet=batch_label(batch_no),
                title=f"{city}群众信访举报件办理情况反馈表",
                subtitle=f"填报单位：{city}生态环境保护督察整改工作领导小组办公室    填报日期：{cn_date(day)}",
                columns=columns,
                rows=rows,
                notes=None,
                created=dt.datetime.combine(day, dt.time(19, 0)),
                groups=FEEDBACK_GROUPS,
                merge_down="region",
            )
        )
    return sheets


# --- how clerks write -------------------------------------------------------------------------

TRADITIONAL_BATCH = 4  # a batch typed partly on a Traditional-character system


def _clerk_habits(index: int, rng: random.Random, sheet: Sheet, cases: list[Case]) -> None:
    """Not faults: what real files hold. In one batch, some complaints are typed in
    Traditional characters (free text is published as written), and stay so in every
    later file about them."""
    if index + 1 != TRADITIONAL_BATCH:
        return
    from ducha.text import traditional

    firsts = [c for c in cases if not c.duplicate_of]  # a repeat reads "群众再次反映…" as sent
    for case in rng.sample(firsts, k=max(1, len(firsts) // 8)):
        case.summary = traditional(case.summary)
        sheet.rows[case.seq - 1]["summary"] = case.summary


# --- deliberate faults ------------------------------------------------------------------------


def _apply_faults(
    profile: Profile,
    index: int,
    rng: random.Random,
    sheet: Sheet,
    cases: list[Case],
    city_weights: list[float],
    dirty: list[str],
) -> Sheet | None:
    where = f"{profile.day(index):%Y-%m-%d}/{sheet.name}"
    if index == 2:
        case = rng.choice(cases)
        case.dirty = True
        fields = {c.field for c in sheet.columns}
        name, value = ("status", INVALID_STATUS) if "status" in fields else ("verified", INVALID_VERIFIED)
        sheet.rows[case.seq - 1][name] = value
        dirty.append(
            f"{where}: row 序号 {case.seq} (case {case.case_id}) has an invalid {name} value '{value}'"
        )
    elif index == 4:
        case = rng.choice(cases)
        case.dirty = True
        # The real-world shape "D3600797202309080106": a 6-digit code where the province goes.
        received = profile.day(index) - dt.timedelta(days=1)
        case.case_id = f"{case.case_id[:2]}{rng.randint(100000, 999999)}{received:%Y%m%d}{case.case_id[-4:]}"
        sheet.rows[case.seq - 1]["case_id"] = case.case_id
        dirty.append(f"{where}: case_id {case.case_id} (row 序号 {case.seq}) is in a non-standard form")
    elif index == 5:
        _traditional_headers(sheet)
        gap = len(sheet.rows) // 2
        sheet.rows.insert(gap, None)
        dirty.append(
            f"{where}: headers in Traditional characters, line breaks inside two header cells "
            f"(受理\\n編號, 是否\\n屬實), and a blank row between data rows 序号 {gap} and {gap + 1}"
        )
    elif index == 6:
        k = rng.randrange(len(cases) - 1)
        kept, lost = cases[k], cases[k + 1]
        lost.dirty, lost.results = True, []  # its real ID was never published
        sheet.rows[k + 1]["case_id"] = kept.case_id
        dirty.append(
            f"{where}: case_id {kept.case_id} appears twice (rows 序号 {kept.seq} and {lost.seq}) "
            "with different complaints"
        )
    elif index == 7:
        extra = _extra_sheet(profile, index, rng, city_weights)
        dirty.append(
            f"{profile.day(index):%Y-%m-%d}/{extra.name}: no 受理编号 column ({len(extra.rows)} rows): "
            "a file-level error, the whole file goes to quarantine"
        )
        return extra
    return None


def _traditional_headers(sheet: Sheet) -> None:
    from ducha.text import traditional

    columns = []
    for col in sheet.columns:
        # Hong Kong / Taiwan sites write 核實, not opencc's 覈實.
        header = traditional(col.header).replace("覈", "核")
        if col.field in ("case_id", "verified"):  # a line break where the cell wraps
            header = header[:2] + "\n" + header[2:]
        columns.append(replace(col, header=header))
    sheet.columns = columns
    sheet.sheet = traditional(sheet.sheet)


def _extra_sheet(profile: Profile, index: int, rng: random.Random, city_weights: list[float]) -> Sheet:
    day = profile.day(index)
    columns = [
        c for c in profile.layout_columns if c.field in ("seq", "summary", "region", "pollution_types")
    ]
    columns.append(Column("remarks", load_contract().fields["remarks"].label, 16))
    rows: list[dict[str, object] | None] = []
    for seq in range(1, rng.randint(3, 6) + 1):
        region = rng.choices(profile.regions, weights=city_weights)[0]
        county = rng.choice(region.counties) if region.counties else ""
        story = _story(profile, rng, county)
        rows.append(
            {
                "seq": seq,
                "summary": _summary(rng, story),
                "region": region.name + county,
                "pollution_types": TYPE_SEPARATOR.join(story.pollution_types),
                "remarks": "补报",
            }
        )
    return Sheet(
        name=EXTRA_FILE,
        day=index,
        sheet="Sheet1",
        title=f"补报信访件材料（{cn_date(day)}）",
        columns=columns,
        rows=rows,
        notes=None,
        created=dt.datetime.combine(day, dt.time(21, 0)),
    )


# --- writing ----------------------------------------------------------------------------------


def _write_all(root: Path, profile: Profile, sheets: list[Sheet], days: int, show: bool) -> list[Path]:
    from rich.console import Console
    from rich.progress import Progress

    # Sheets of one file name on one day are the sheets of one workbook, in order.
    books: dict[int, dict[str, list[Sheet]]] = {}
    for sheet in sheets:
        books.setdefault(sheet.day, {}).setdefault(sheet.name, []).append(sheet)
    files: list[Path] = []
    with Progress(console=Console(stderr=True), transient=True, disable=not show) as bar:
        task = bar.add_task(f"生成样例数据 {profile.inspection.id}", total=days)
        for index in range(days):
            folder = root / f"{profile.day(index):%Y-%m-%d}"
            folder.mkdir(parents=True, exist_ok=True)
            for name, book in books.get(index, {}).items():
                path = folder / name
                write_book(path, book)
                files.append(path)
            bar.advance(task)
    return files


# Where each cell goes: (row, column, value, style) and merged ranges (r0, c0, r1, c1, value,
# style), worked out once and drawn by either writer.
_Cell = tuple[int, int, object, str]
_Merge = tuple[int, int, int, int, object, str]


def _layout(sheet: Sheet) -> tuple[list[_Cell], list[_Merge], int]:
    """A merged title row (and subtitle), the header in one row or two (groups over
    sub-columns, other headers merged down both rows), data rows with runs of one
    ``merge_down`` value merged, a merged notes row; and the first data row."""
    last = len(sheet.columns) - 1
    cells: list[_Cell] = []
    merges: list[_Merge] = [(0, 0, 0, last, sheet.title, "title")]
    r = 1
    if sheet.subtitle:
        merges.append((1, 0, 1, last, sheet.subtitle, "sub"))
        r = 2
    index = {col.field: c for c, col in enumerate(sheet.columns)}
    grouped = {}
    for label, first, end in sheet.groups:
        c0, c1 = index[first], index[end]
        merges.append((r, c0, r, c1, label, "head"))
        grouped |= dict.fromkeys(range(c0, c1 + 1), label)
    depth = 2 if sheet.groups else 1
    for c, col in enumerate(sheet.columns):
        if c in grouped:
            cells.append((r + 1, c, col.header, "head"))
        elif depth == 2:
            merges.append((r, c, r + 1, c, col.header, "head"))
        else:
            cells.append((r, c, col.header, "head"))
    start = r = r + depth
    merged_col = index.get(sheet.merge_down) if sheet.merge_down else None
    runs: dict[int, int] = {}  # first row of a run -> its last row
    if merged_col is not None:
        field = sheet.merge_down
        values = [None if row is None else row.get(field) for row in sheet.rows]  # type: ignore[arg-type]
        i = 0
        while i < len(values):
            j = i
            while j + 1 < len(values) and values[i] not in (None, "") and values[j + 1] == values[i]:
                j += 1
            if j > i:
                runs[start + i] = start + j
            i = j + 1
    covered: set[int] = set()
    for row in sheet.rows:
        if row is not None:
            for c, col in enumerate(sheet.columns):
                if c == merged_col and r in runs:
                    merges.append((r, c, runs[r], c, row.get(col.field), "body"))
                    covered |= set(range(r + 1, runs[r] + 1))
                elif c != merged_col or r not in covered:
                    cells.append((r, c, row.get(col.field), "body"))
        r += 1
    if sheet.notes:
        merges.append((r, 0, r, last, sheet.notes, "note"))
    return cells, merges, start


def write_book(path: Path, sheets: list[Sheet]) -> None:
    """One workbook of one or more sheets: .xlsx by xlsxwriter, .xls (as WPS saves it) by xlwt."""
    if path.suffix == ".xls":
        _write_xls(path, sheets)
        return
    # in_memory: zip entries get a fixed 1980 timestamp; "created" fixes docProps/core.xml.
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"title": sheets[0].title, "created": sheets[0].created})
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}),
        "sub": workbook.add_format({"align": "left"}),
        "head": workbook.add_format(
            {
                "bold": True,
                "border": 1,
                "text_wrap": True,
                "align": "center",
                "valign": "vcenter",
                "bg_color": "#D9E1F2",
            }
        ),
        "body": workbook.add_format({"border": 1, "text_wrap": True, "valign": "top"}),
        "note": workbook.add_format({"italic": True, "text_wrap": True}),
    }
    for sheet in sheets:
        ws = workbook.add_worksheet(sheet.sheet)
        cells, merges, start = _layout(sheet)
        ws.set_row(0, 32)
        for c, col in enumerate(sheet.columns):
            ws.set_column(c, c, col.width)
        for r0, c0, r1, c1, value, style in merges:
            ws.merge_range(r0, c0, r1, c1, "", formats[style])
            _write_cell(ws, r0, c0, value, formats[style])
        for r, c, value, style in cells:
            _write_cell(ws, r, c, value, formats[style])
        ws.freeze_panes(start, 0)
    workbook.close()


def _write_cell(ws, r: int, c: int, value: object, fmt) -> None:
    if value is None or value == "":
        ws.write_blank(r, c, None, fmt)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def _write_xls(path: Path, sheets: list[Sheet]) -> None:
    import xlwt

    styles = {
        "title": xlwt.easyxf("font: bold on, height 280; align: horiz center, vert center"),
        "sub": xlwt.easyxf("align: horiz left"),
        "head": xlwt.easyxf(
            "font: bold on; align: horiz center, vert center, wrap on; borders: left thin, right thin, "
            "top thin, bottom thin; pattern: pattern solid, fore_colour pale_blue"
        ),
        "body": xlwt.easyxf(
            "align: vert top, wrap on; borders: left thin, right thin, top thin, bottom thin"
        ),
        "note": xlwt.easyxf("font: italic on; align: wrap on"),
    }
    book = xlwt.Workbook(encoding="utf-8")
    for sheet in sheets:
        ws = book.add_sheet(sheet.sheet)
        for c, col in enumerate(sheet.columns):
            ws.col(c).width = 256 * col.width
        cells, merges, start = _layout(sheet)
        for r0, c0, r1, c1, value, style in merges:
            ws.write_merge(r0, r1, c0, c1, "" if value is None else value, styles[style])
        for r, c, value, style in cells:
            ws.write(r, c, "" if value is None else value, styles[style])
        ws.set_panes_frozen(True)
        ws.set_horz_split_pos(start)
    book.save(str(path))
