"""docs/vendor-fidelity.md cannot drift: it is what `tests.unit.fidelity` generates, each cited doc line
says what the table quotes, each named test exists, and every doc line a model cites is in the table."""

from __future__ import annotations

import re

import pytest

from tests.unit import fidelity

ROOT = fidelity.ROOT
TABLE = ROOT / "docs" / "vendor-fidelity.md"
MODEL_FILES = sorted((ROOT / "shared" / "leadhooks" / "vendors").rglob("*.py"))


def test_the_table_is_up_to_date() -> None:
    assert TABLE.read_text(encoding="utf-8") == fidelity.render(), (
        "docs/vendor-fidelity.md is stale: .venv/bin/python -m tests.unit.fidelity > docs/vendor-fidelity.md"
    )


@pytest.mark.parametrize("row", fidelity.all_rows(), ids=lambda row: f"{row.cite} {row.subject}")
def test_each_cited_line_says_what_the_table_quotes(row: fidelity.Row) -> None:
    if row.cite.startswith("DESIGN"):
        assert not row.quote
        return
    doc, _, number = row.cite.partition(":")
    lines = (fidelity.DOCS / doc).read_text(encoding="utf-8").splitlines()
    assert 1 <= int(number) <= len(lines), f"{row.cite} does not exist"
    said = " ".join(
        lines[int(number) - 1 : int(number) + 1]
    )  # a table row of the docs wraps onto the next line
    assert row.quote.casefold() in said.casefold(), f"{row.cite} does not say {row.quote!r}"


def test_each_named_test_exists() -> None:
    defined = {
        match
        for path in (ROOT / "tests").rglob("test_*.py")
        for match in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    named = {row.test for row in fidelity.all_rows()}
    assert named - defined == set()


def test_every_citation_in_the_models_is_in_the_table() -> None:
    table = TABLE.read_text(encoding="utf-8")
    listed = set(re.findall(r"\| ([a-z-]+\.txt:\d+) \|", table))
    cited = {
        (path.name, citation)
        for path in MODEL_FILES
        for citation in fidelity.CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "the models cite their doc lines"
    assert {f"{where}: {citation}" for where, citation in cited if citation not in listed} == set()


def test_the_doc_copy_is_verbatim() -> None:
    """docs/vendor-docs is the vendors' text as given (line numbers are citations); compared when the
    original folder is at hand."""
    original = ROOT.parent / "shared" / "vendor-docs"
    if not original.is_dir():
        pytest.skip("the original vendor-docs folder is not next to this checkout")
    for path in original.iterdir():
        assert (fidelity.DOCS / path.name).read_bytes() == path.read_bytes(), path.name


def test_every_doc_field_of_every_write_has_a_row() -> None:
    # A field added to a model without a doc line fails `find_line` (LookupError) here.
    for operation in fidelity.DOC_OF:
        if operation != "vitec_get_contacts":
            assert fidelity.operation_rows(operation)


def test_a_line_that_does_not_say_it_fails() -> None:
    """The checker can fail: a row quoting what its line does not say is caught."""
    wrong = fidelity.Row("x", "vitec-person-lead.txt:24", "En leadskälla måste anges", "", "", "test_case")
    with pytest.raises(AssertionError):
        test_each_cited_line_says_what_the_table_quotes(wrong)
