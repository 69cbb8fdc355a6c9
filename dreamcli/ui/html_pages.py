"""Self-contained HTML pages (Jinja2, autoescaped): the review page of `playbooks diff --html` and the
transcript page of `sessions show --html`. Templates live in dreamcli/ui/templates/.

Each page inlines its CSS and script and carries a Content-Security-Policy that allows no network
request at all and runs only the page's own script (by its hash), so an escaping mistake still could
not run a `<script>` that came from a transcript.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dreamcli.figures import bound_text, p_text
from dreamcli.pilot.stats import HELPS, HURTS, UNKNOWN, effect

if TYPE_CHECKING:
    import jinja2

BAR_WIDTH = 160
BAR_HEIGHT = 18


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dreamcli.ui", "templates"),
        autoescape=True,  # every template: .html.j2, and the .css/.js sources are included raw below
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty_json"] = _pretty_json
    env.filters["signed"] = lambda v, digits=3: "" if v is None else f"{v:+.{digits}f}"
    env.filters["short_ts"] = lambda v: "" if not v else str(v)[:19].replace("T", " ")
    return env


def _pretty_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _raw(name: str) -> str:
    env = environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return source


def csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'; "
            "base-uri 'none'; form-action 'none'")


def lift_bar(lift: dict[str, Any] | None, scale: float | None = None) -> dict[str, Any] | None:
    """A pilot lift on the page (`parse_lift` data): the label, the verdict's word and pair count, and
    the geometry of a small SVG bar -- the 95% interval as a band, coloured by the verdict (green only for
    `helps`, red for `hurts`, as dreamcli.pilot.stats.effect reads interval and exact test together), the
    lift as a tick, zero as a line. A lift over no scored pair draws no bar: it measured nothing."""
    if not lift or lift.get("delta") is None:
        return None
    delta, lo, hi, p = lift["delta"], lift.get("lo"), lift.get("hi"), lift.get("p_value")
    pairs = lift.get("pairs")
    facts = {"drawn": False, "band": None, "sign": "unclear", "hurts_alone": _hurts_alone(lift.get("own"))}
    if pairs == 0:
        why = lift.get("no_pairs")
        return {**facts, "label": f"no pairs scored{f' ({why})' if isinstance(why, str) else ''}",
                "word": UNKNOWN, "verdict": f"{UNKNOWN}: approval.require_lift does not count this pilot"}
    word = effect_word((lo, hi), p, pairs) if lo is not None and hi is not None else UNKNOWN
    span = scale or max(abs(delta), abs(lo or 0.0), abs(hi or 0.0), 0.01) * 1.15
    pad = 4

    def x(v: float) -> float:
        v = max(-span, min(span, v))
        return round(pad + (v + span) / (2 * span) * (BAR_WIDTH - 2 * pad), 1)

    band = None
    if lo is not None and hi is not None:
        band = {"x": x(lo), "w": max(round(x(hi) - x(lo), 1), 1.0)}
    label = f"lift {delta:+.3f}"
    if lo is not None and hi is not None:
        label += f", 95% interval {bound_text(lo, 3)} to {bound_text(hi, 3)}".replace("\u2212", "-")
    if p is not None:
        label += f", p = {p_text(p, 3)}"
    count = f"{pairs} pair{'s' if pairs != 1 else ''}" if isinstance(pairs, int) else "pairs not recorded"
    return {**facts, "drawn": True, "width": BAR_WIDTH, "height": BAR_HEIGHT, "zero": x(0.0), "tick": x(delta),
            "band": band, "sign": {HELPS: "positive", HURTS: "negative"}.get(word, "unclear"), "label": label,
            "word": word, "verdict": f"{word}, {count}"}


def effect_word(ci: tuple[float, float], p: float | None, pairs: Any) -> str:
    """The verdict's word, as `playbooks diff` prints it: a pair count not recorded leaves the interval
    and the exact test to decide (dreamcli.ui.pilot_view.effect_word)."""
    return effect(ci, pairs if isinstance(pairs, int) else 1, p)


def _hurts_alone(own: Any) -> str | None:
    """What the page says when an entry's own leave-one-out lift shows it hurts (approve refuses it)."""
    if not isinstance(own, dict) or own.get("lo") is None or own.get("hi") is None:
        return None
    if effect_word((own["lo"], own["hi"]), own.get("p_value"), own.get("pairs")) != HURTS:
        return None
    p = f", p = {p_text(own['p_value'], 3)}" if own.get("p_value") is not None else ""
    return (f"its own leave-one-out lift hurts ({own['delta']:+.3f}, 95% interval {bound_text(own['lo'], 3)} to "
            f"{bound_text(own['hi'], 3)}{p}): approve refuses it").replace("\u2212", "-")


def render_review_page(page: dict[str, Any]) -> str:
    """The review page for `dreamcli.playbooks.review_page.review_page` data."""
    script = _raw("review.js")
    for dream in page["dreams"]:
        pilot = dream.get("pilot")
        dream["pilot_bar"] = lift_bar(pilot["lift"]) if pilot else None
        for item in dream["operations"]:
            item["pilot_bar"] = lift_bar(item.get("pilot"))
    return environment().get_template("review.html.j2").render(
        page=page, style=_raw("page.css"), script=script, csp=csp(script))


def render_transcript_page(page: dict[str, Any]) -> str:
    """A transcript page for `dreamcli.ui.transcript_data.transcript_page` data."""
    script = _raw("transcript.js")
    return environment().get_template("transcript.html.j2").render(
        page=page, style=_raw("page.css"), script=script, csp=csp(script))
