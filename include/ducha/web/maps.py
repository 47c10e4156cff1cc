"""Where the pages' vendored assets are: ECharts and the province maps that
``scripts/vendor_assets.py`` writes under ``static/vendor/`` (``make assets``).

A province's map is found by the first two digits of its GB/T 2260 code (43 = 湖南), so an
inspection's region codes lead to it; its features are the province's cities (the
municipalities' and SARs' maps: their districts), each with ``name`` and, where the
source has one, ``adcode``. City maps (county level) are there only when the assets were
vendored with ``--cities``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
MAPS_DIR = VENDOR_DIR / "maps"

_PROVINCE_PREFIX = re.compile(r"[0-9]{2}")
_CITY_CODE = re.compile(r"[0-9]{6}")


def echarts_path() -> Path | None:
    """``echarts.min.js``, or None when the assets are not vendored."""
    path = VENDOR_DIR / "echarts" / "echarts.min.js"
    return path if path.is_file() else None


def map_path(province_prefix: str) -> Path | None:
    """The GeoJSON of the province whose codes start with ``province_prefix`` (two
    digits); None for anything else or a province without a map."""
    if not isinstance(province_prefix, str) or not _PROVINCE_PREFIX.fullmatch(province_prefix):
        return None
    path = MAPS_DIR / f"{province_prefix}.json"
    return path if path.is_file() else None


def city_map_path(city_code: str) -> Path | None:
    """The county-level GeoJSON of a city (six digits, 430100), when vendored."""
    if not isinstance(city_code, str) or not _CITY_CODE.fullmatch(city_code):
        return None
    path = MAPS_DIR / "cities" / f"{city_code}.json"
    return path if path.is_file() else None


def region_names(path: Path) -> list[str]:
    """The ``name`` of every feature of a GeoJSON file, in file order."""
    collection = json.loads(path.read_text(encoding="utf-8"))
    return [feature["properties"]["name"] for feature in collection["features"]]


def map_regions(province_prefix: str) -> list[str]:
    """The names of the regions (cities) on a province's map; empty without a map."""
    path = map_path(province_prefix)
    return region_names(path) if path is not None else []
