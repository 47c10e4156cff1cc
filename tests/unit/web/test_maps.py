"""The vendored page assets (``make assets``): ECharts at its pinned version and the
province maps decoded from ECharts' compressed GeoJSON into plain GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ducha.regions import divisions
from ducha.web.maps import VENDOR_DIR, city_map_path, echarts_path, map_path, map_regions, region_names
from scripts.vendor_assets import (
    ECHARTS_INTEGRITY,
    ECHARTS_VERSION,
    STAMP_NAME,
    clean_collection,
    decode_collection,
    decode_ring,
    registered_map,
)

HUNAN_CITIES = [
    "长沙市",
    "株洲市",
    "湘潭市",
    "衡阳市",
    "邵阳市",
    "岳阳市",
    "常德市",
    "张家界市",
    "益阳市",
    "郴州市",
    "永州市",
    "怀化市",
    "娄底市",
    "湘西土家族苗族自治州",
]


# --- the inverse of ECharts' decode, to make test data --------------------------------------


def encode_ring(points: list[tuple[float, float]], scale: int = 1024) -> tuple[str, list[int]]:
    """ECharts' compressed form of a ring: the first point is the offset, then each
    point's delta from the previous one, zigzag-encoded, plus 64, one UTF-16 unit each."""
    grid = [(round(x * scale), round(y * scale)) for x, y in points]
    prev_x, prev_y = grid[0]
    units: list[str] = []
    for x, y in grid:
        for delta in (x - prev_x, y - prev_y):
            units.append(chr(((delta << 1) ^ (delta >> 31)) + 64))
        prev_x, prev_y = x, y
    return "".join(units), list(grid[0])


def test_decode_a_hand_made_ring() -> None:
    # Pairs of units, each minus 64 then zigzag: "@" 0 -> 0, "B" 2 -> +1, "A" 1 -> -1,
    # "C" 3 -> -2; deltas from the offset, in 1/1024 degree.
    # (1024, 2048) -> (1025, 2047) -> (1023, 2045)
    ring = decode_ring("@@BACC", [1024, 2048])
    assert ring == [[1.0, 2.0], [1.0009765625, 1.9990234375], [0.9990234375, 1.9970703125]]
    assert decode_ring("@@BACC", [1024, 2048], scale=512) == [
        [2.0, 4.0],
        [2.001953125, 3.998046875],
        [1.998046875, 3.994140625],
    ]


def test_decode_reverses_the_encoding_of_a_polygon() -> None:
    # Big steps give code units past ASCII (é, 中, up to U+FFxx): JavaScript's charCodeAt.
    square = [(112.5, 28.0), (112.625, 28.0), (112.625, 28.125), (112.5, 28.125), (112.5, 28.0)]
    wide = [(100.0, 20.0), (131.0, 20.0), (131.0, 51.0), (100.0, 20.0)]
    for points in (square, wide):
        encoded, offset = encode_ring(points)
        assert decode_ring(encoded, offset) == [list(p) for p in points]
    encoded, _ = encode_ring(wide)
    assert max(map(ord, encoded)) > 0xF000


@given(
    st.tuples(st.integers(70_000, 140_000), st.integers(0, 60_000)),
    st.lists(st.tuples(st.integers(-16_000, 16_000), st.integers(-16_000, 16_000)), max_size=50),
)
def test_decode_reverses_any_encoding(start: tuple[int, int], steps: list[tuple[int, int]]) -> None:
    points = [start]
    for dx, dy in steps:
        points.append((points[-1][0] + dx, points[-1][1] + dy))
    exact = [(x / 1024, y / 1024) for x, y in points]
    encoded, offset = encode_ring(exact)
    assert decode_ring(encoded, offset) == [list(p) for p in exact]


def test_decode_refuses_half_a_point() -> None:
    with pytest.raises(ValueError, match="odd"):
        decode_ring("@@B", [0, 0])


