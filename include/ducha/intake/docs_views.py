"""The Data Docs site's page views, GX's own with one change: their Jinja templates are
compiled once, not once per site build.

GX makes a new Jinja environment for every section of every site it builds, and Jinja
compiles GX's page templates (dozens of them) again in each: about 0.15 s a build, a
tenth of a day's ingest. A bytecode cache keyed by the template's name and checked
against its source's digest lets every environment after the first load the compiled
code instead. The cache lives in the user's own temporary folder (Jinja's
``FileSystemBytecodeCache``: created 0700, entries written atomically), so the tasks of
one worker, each a process, share it; where that folder is unsafe or missing, the
process keeps its own cache in memory. The pages are the same.

The site config names these classes (``validator.Validator``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, FileSystemBytecodeCache
from jinja2.bccache import Bucket


class _InMemory(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if code := self._code.get(bucket.key):
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


@cache
def bytecode_cache() -> BytecodeCache:
    """One cache per process."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # Jinja refuses a temporary folder it does not own
        return _InMemory()


class PageView(DefaultJinjaPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()


class IndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()
