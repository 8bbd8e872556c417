"""A self-contained HTML page: inline CSS, figures as data: URIs, no script, no external reference of any kind
(the empty data: favicon stops the browser from asking for /favicon.ico). Every text is escaped."""

from __future__ import annotations

import base64
import html
import math
from typing import Any, Iterable, Mapping

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1100px;
       color: #1b1b1b; line-height: 1.45; padding: 0 16px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
figure { margin: 12px 0; } figcaption { font-size: 0.88em; color: #444; max-width: 1000px; }
img { max-width: 100%; border: 1px solid #eee; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 12px; font-size: 0.92em; }
.muted { color: #666; font-size: 0.88em; }
ul { margin-top: 4px; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 2) -> str:
    """A number for a table cell: '-' for NaN/None, thousands separators, fixed decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def table(header: Iterable[str] | None, rows: Iterable[Iterable[tuple[str, bool]]]) -> str:
    """rows of (already-escaped cell html, is_number); no header row when header is None."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header) if header is not None else ""
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if is_num else f"<td>{c}</td>" for c, is_num in row) + "</tr>"
        for row in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def value_html(value: Any) -> str:
    """Nested mappings and lists as nested lists; http(s) strings as links (a link loads nothing until clicked)."""
    if isinstance(value, Mapping):
        if not value:
            return '<span class="muted">(none)</span>'
        return "<ul>" + "".join(f"<li><b>{esc(k)}</b>: {value_html(v)}</li>" for k, v in value.items()) + "</ul>"
    if isinstance(value, (list, tuple)):
        return "<ul>" + "".join(f"<li>{value_html(v)}</li>" for v in value) + "</ul>"
    text = str(value)
    if text.startswith(("http://", "https://")):
        return f'<a href="{esc(text)}">{esc(text)}</a>'
    return f"<code>{esc(text)}</code>"


def figure(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{esc(name)}"><img alt="{esc(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
