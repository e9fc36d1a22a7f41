"""The block catalogue: argument descriptions, and docs/blueprint.md kept in sync with it."""

from __future__ import annotations

from pathlib import Path

from kiln.blocks.catalog import catalog, describe, markdown_table
from kiln.blocks.registry import registered

DOCS = Path(__file__).resolve().parents[2] / "docs" / "blueprint.md"


def test_describe_reads_the_argument_schema() -> None:
    linear = describe(registered("block")["linear"])
    assert linear.signature() == "units: int > 0, bias: bool = True"
    residual = describe(registered("block")["residual"])
    assert residual.signature() == "project: bool = True, blocks: [...]"
    seq_pool = describe(registered("block")["seq_pool"])
    assert seq_pool.args == [("mode", "mean|max|first|last", "'mean'")]
    assert {info.name for info in catalog("combiner")} >= {"concat", "sum", "attention"}


def test_docs_block_tables_are_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    generated = text.split("<!-- blocks:start -->\n", 1)[1].split("<!-- blocks:end -->", 1)[0]
    built_in = markdown_table("block"), markdown_table("combiner")
    expected = "\n\n".join(_only_builtin(table) for table in built_in)
    assert generated.strip() == expected.strip(), (
        "docs/blueprint.md is out of date — paste the output of `kiln blocks --markdown` "
        "between the blocks:start and blocks:end markers")


def _only_builtin(table: str) -> str:
    """Plugins loaded by other tests register blocks too; the docs list kiln's own."""
    plugin_names = {name for kind in ("block", "combiner")
                    for name, entry in registered(kind).items()
                    if not entry.origin.startswith("kiln.")}
    return "\n".join(line for line in table.splitlines()
                     if not any(line.startswith(f"| `{n}` ") for n in plugin_names))
