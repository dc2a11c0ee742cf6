"""Importing other tools' exports: formats detected and mapped, suppressions recorded,
an existing list merged in place, bad files refused without changing anything."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from conftest import DATA, write

from newsletter.audience.importing import import_list
from newsletter.audience.imports import ImportedRow, SkippedRow, read_export
from newsletter.audience.lists import BadRow, Subscriber, read_list
from newsletter.errors import ListError, UsageError

SAMPLES = DATA / "imports"


def suppressions(project) -> dict[str, tuple[str, str]]:
    return {s.email: (s.reason, s.source) for s in project.state.suppressions.all()}


def emails(path: Path) -> list[str]:
    return [r.email for r in read_list(path) if isinstance(r, Subscriber)]


def summary_of(rows):
    """(line, email, suppression) of usable rows; (line, reason) of the others."""
    out = []
    for row in rows:
        if isinstance(row, ImportedRow):
            out.append((row.line, row.email, row.suppression))
        elif isinstance(row, SkippedRow):
            out.append((row.line, row.email, "skipped: " + row.reason))
        else:
            out.append((row.line, "rejected: " + row.reason.split(":")[0]))
    return out


EXPECTED = {
    "mailchimp_subscribed.csv": (
        "mailchimp",
        [
            (2, "ada.byron@example.com", None),
            (4, "grace.h@example.org", None),
            (5, "rejected: invalid address"),
            (6, "Linus.T@example.net", None),
        ],
    ),
    "mailchimp_unsubscribed.csv": (
        "mailchimp",
        [(2, "quit.reader@example.com", "unsubscribed"),
         (3, "angry.reader@example.org", "spam report")],
    ),
    "mailchimp_cleaned.csv": ("mailchimp", [(2, "gone.mailbox@example.com", "bounced")]),
    "substack_email_list.csv": (
        "substack",
        [
            (2, "paid.reader@example.com", None),
            (3, "free.reader@example.org", None),
            (4, "quiet.reader@example.com", "unsubscribed"),
            (5, "a1b2c3@deletion-request.substack.com", "skipped: a Substack deletion request"),
        ],
    ),
    "buttondown_subscribers.csv": (
        "buttondown",
        [
            (2, "reg.reader@example.com", None),
            (3, "premium.reader@example.org", None),
            (4, "left.reader@example.com", "unsubscribed"),
            (5, "pending.reader@example.com",
             "skipped: never confirmed (Buttondown type unactivated)"),
            (6, "gone.reader@example.org", "removed"),
            (7, "bounced.reader@example.com", "bounced"),
        ],
    ),
    "listmonk_subscribers.csv": (
        "listmonk",
        [
            (2, "kim.lee@example.com", None),
            (3, "sam.roe@example.org", None),
            (4, "blocked.one@example.com", "removed"),
        ],
    ),
    "plain_semicolon.csv": (
        "csv",
        [(2, "joao.silva@example.com", None), (3, "marie.curie@example.org", None),
         (5, "rejected: missing email")],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_detected_and_mapped(name):
    fmt, rows = EXPECTED[name]
    found = read_export(SAMPLES / name, name)
    assert found.format == fmt
    assert summary_of(found.rows) == rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_naming_the_format_gives_the_same_rows_as_detecting_it(name):
    fmt, _ = EXPECTED[name]
    assert read_export(SAMPLES / name, name, fmt).rows == read_export(SAMPLES / name, name).rows


def test_mailchimp_first_and_last_name_make_the_name_and_bookkeeping_is_left_out():
    found = read_export(SAMPLES / "mailchimp_subscribed.csv", "x")
    ada = found.usable[0]
    assert ada.name == "Ada Byron"
    assert ada.fields["first_name"] == "Ada" and ada.fields["phone_number"] == "+44 20 7946 0000"
    assert ada.fields["notes"] == "Met at the\r\nspring meetup"  # a quoted newline
    assert not {"member_rating", "optin_ip", "leid", "euid", "last_changed"} & set(ada.fields)
    assert found.fields[0] == "name"


def test_listmonk_attributes_are_flattened_to_their_top_level_scalars():
    kim = read_export(SAMPLES / "listmonk_subscribers.csv", "x").usable[0]
    assert kim.name == "Kim Lee"
    assert kim.fields == {"city": "Bengaluru", "likes_tea": "true", "projects": "3"}


def test_buttondown_metadata_is_flattened_and_tags_and_notes_kept():
    reg = read_export(SAMPLES / "buttondown_subscribers.csv", "x").usable[0]
    assert reg.fields == {
        "notes": "likes long reads",
        "tags": "news,tech",
        "first_name": "Reggie",
        "plan": "free",
    }


def test_a_bom_and_a_semicolon_and_a_quoted_newline_are_read():
    found = read_export(SAMPLES / "plain_semicolon.csv", "x")
    assert found.usable[0].name == "João Silva"
    assert found.usable[1].fields["city"] == "Paris;\r\nFrance"


def test_mailchimp_nonsubscribed_export_is_refused(tmp_path):
    path = tmp_path / "nonsubscribed_email_audience_export_1a2b.csv"
    shutil.copy(SAMPLES / "mailchimp_subscribed.csv", path)
    with pytest.raises(ListError, match="never opted in"):
        read_export(path, "x.csv")


def test_an_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError, match="--from 'aweber'"):
        read_export(SAMPLES / "plain_semicolon.csv", "x", "aweber")


# --- import_list ---


def test_import_creates_a_list_with_email_name_and_the_fields(project, project_dir):
    summary = import_list(project, "news", SAMPLES / "mailchimp_subscribed.csv", "auto")
    path = project_dir / "subscribers" / "news.csv"
    assert summary.created and (summary.added, summary.rejected) == (3, 1)
    header = path.read_text().splitlines()[0]
    assert header == "email,name,first_name,last_name,address,phone_number,birthday,notes,tags"
    assert emails(path) == ["ada.byron@example.com", "grace.h@example.org", "Linus.T@example.net"]
    assert summary.rejected_rows[0].line == 5


def test_a_mailchimp_cleaned_row_becomes_a_suppression_not_a_list_row(project, project_dir):
    summary = import_list(project, "news", SAMPLES / "mailchimp_cleaned.csv")
    assert (summary.suppressed, summary.new_suppressions, summary.added) == (1, 1, 0)
    assert suppressions(project) == {"gone.mailbox@example.com": ("bounced", "import:mailchimp")}
    assert not (project_dir / "subscribers" / "news.csv").exists()  # nothing to list


def test_each_marked_row_of_each_format_becomes_a_suppression(project):
    for name in ("mailchimp_unsubscribed.csv", "substack_email_list.csv",
                 "buttondown_subscribers.csv", "listmonk_subscribers.csv"):  # fmt: skip
        import_list(project, "news", SAMPLES / name)
    assert suppressions(project) == {
        "quit.reader@example.com": ("unsubscribed", "import:mailchimp"),
        "angry.reader@example.org": ("spam report", "import:mailchimp"),
        "quiet.reader@example.com": ("unsubscribed", "import:substack"),
        "left.reader@example.com": ("unsubscribed", "import:buttondown"),
        "gone.reader@example.org": ("removed", "import:buttondown"),
        "bounced.reader@example.com": ("bounced", "import:buttondown"),
        "blocked.one@example.com": ("removed", "import:listmonk"),
    }


EXISTING = (
    "\ufeffEMAIL;Name;Phone Number;Comment\r\n"
    'keep.me@example.com;Keep Me;;"quoted; with a ; and\r\na newline"\r\n'
    "ADA.BYRON@example.com;Old Name;;friend\r\n"
    "not-an-address;Bad;;\r\n"
    "grace.h@example.org;Grace Hopper;;\r\n"
)


def test_import_into_an_existing_list_keeps_its_header_and_other_rows_byte_for_byte(
    project, project_dir
):
    path = write(project_dir / "subscribers" / "news.csv", EXISTING)
    summary = import_list(project, "news", SAMPLES / "mailchimp_subscribed.csv")
    assert (summary.added, summary.updated, summary.unchanged) == (1, 1, 1)
    assert summary.ignored_columns == [
        "first_name", "last_name", "address", "birthday", "notes", "tags"
    ]  # fmt: skip
    text = path.read_bytes().decode()
    old_lines = EXISTING.split("\r\n")
    assert text.startswith(old_lines[0] + "\r\n" + old_lines[1] + "\r\n" + old_lines[2] + "\r\n")
    # Ada's row updated in place: her address as the list had it, the new name and phone.
    assert "\r\nADA.BYRON@example.com;Ada Byron;+44 20 7946 0000;friend\r\n" in text
    assert "\r\nnot-an-address;Bad;;\r\n" in text
    assert text.endswith("grace.h@example.org;Grace Hopper;;\r\nLinus.T@example.net;Linus;;\r\n")


def test_importing_the_same_export_again_changes_nothing(project, project_dir):
    path = write(project_dir / "subscribers" / "news.csv", EXISTING)
    import_list(project, "news", SAMPLES / "mailchimp_subscribed.csv")
    before = path.read_bytes()
    again = import_list(project, "news", SAMPLES / "mailchimp_subscribed.csv")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert path.read_bytes() == before


def test_an_empty_value_in_the_export_leaves_the_lists_value(project, project_dir):
    path = write(
        project_dir / "subscribers" / "news.csv",
        "email,name,city\njoao.silva@example.com,Old,Porto\n"
        "marie.curie@example.org,Marie Curie,Paris\n",
    )
    summary = import_list(project, "news", SAMPLES / "plain_semicolon.csv")
    assert (summary.updated, summary.unchanged) == (2, 0)
    assert path.read_text() == (
        "email,name,city\njoao.silva@example.com,João Silva,Lisboa\n"
        "marie.curie@example.org,Marie Curie,Paris;  France\n"  # a line break: a space each
    )


def test_an_address_suppressed_here_is_not_added_back(project, project_dir):
    project.state.suppressions.add(
        "Grace.H@example.org", "unsubscribed", "link", project.clock.now()
    )
    summary = import_list(project, "news", SAMPLES / "mailchimp_subscribed.csv")
    assert summary.skipped == 1 and summary.added == 2
    assert (
        summary.skipped_rows[0].reason
        == "suppressed in the project state (unsubscribed, from link)"
    )
    assert "grace.h@example.org" not in emails(project_dir / "subscribers" / "news.csv")


def test_a_failed_list_write_leaves_the_list_as_it_was_and_the_suppressions_recorded(
    project, project_dir, monkeypatch
):
    path = write(project_dir / "subscribers" / "news.csv", EXISTING)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)  # the disk, full
    with pytest.raises(ListError, match="cannot write: No space left on device"):
        import_list(project, "news", SAMPLES / "substack_email_list.csv")
    assert path.read_bytes() == EXISTING.encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["news.csv", "sample.csv"]
    assert suppressions(project) == {
        "quiet.reader@example.com": ("unsubscribed", "import:substack")
    }


BAD_FILES = {
    "no-email.csv": (
        "First,Last\nAda,Byron\n",
        r"no-email.csv:1: no email column in the header \(found: First, Last\)",
    ),
    "binary.csv": (
        b"email\nada@example.com\n\x00\x01\x02PK\x03\x04",
        r"binary.csv:3: binary data, not text",
    ),
    "empty.csv": ("", r"empty.csv:1: the file is empty"),
    "all-bad.csv": (
        "email,name\nnope,A\n,B\n",
        r"all-bad.csv: no row could be imported: 2 rejected, the first at line 2: 'nope' "
        r"invalid address",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_refused_and_changes_nothing(project, project_dir, tmp_path, name):
    content, message = BAD_FILES[name]
    path = write(project_dir / "subscribers" / "news.csv", EXISTING)
    export = write(tmp_path / name, content)
    with pytest.raises(ListError, match=message):
        import_list(project, "news", export)
    assert path.read_bytes() == EXISTING.encode()
    assert suppressions(project) == {}


def test_a_missing_file_is_refused(project, tmp_path):
    with pytest.raises(ListError, match=r"gone\.csv: no such file"):
        import_list(project, "news", tmp_path / "gone.csv")


def test_a_list_that_is_not_utf8_is_refused_before_anything_is_written(project, project_dir):
    write(project_dir / "subscribers" / "news.csv", b"email,name\nada@example.com,Ad\xe9\n")
    with pytest.raises(ListError, match=r"news\.csv:2: not UTF-8 text"):
        import_list(project, "news", SAMPLES / "substack_email_list.csv")
    assert suppressions(project) == {}


def test_bad_rows_are_bad_rows_not_errors(tmp_path):
    path = write(tmp_path / "x.csv", "email,name\nok@example.com,A\nok@EXAMPLE.com,B\nx,y,z\n")
    rows = read_export(path, "x.csv").rows
    assert isinstance(rows[0], ImportedRow)
    assert rows[1] == BadRow(3, "duplicate of line 2", "ok@EXAMPLE.com")
    assert rows[2] == BadRow(4, "3 values for 2 columns")
