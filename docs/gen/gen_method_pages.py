"""mkdocs-gen-files script: one page per registered method, generated from the registry.

Each page shows the task, the class docstring (optimisation problem, algorithm, reference; rendered
by mkdocstrings), a parameter table read from the method's ``Param`` declarations, and the rows for
this method from the measured result tables in ``docs/`` (which ``hysupp bench report`` and the
benchmark scripts generate from the committed records). Nothing here is typed by hand.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hysupp.methods.registry import TASKS, available, plugin_errors

TASK_TITLES = {
    "extractor": "Endmember extractors",
    "supervised": "Supervised unmixing",
    "semi-supervised": "Semi-supervised (library) unmixing",
    "blind": "Blind unmixing",
    "pansharpening": "Pansharpening",
    "hs-ms-fusion": "HS-MS fusion",
    "super-resolution": "Super-resolution",
}
TASK_HOWTO = {
    "extractor": "hysupp run --method {name} --data scene.mat --p 5",
    "supervised": "hysupp run --method {name} --data scene.mat --p 5   # VCA endmembers, then {name}",
    "semi-supervised": "hysupp run --method {name} --data scene.mat --library usgs1995 --p 5",
    "blind": "hysupp run --method {name} --data scene.mat --p 5",
    "pansharpening": "hysupp fuse --method {name} --data imgWV2.mat --protocol rr",
    "hs-ms-fusion": "hysupp fuse --method {name} --data pair.npz",
    "super-resolution": "hysupp sr --method {name} --data scene.tif --ratio 2 --protocol rr --out out-{name}",
}
# measured result pages: (docs page, title)
RESULT_PAGES = [("benchmarks.md", "Benchmark suites"), ("samson_blind.md", "Blind unmixing on Samson"),
                ("pansharpening_wv2.md", "Pansharpening on WV2"), ("superres.md", "Single-image super-resolution")]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def page_path(cls) -> str:
    return f"{cls.task}/{slug(cls.name)}.md"


def cell(value) -> str:
    text = "" if value is None else str(value)
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def fmt_default(p) -> str:
    if p.default is None:
        return "`None`"
    return f"`{list(p.default) if p.is_list else p.default!r}`"


def params_table(cls) -> list[str]:
    if not cls.params:
        return ["This method has no tunable parameters."]
    lines = ["| name | type | default | allowed | description |", "|---|---|---|---|---|"]
    for p in cls.params:
        allowed = p.describe_range()
        if p.optional:
            allowed = (allowed + " or None") if allowed else "None allowed"
        default = fmt_default(p).replace("|", "\\|")
        lines.append(f"| `{p.name}` | {p.type_name} | {default} | {cell(allowed)} | {cell(p.doc)} |")
    return lines


def parse_tables(text: str):
    """Yield (heading, header_line, separator_line, row_lines) for each Markdown table."""
    heading = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-:| ]+\|$", lines[i + 1].strip()):
            header, sep = line, lines[i + 1]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            yield heading, header, sep, rows
            continue
        i += 1


def first_cell(row: str) -> str:
    return row.strip().strip("|").split("|")[0].strip().strip("*`").strip()


def results_section(cls, docs_dir: Path) -> list[str]:
    out: list[str] = []
    for page, title in RESULT_PAGES:
        path = docs_dir / page
        if not path.exists():
            continue
        blocks = []
        for heading, header, sep, rows in parse_tables(path.read_text()):
            mine = [r for r in rows if first_cell(r).lower() == cls.name.lower()]
            if mine and first_cell(header).lower() == "method":
                blocks.append((heading, header, sep, mine))
        if not blocks:
            continue
        out.append(f"From [{title}](../../{page}) (measured; see that page for the protocol, "
                   "hardware and load):")
        out.append("")
        for heading, header, sep, mine in blocks:
            out += [f"**{heading}**", "", header, sep, *mine, ""]
    records = sorted((ROOT / "benchmarks" / "results").glob(f"{slug(cls.name).replace('-', '_')}*.json"))
    if records:
        out.append("Method-specific benchmark records (parity with the reference code, timings): "
                   + ", ".join(f"`benchmarks/results/{r.name}`" for r in records) + ".")
        out.append("")
    if not out:
        out = ["No benchmark record yet."]
    return out


UNMIXING_TASKS = ("extractor", "supervised", "semi-supervised", "blind")


def units_line(cls) -> str:
    """What a common scale of the inputs does to this method (``scale_invariant``)."""
    see = "see [Units and scale](../../design.md#units-and-scale)"
    if getattr(cls, "scale_invariant", False):
        return (f"**Units:** scale-invariant: a common scale of the inputs (reflectance, reflectance x 1e4, DN) "
                f"gives the same abundances and endmembers in the input's units; {see}.")
    return ("**Units:** the parameters are defined for data in reflectance units. Data in other units "
            "(e.g. reflectance x 1e4) are divided by their unit scale 10^k before the method runs, with a "
            f"warning, and the endmembers are returned in the input's units; {see}.")


def method_page(cls, docs_dir: Path) -> str:
    ident = f"{cls.__module__}.{cls.__qualname__}"
    lines = [f"# {cls.name}", "",
             f"**Task:** {cls.task} ([all {TASK_TITLES.get(cls.task, cls.task).lower()} methods](index.md))  ",
             f"**Class:** `{ident}`  ",
             f"**Reference:** {cell(cls.reference) or '(none declared)'}", ""]
    if cls.task in UNMIXING_TASKS:
        lines += [units_line(cls), ""]
    if getattr(cls, "per_snr", None):
        lines += [("The method has per-SNR reference settings (`per_snr`): "
                  f"`{cls.per_snr!r}`."), ""]
    lines += ["## Usage", "", "```bash", TASK_HOWTO[cls.task].format(name=cls.name),
              f"hysupp list {cls.name}    # this table in the terminal", "```", "",
              "```python", "import hysupp"]
    if cls.task == "super-resolution":
        lines.append(f'run = hysupp.super_resolve("scene.tif", "{cls.name}", ratio=2, protocol="rr", params={{}})')
    elif cls.task in ("pansharpening", "hs-ms-fusion"):
        lines.append(f'run = hysupp.fuse("pair.mat", "{cls.name}", params={{}})')
    else:
        lines.append(f'run = hysupp.unmix("scene.mat", "{cls.name}", p=5, params={{}})')
    lines += ["```", "", "## Parameters", "",
              ("Read from the method's `params` declaration (validated by the constructor, the CLI's "
              "`--param key=value` and `hysupp.unmix(..., params=)`)."), "", *params_table(cls), "",
              "## Measured results", "", *results_section(cls, docs_dir), "",
              "## Description", "",
              f"::: {ident}",
              "    options:",
              "      show_root_heading: false",
              "      show_root_toc_entry: false",
              "      members: false",
              "      show_bases: true",
              "      docstring_section_style: list",
              "      heading_level: 3",
              ""]
    mod_doc = (sys.modules[cls.__module__].__doc__ or "").strip()
    if len(mod_doc.splitlines()) > 3:
        lines += ["## Module notes", "",
                  f"The module `{cls.__module__}` (shared by the methods it defines):", "",
                  f"::: {cls.__module__}",
                  "    options:",
                  "      show_root_heading: false",
                  "      show_root_toc_entry: false",
                  "      members: false",
                  "      heading_level: 3",
                  ""]
    return "\n".join(lines)


def main() -> None:
    docs_dir = ROOT / "docs"
    methods = available()
    nav = mkdocs_gen_files.Nav()
    index = ["# Methods", "",
             (f"{len(methods)} registered methods, one generated page each (from `hysupp.methods.registry` "
             "at build time: parameters from the declarations, results from the measured tables)."), ""]
    errors = plugin_errors()
    if errors:
        index += ["Plugins that failed to load: " + ", ".join(f"`{k}`" for k in errors), ""]
    nav["Overview"] = "index.md"
    for task in TASKS:
        group = [c for c in methods if c.task == task]
        if not group:
            continue
        title = TASK_TITLES.get(task, task)
        with mkdocs_gen_files.open(f"methods/{task}/index.md", "w") as fh:
            fh.write(f"# {title}\n\n| method | summary |\n|---|---|\n")
            for cls in group:
                fh.write(f"| [{cls.name}]({slug(cls.name)}.md) | {cell(cls.summary())} |\n")
        nav[title] = f"{task}/index.md"
        index += [f"## {title}", "", "| method | summary | reference |", "|---|---|---|"]
        for cls in group:
            path = page_path(cls)
            nav[title, cls.name] = path
            index.append(f"| [{cls.name}]({path}) | {cell(cls.summary())} | {cell(cls.reference)} |")
            with mkdocs_gen_files.open(f"methods/{path}", "w") as fh:
                fh.write(method_page(cls, docs_dir))
            mkdocs_gen_files.set_edit_path(f"methods/{path}", Path(sys.modules[cls.__module__].__file__).relative_to(ROOT))
        index.append("")
    with mkdocs_gen_files.open("methods/index.md", "w") as fh:
        fh.write("\n".join(index))
    with mkdocs_gen_files.open("methods/SUMMARY.md", "w") as fh:
        fh.writelines(nav.build_literate_nav())


main()
