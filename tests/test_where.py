"""The --where language (newsletter/where.py): what each form means, and an error
for each kind of mistake that names the column where it goes wrong."""

import pytest

from newsletter.where import WhereError, both, parse_where

ROWS = {
    "ada": {"email": "ada@example.com", "name": "Ada", "country": "DE", "plan": "paid",
            "age": "36", "signup date": "2026-01-05"},
    "bob": {"email": "bob@example.com", "name": "Bob", "country": "AT", "plan": "free",
            "age": "9", "signup date": "2025-12-31"},
    "cy": {"email": "cy@example.com", "name": "", "country": "FR", "plan": "paid",
           "age": "", "signup date": ""},
    "dee": {"email": "dee@example.com", "name": "Dee", "country": "US", "plan": "Paid",
            "age": "100.5"},
}  # fmt: skip


def matching(text: str) -> set[str]:
    test = parse_where(text)
    return {who for who, row in ROWS.items() if test(row)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('country in ["DE", "AT"] and plan == "paid"', {"ada"}),
        ("country in ['DE', 'AT'] or plan == 'paid'", {"ada", "bob", "cy"}),
        ('country not in ["DE", "AT"]', {"cy", "dee"}),
        ('not country in ["DE"]', {"bob", "cy", "dee"}),
        ('plan != "paid"', {"bob", "dee"}),  # text compares exactly: "Paid" is not "paid"
        ("age >= 18", {"ada", "dee"}),  # as numbers: "9" < 18 < "36"; "" is not a number
        ("age < 18", {"bob"}),
        ("age > 9.5", {"ada", "dee"}),
        ("age == 36.0", {"ada"}),
        ("age != 36", {"bob", "cy", "dee"}),  # a number is never equal to text
        ('age > "4"', {"bob"}),  # a quoted string is text: "9" > "4" > "36" > "100.5"
        ("age in [9, 36]", {"ada", "bob"}),
        ("age is empty", {"cy"}),
        ("name is not empty and age is not empty", {"ada", "bob", "dee"}),
        ("`signup date` >= '2026-01-01'", {"ada"}),  # ISO dates sort as text
        ("`Signup Date` is empty", {"cy", "dee"}),  # a field the row lacks is empty
        ('not (plan == "paid" or country == "AT")', {"dee"}),
        ('plan == "paid" and (country == "DE" or country == "FR")', {"ada", "cy"}),
        ('plan == "free" or plan == "paid" and country == "FR"', {"bob", "cy"}),  # and first
        ("NAME == 'Ada' AND Country == 'DE'", {"ada"}),  # keywords and fields in any case
        ('name == "it\\"s" or name == \'Bob\'', {"bob"}),
        ('email == "ada@example.com"', {"ada"}),
    ],
)
def test_an_expression_keeps_exactly_the_rows_it_says(text, expected):
    assert matching(text) == expected


def test_the_fields_an_expression_reads_are_known_lower_cased():
    found = parse_where("Country in ['DE'] and `Signup Date` is empty or age > 1")
    assert found.fields == {"country", "signup date", "age"}


def test_both_must_hold():
    joined = both(parse_where('plan == "paid"'), parse_where("age > 18"))
    assert joined is not None and joined.fields == {"plan", "age"}
    assert {who for who, row in ROWS.items() if joined(row)} == {"ada"}
    assert both(None, parse_where("age > 1")) is not None and both(None, None) is None


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ('country in ["DE", "AT"] and plan ==', 36, 'expected a value after "=="'),
        ('plan = "paid"', 6, 'use "=="'),
        ('plan == "paid', 9, "has no closing"),
        ('(plan == "paid"', 16, 'expected ")" to close the "(" at column 1'),
        ('plan == "paid" country', 16, 'expected "and", "or" or the end'),
        ('country in "DE"', 12, 'expected "["'),
        ('country in ["DE" "AT"]', 18, 'expected "," or "]"'),
        ("country in [DE]", 13, "expected a string, a number"),
        ("plan", 5, "expected an operator"),
        ("plan is full", 9, 'expected "empty" after "is"'),
        ("and plan == 1", 1, "expected a field"),
        ("plan == 1 and", 14, "expected a field"),
        ("age > 18years", 9, "expected a space or an operator"),
        ("plan ! 'x'", 6, 'use "!="'),
        ("plan == $x", 9, "unexpected '$'"),
        ("``", 1, "cannot be empty"),
        ("   ", 1, "the expression is empty"),
    ],
)
def test_a_mistake_is_named_with_its_column(text, column, words):
    with pytest.raises(WhereError) as caught:
        parse_where(text)
    assert caught.value.column == column, str(caught.value)
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"column {column}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["__import__('os')", "().__class__", "plan.__len__() == 1"])
def test_python_is_not_evaluated(text):
    with pytest.raises(WhereError):
        parse_where(text)
