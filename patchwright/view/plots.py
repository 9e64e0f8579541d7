"""Plots as inline SVG, drawn here (no plotting library, no script needed to see them): a timeline of
tokens, dollars and seconds per step, and histograms. A bar series is one <path> per colour, so a
1,000-step timeline stays a few tens of kilobytes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 1000
ROW = 56
"""Height of one timeline row's bars."""
GAP = 26
"""Room above each row for its label."""


def css_name(text: str) -> str:
    """A string safe as (part of) a CSS class name."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:40] or "x"


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def timeline(points: Sequence[dict], rows: Sequence[tuple[str, str, Callable[[float], str]]]) -> Markup:
    """Bars per step, one row per (key, label, format) of `rows`; each point holds `step`, `node` and
    the keys (a number or None). Bars are coloured by node (CSS classes `n-NODE`)."""
    n = max(len(points), 1)
    w = WIDTH / n
    height = len(rows) * (ROW + GAP) + 18
    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="none" role="img" '
           f'aria-label="tokens, dollars and seconds per step" xmlns="http://www.w3.org/2000/svg">']
    for r, (key, label, fmt) in enumerate(rows):
        top = r * (ROW + GAP) + GAP
        base = top + ROW
        values = [p.get(key) for p in points]
        known = [v for v in values if v is not None]
        peak = max(known, default=0.0)
        total = sum(known)
        unknown = len(values) - len(known)
        caption = f"{label}: total {fmt(total)}, most in one step {fmt(peak)}" + (
            f" ({unknown} step(s) without a value)" if unknown else "")
        out.append(f'<g class="row"><title>{escape(caption)}</title>'
                   f'<text x="0" y="{top - 7}" class="lbl">{escape(caption)}</text>'
                   f'<line x1="0" x2="{WIDTH}" y1="{base}" y2="{base}" class="axis"/>')
        paths: dict[str, list[str]] = {}
        for i, (p, v) in enumerate(zip(points, values, strict=True)):
            if not v or peak <= 0:
                continue
            h = max(v / peak * ROW, 0.8)
            paths.setdefault(css_name(str(p.get("node", ""))), []).append(
                f"M{_n(i * w)} {base}v-{_n(h)}h{_n(max(w * 0.85, 0.6))}v{_n(h)}z")
        for node, d in paths.items():
            out.append(f'<path class="n-{node}" d="{"".join(d)}"/>')
        out.append("</g>")
    out.append(f'<text x="0" y="{height - 3}" class="lbl">step 0</text>'
               f'<text x="{WIDTH}" y="{height - 3}" class="lbl end">step {max(len(points) - 1, 0)}</text>')
    out.append(f'<rect class="hit" x="0" y="0" width="{WIDTH}" height="{height}" fill="transparent"/></svg>')
    return Markup("".join(out))


def histogram(values: Sequence[float], label: str, fmt: Callable[[float], str], bins: int = 12) -> Markup:
    """A histogram of `values` (each bar's range and count in its tooltip)."""
    w, h, left, bottom = 360, 150, 28, 22
    if not values:
        return Markup(f'<p class="muted">{escape(label)}: no values</p>')
    lo, hi = min(values), max(values)
    k = 1 if hi == lo else min(bins, max(len(set(values)), 1))
    span = (hi - lo) / k if hi > lo else 1.0
    counts = [0] * k
    for v in values:
        counts[min(int((v - lo) / span), k - 1) if hi > lo else 0] += 1
    top = max(counts)
    bw = (w - left) / k
    out = [f'<svg class="hist" viewBox="0 0 {w} {h + bottom}" role="img" aria-label="{escape(label)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>',
           f'<text x="{left}" y="11" class="lbl">{escape(label)}</text>',
           f'<text x="0" y="{26}" class="lbl">{top}</text>',
           f'<line x1="{left}" x2="{w}" y1="{h}" y2="{h}" class="axis"/>']
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = c / top * (h - 30)
        a, b = lo + i * span, lo + (i + 1) * span if hi > lo else hi
        tip = f"{fmt(a)} – {fmt(b)}: {c} instance(s)"
        out.append(f'<rect class="bar" x="{_n(left + i * bw + 1)}" y="{_n(h - bh)}" width="{_n(max(bw - 2, 1))}" '
                   f'height="{_n(bh)}"><title>{escape(tip)}</title></rect>')
    out.append(f'<text x="{left}" y="{h + 16}" class="lbl">{escape(fmt(lo))}</text>'
               f'<text x="{w}" y="{h + 16}" class="lbl end">{escape(fmt(hi))}</text></svg>')
    return Markup("".join(out))


def dollars(v: float) -> str:
    return f"${v:,.4f}" if v < 1 else f"${v:,.2f}"


def seconds(v: float) -> str:
    if v < 60:
        return f"{v:.1f} s" if v < 10 else f"{v:.0f} s"
    if v < 3600:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.1f} h"


def score(v: float | None) -> str:
    """A ranking score or signal, to 3 significant digits (empty for None)."""
    return "" if v is None else f"{v:.3g}"


def count(v: float) -> str:
    return f"{v:,.0f}"
