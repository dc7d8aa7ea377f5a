"""A step's Markdown as the lesson panel shows it.

Fenced code blocks are taken out before Python-Markdown sees them and come back as
`<pre class="lesson-code" data-lang="sh"><code>…</code></pre>` (with `data-file="web.yaml"` for
` ```yaml file=web.yaml `), which the panel gives "Run in terminal" / "Open in editor" buttons
(lessons/PANEL.md). Lesson files are the project's own content, so their inline HTML is kept.
"""
from __future__ import annotations

import functools
import html
import re

import markdown as python_markdown

FENCE = re.compile(r"^```[ \t]*([A-Za-z0-9_+-]*)((?:[ \t]+[a-z]+=[^\s`]+)*)[ \t]*\n(.*?)^```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
ATTRIBUTE = re.compile(r"([a-z]+)=([^\s`]+)")
SHELL_LANGS = {"sh", "bash", "shell", "console"}


def code_blocks(text: str) -> list[tuple[str, dict, str]]:
    """Every fenced block: (language, attributes such as {"file": "web.yaml"}, its text)."""
    return [(m.group(1).lower(), dict(ATTRIBUTE.findall(m.group(2) or "")), m.group(3))
            for m in FENCE.finditer(text)]


def _block(lang: str, attributes: dict, code: str) -> str:
    lang = "sh" if lang in SHELL_LANGS else lang
    data = f' data-lang="{html.escape(lang)}"' if lang else ""
    if attributes.get("file"):
        data += f' data-file="{html.escape(attributes["file"])}"'
    return f'<pre class="lesson-code"{data}><code>{html.escape(code.rstrip(chr(10)))}</code></pre>'


@functools.lru_cache(maxsize=1024)
def render(text: str) -> str:
    """Markdown (with tables and fenced code) → HTML for the panel."""
    blocks: list[str] = []

    def stash(match: re.Match) -> str:
        blocks.append(_block(match.group(1).lower(), dict(ATTRIBUTE.findall(match.group(2) or "")),
                             match.group(3)))
        return f"\n\nLESSONCODEBLOCK{len(blocks) - 1}X\n\n"

    body = FENCE.sub(stash, text)
    out = python_markdown.markdown(body, extensions=["tables", "sane_lists"], output_format="html")
    for i, block in enumerate(blocks):
        token = f"LESSONCODEBLOCK{i}X"
        out = out.replace(f"<p>{token}</p>", block).replace(token, block)
    return out


def render_inline(text: str) -> str:
    """A one-paragraph text (a lesson's summary) as inline HTML: `code`, *emphasis*, links; no <p>."""
    out = render(text).strip()
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out