def test_a_map_script_as_the_packages_write_it() -> None:
    outer, outer_offset = encode_ring([(113.0, 28.0), (113.5, 28.0), (113.5, 28.5), (113.0, 28.5)])
    island, island_offset = encode_ring([(114.0, 29.0), (114.25, 29.0), (114.25, 29.25), (114.0, 29.0)])
    js = json.dumps  # JavaScript string literals, escapes (\\, \") included
    script = (
        '!function(B,A){A({},B.echarts)}(this,function(B,A){A.registerMap("测试",{type:"FeatureCollection",'
        'features:[{id:"430100",type:"Feature",geometry:{type:"MultiPolygon",coordinates:['
        f"[{js(outer)}],[{js(island)}]],encodeOffsets:[[{outer_offset}],[{island_offset}]]}},"
        'properties:{cp:[113.1,28.2],name:"长沙市",childNum:2}},'
        '{id:"430200",type:"Feature",geometry:{type:"Polygon",coordinates:[],encodeOffsets:[]},'
        'properties:{name:"株洲市",childNum:0}}],UTF8Encoding:!0}):D("x")});'
    )
    name, raw = registered_map(script)
    assert name == "测试" and raw["UTF8Encoding"] is True
    decoded = decode_collection(raw)["features"][0]["geometry"]
    assert decoded["coordinates"][0][0][:2] == [[113.0, 28.0], [113.5, 28.0]]
    clean = clean_collection(raw)
    # The unclosed ring is closed, the feature without a shape dropped (as ECharts does).
    assert [f["properties"] for f in clean["features"]] == [
        {"name": "长沙市", "adcode": "430100", "cp": [113.1, 28.2]}
    ]
    outer_ring = clean["features"][0]["geometry"]["coordinates"][0][0]
    assert outer_ring[0] == outer_ring[-1] == [113.0, 28.0] and len(outer_ring) == 5


# --- the vendored files ------------------------------------------------------------------


def _vendored(path: Path | None) -> Path:
    if path is None:
        pytest.fail(f"assets not vendored under {VENDOR_DIR}: run `make assets`")
    return path


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    assert polygons and all(polygons)
    return [ring for polygon in polygons for ring in polygon]


def test_hunan_is_valid_geojson_of_its_14_cities() -> None:
    collection = json.loads(_vendored(map_path("43")).read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    names = [f["properties"]["name"] for f in collection["features"]]
    assert sorted(names) == sorted(HUNAN_CITIES)
    assert map_regions("43") == names
    codes = divisions()
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        adcode = feature["properties"]["adcode"]
        assert codes[adcode] == feature["properties"]["name"]
        for ring in _rings(feature["geometry"]):
            assert len(ring) >= 4 and ring[0] == ring[-1]
            for lon, lat in ring:
                assert 108 <= lon <= 115 and 24 <= lat <= 31, (feature["properties"]["name"], lon, lat)


def test_every_province_has_a_map() -> None:
    prefixes = sorted(code[:2] for code in divisions() if code.endswith("0000"))
    assert len(prefixes) == 34
    missing = [p for p in prefixes if map_path(p) is None]
    assert not missing
    assert "北京市" not in map_regions("11") and "东城区" in map_regions("11")


@pytest.mark.parametrize("prefix", ["", "4", "430", "../43", "43.json", "99", "４３"])
def test_no_map_for_anything_but_a_known_prefix(prefix: str) -> None:
    assert map_path(prefix) is None
    assert map_regions(prefix) == []


def test_the_configured_provinces_cities_have_county_maps() -> None:
    """`make assets` vendors the county-level maps of the configured inspections'
    provinces (Hunan's 14 cities), for the 挂图作战 page's drill-down."""
    from ducha.config import get_inspection

    insp = get_inspection("c3-hn-2024")
    for region in insp.regions:
        assert region_names(_vendored(city_map_path(region.code))), region.name
    assert "天心区" in region_names(_vendored(city_map_path("430100")))


def test_city_maps_only_by_code() -> None:
    assert city_map_path("../maps/43") is None and city_map_path("4301") is None


def test_echarts_is_the_pinned_version() -> None:
    path = _vendored(echarts_path())
    text = path.read_text(encoding="utf-8")
    # The bundle's licence header names no version; its `echarts.version` export does.
    assert "Licensed to the Apache Software Foundation" in text[:400]
    assert f'.version="{ECHARTS_VERSION}"' in text
    assert (path.parent / "LICENSE").is_file()
    stamp = json.loads((VENDOR_DIR / STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["inputs"]["echarts"] == {
        "version": ECHARTS_VERSION,
        "tarball": f"https://registry.npmjs.org/echarts/-/echarts-{ECHARTS_VERSION}.tgz",
        "integrity": ECHARTS_INTEGRITY,
    }
