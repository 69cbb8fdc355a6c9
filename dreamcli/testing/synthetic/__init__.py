"""A seeded, deterministic generator of realistic session logs (schema v1) with planted recurring
patterns and one-off noise, for tests, benchmarks and the bundled samples (see `generate`).

    python -m dreamcli.testing.synthetic --out DIR --sessions N --seed S [--size-kb K]
"""

from dreamcli.testing.synthetic.generate import generate, main
from dreamcli.testing.synthetic.session import GenConfig, Manifest, iso_ms, ulid_at

__all__ = ["GenConfig", "Manifest", "generate", "iso_ms", "main", "ulid_at"]
