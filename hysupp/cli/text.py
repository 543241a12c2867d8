"""Docstrings as terminal text: reST roles, literals and LaTeX maths rendered as plain (Unicode) text.

``hysupp list`` shows the first paragraph of each method's docstring (:func:`summary_text`), which
often holds inline maths (``:math:`\\widehat M_l = \\widetilde M_l + (P_I - I)```). The docs site
renders it with MathJax (``docs/gen/rst_math.py``); a terminal gets :func:`rst_to_text`:

>>> rst_to_text(r"GIHS: generalised IHS, :math:`\\widehat M_l = \\widetilde M_l + (P_I - I)`, see :func:`gihs`.")
'GIHS: generalised IHS, M̂_l = M̃_l + (P_I - I), see gihs.'
>>> rst_to_text(r":math:`I = \\frac1L\\sum_l \\widetilde M_l`, :math:`\\lVert x\\rVert_{2,1} \\le \\lambda`")
'I = 1/L Σ_l M̃_l, ‖x‖_{2,1} ≤ λ'
"""

from __future__ import annotations

import re

__all__ = ["latex_to_text", "rst_to_text", "summary_text"]

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ",
    "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ",
    "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "sum": "Σ", "prod": "Π", "ell": "ℓ", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠",
    "approx": "≈", "sim": "~", "cdot": "·", "times": "×", "odot": "⊙", "otimes": "⊗", "circ": "∘", "in": "∈",
    "infty": "∞", "partial": "∂", "nabla": "∇", "top": "ᵀ", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖",
    "lvert": "|", "rvert": "|", "langle": "⟨", "rangle": "⟩", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "mapsto": "↦", "pm": "±", "mp": "∓", "ldots": "...", "cdots": "...", "dots": "...", "forall": "∀",
    "exists": "∃", "min": "min", "max": "max", "arg": "arg", "log": "log", "exp": "exp", "det": "det",
    "quad": " ", "qquad": "  ", "star": "*", "ast": "*", "setminus": "∖", "cup": "∪", "cap": "∩",
    "subset": "⊂", "subseteq": "⊆", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "mid": "|",
}
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "C": "ℂ", "E": "𝔼", "1": "𝟙"}
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "bar": "\u0304",
            "overline": "\u0304", "dot": "\u0307", "vec": "\u20d7"}
_WRAPPERS = ("mathbf", "mathrm", "mathit", "mathsf", "mathcal", "boldsymbol", "operatorname", "text", "textrm",
             "mbox", "bm")
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"          # one level of nested braces
_ARG = rf"(?:{_GROUP}|\s*(\\[A-Za-z]+|[A-Za-z0-9]))"


def _arg(m: re.Match, i: int) -> str:
    return m.group(i) if m.group(i) is not None else m.group(i + 1)


def latex_to_text(tex: str) -> str:
    """Inline LaTeX as readable text: Greek letters and operators as Unicode, ``\\widehat X`` as X̂,
    ``\\frac{a}{b}`` as ``a/b``, ``\\mathbb R`` as ℝ, spacing commands dropped."""
    s = tex
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", s)
    s = re.sub(r"\\[,;:!> ]", " ", s)
    for _ in range(3):   # nested constructs, innermost first
        s = re.sub(rf"\\frac{_ARG}{_ARG}", lambda m: f"{_wrap(_arg(m, 1))}/{_wrap(_arg(m, 3))}", s)
        s = re.sub(rf"\\sqrt{_ARG}", lambda m: f"√{_wrap(_arg(m, 1))}", s)
        s = re.sub(rf"\\mathbb{_ARG}", lambda m: _BLACKBOARD.get(_arg(m, 1).strip(), _arg(m, 1)), s)
        s = re.sub(rf"\\({'|'.join(_ACCENTS)}){_ARG}",
                   lambda m: _accent(_arg(m, 2), _ACCENTS[m.group(1)]), s)
        s = re.sub(rf"\\(?:{'|'.join(_WRAPPERS)}){_ARG}", lambda m: _arg(m, 1), s)
    s = re.sub(r"\^\{?\\top\}?", "ᵀ", s)
    s = re.sub(r"\\(lVert|langle|lvert|lfloor|lceil)\s*", lambda m: _SYMBOLS[m.group(1)], s)  # no inner space
    s = re.sub(r"\\(sum|prod)(?![A-Za-z])", r" \\\1", s)
    s = re.sub(r"\\([A-Za-z]+|\|)", lambda m: _SYMBOLS.get(m.group(1), m.group(1)), s)
    s = re.sub(r"(?<![_^])\{([^{}]*)\}", r"\1", s)     # braces that only group
    s = re.sub(r"(\S)\s*(\u0302|\u0303|\u0304)", r"\1\2", s)
    return re.sub(r"[ \t]+", " ", s).strip()


def _wrap(text: str) -> str:
    text = text.strip()
    return text if re.fullmatch(r"[\w\\.]+", text) else f"({text})"


def _accent(base: str, mark: str) -> str:
    base = base.strip()
    base = _SYMBOLS.get(base[1:], base[1:]) if base.startswith("\\") else base
    return base + mark if len(base) == 1 else f"{base}{mark}"


def rst_to_text(text: str) -> str:
    """reST as plain text: ``:math:`...``` through :func:`latex_to_text`, roles (``:func:`x```) as
    ``x``, double-backtick literals as their content, ``.. math::`` markers dropped."""
    text = re.sub(r":math:`([^`]+)`", lambda m: latex_to_text(m.group(1)), text)
    text = re.sub(r":(?:py:)?[a-z]+:`~?([^`<]+?)(?:\s*<[^>]+>)?`", lambda m: m.group(1).split(".")[-1]
                  if m.group(0).split("`")[1].startswith("~") else m.group(1), text)
    text = re.sub(r"``([^`]+?)``", r"\1", text)
    text = re.sub(r"\.\. math::\s*", "", text)
    return text


def summary_text(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line, as plain text (:func:`rst_to_text`)."""
    doc = (doc or "").strip()
    if not doc:
        return ""
    paragraph = re.split(r"\n\s*\n", doc, maxsplit=1)[0]
    return rst_to_text(" ".join(line.strip() for line in paragraph.splitlines()))
