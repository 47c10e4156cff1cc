"""The sample generator: realistic, deterministic landing trees for the demo, the tests
and the benchmarks. A development tool, installed beside Ducha (``make install-dev``),
not part of the runtime package or the production image."""

from ducha_sample.generator import (
    KEY_MARKS,
    TRADITIONAL_BATCH,
    SampleSummary,
    feedback_city,
    generate,
    is_transfer_list,
)

__all__ = ["KEY_MARKS", "TRADITIONAL_BATCH", "SampleSummary", "feedback_city", "generate", "is_transfer_list"]
