"""Docs build helper: turn the reST markup used in hysupp docstrings into Markdown for MkDocs.

Docstrings are NumPy style with reST roles (``:math:`x```, ``:func:`f```, ``.. math::`` blocks,
double-backtick literals). mkdocstrings renders docstrings as Markdown, so a griffe extension
(:class:`RstToMarkdown`, listed in mkdocs.yml) rewrites each docstring before it is parsed:
math goes to the ``pymdownx.arithmatex`` delimiters, roles and literals to inline code.
"""

from __future__ import annotations

import re

try:  # the extension is only needed inside mkdocstrings; convert() works without griffe
    from griffe import Extension
except ImportError:  # pragma: no cover
    Extension = object

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|data|attr|obj|exc|const|ref|doc):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+?)``")


def _role(match: re.Match) -> str:
    text = match.group(0)
    target = match.group(1)
    if "`~" in text:
        target = target.rsplit(".", 1)[-1]
    if "<" in target and target.endswith(">"):  # :ref:`title <target>`
        target = target.split("<", 1)[0].strip()
    return f"`{target}`"


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(".. math::"):
            indent = line[: len(line) - len(stripped)]
            body: list[str] = []
            rest = stripped[len(".. math::"):].strip()
            if rest:
                body.append(rest)
            i += 1
            while i < len(lines):
                nxt = lines[i]
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(indent):
                    break
                body.append(nxt.strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            while body and not body[0]:
                body.pop(0)
            maths = "\n".join(b for b in body if b)
            if "&" in maths or "\\\\" in maths:
                maths = "\\begin{aligned}\n" + maths + "\n\\end{aligned}"
            out.extend(["", indent + "\\[", *[indent + m for m in maths.split("\n")], indent + "\\]", ""])
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


_HEADER_RULE = re.compile(r"^\s*-{3,}\s*$")


def _doctests(text: str) -> str:
    """Doctest lines outside a NumPy "Examples" section: after another section they get an
    "Examples" header (so griffe parses them as examples); in free text they are fenced."""
    lines = text.split("\n")
    out: list[str] = []
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped and i + 1 < len(lines) and _HEADER_RULE.match(lines[i + 1]) and not stripped.startswith(">>>"):
            section = stripped.lower()
            if section == "example":  # griffe's NumPy parser knows only "Examples"
                section = "examples"
                line, lines[i + 1] = line.replace("Example", "Examples"), lines[i + 1] + "-"
            out += [line, lines[i + 1]]
            i += 2
            continue
        if stripped.startswith(">>>") and section not in ("examples", "example"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            if section is not None and not indent:
                out += ["Examples", "--------", *block]
                section = "examples"
            else:
                out += [indent + "```pycon", *block, indent + "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def convert(text: str) -> str:
    """reST math/roles/literals -> Markdown with arithmatex delimiters and inline code."""
    if not text:
        return text
    text = _math_blocks(text)
    text = _INLINE_MATH.sub(lambda m: "\\(" + m.group(1) + "\\)", text)
    text = _ROLE.sub(_role, text)
    text = _LITERAL.sub(lambda m: "`" + m.group(1) + "`", text)
    # reST "::" literal-block marker at the end of a paragraph line
    text = re.sub(r"(\S)::\n", r"\1:\n", text)
    return _doctests(text)


class RstToMarkdown(Extension):  # type: ignore[misc,valid-type]
    """griffe extension: convert every docstring with :func:`convert` when it is loaded."""

    def on_instance(self, *, obj, **kwargs) -> None:
        doc = getattr(obj, "docstring", None)
        if doc is not None and doc.value:
            doc.value = convert(doc.value)
