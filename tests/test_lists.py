"""Reading subscriber lists: streamed, checked, de-duplicated, bad rows reported."""

from conftest import REPO, write

from newsletter.audience.lists import BadRow, Subscriber, read_list


def rows(path):
    return list(read_list(path, "subscribers/x.csv"))


def test_sample_list_exercises_every_rule():
    found = list(read_list(REPO / "subscribers" / "sample.csv"))
    good = [r for r in found if isinstance(r, Subscriber)]
    bad = [r for r in found if isinstance(r, BadRow)]
    assert [s.email for s in good] == [
        "ada@example.com",
        "zoe@example.org",
        "tom@example.net",
        "nameless@example.com",
    ]
    assert [(b.line, b.reason.split(":")[0]) for b in bad] == [
        (5, "invalid address"),
        (6, "duplicate of line 2"),
    ]
    assert good[1].name == "Zoë Ångström-Núñez" and good[3].name == ""
    assert good[2].fields["city"] == "Springfield"


def test_lines_are_physical_lines_even_with_quoted_newlines(tmp_path):
    path = write(
        tmp_path / "x.csv",
        'email,note\na@example.com,"two\nlines"\n\nbad,x\nb@example.com,y\n',
    )
    found = rows(path)
    assert isinstance(found[0], Subscriber) and found[0].fields["note"] == "two\nlines"
    assert found[1] == BadRow(5, found[1].reason, "bad")
    assert isinstance(found[2], Subscriber) and found[2].line == 6


def test_header_is_case_and_space_insensitive_and_extra_columns_are_fields(tmp_path):
    path = write(tmp_path / "x.csv", " Email , First Name ,Plan\nA@Example.COM,Ada,pro\n")
    (sub,) = rows(path)
    assert sub.email == "A@example.com"  # the domain is normalised, the local part kept
    assert sub.fields == {"email": "A@Example.COM", "first name": "Ada", "plan": "pro"}


def test_idn_domains_are_sent_in_ascii(tmp_path):
    (sub,) = rows(write(tmp_path / "x.csv", "email\nhans@bücher.de\n"))
    assert sub.email == "hans@xn--bcher-kva.de"


def test_non_utf8_row_is_a_bad_row_not_a_crash(tmp_path):
    path = write(tmp_path / "x.csv", b"email,name\nok@example.com,A\nx@example.com,Caf\xe9\n")
    found = rows(path)
    assert isinstance(found[0], Subscriber)
    assert found[1] == BadRow(3, "not UTF-8 text")


def test_ragged_and_empty_rows(tmp_path):
    path = write(tmp_path / "x.csv", "email,name\n,No Address\na@example.com,A,extra\n,,\n")
    found = rows(path)
    assert [(b.line, b.reason) for b in found] == [
        (2, "missing email"),
        (3, "3 values for 2 columns"),
    ]


def test_a_big_list_is_streamed_not_loaded(tmp_path):
    """Reading the first rows of a 30 MB list allocates far less than the file's size."""
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write("email,name\n")
        handle.writelines(f"user{i}@example.com,{'x' * 60}\n" for i in range(400_000))
    assert path.stat().st_size > 30_000_000
    tracemalloc.start()
    stream = read_list(path)
    firsts = [next(stream) for _ in range(1000)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stream.close()
    assert firsts[-1].email == "user999@example.com"
    assert peak < 3_000_000
