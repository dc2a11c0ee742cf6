"""`newsletter send` to the outbox: one correct, personalised .eml per subscriber."""

import email
import json
import re
from email import policy

import pytest
from conftest import SAMPLE_ARTICLE, SECRET, open_state, write

from newsletter.signing import link_reader

OUTBOX = "outbox/000_1718b35f7cc77fd8"


def read_eml(path):
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def body(message, kind):
    """A decoded part with its CRLF line ends (as on the wire) made into newlines."""
    return message.get_body((kind,)).get_content().replace("\r\n", "\n")


@pytest.fixture
def sent(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert result.exit_code == 0, result.output
    return result


def test_send_summary_counts_accepted_and_bad_rows(sent):
    assert sent.stdout.strip() == (
        f"Sent issue 000_1718b35f7cc77fd8 to list sample: 4 accepted by outbox ({OUTBOX}/) "
        "in 1 batch; skipped 2 bad rows (1 duplicate)."
    )
    assert "subscribers/sample.csv:5: 'not-an-email' invalid address" in sent.stderr
    assert "subscribers/sample.csv:6: 'ADA@Example.com' duplicate of line 2" in sent.stderr


def test_each_eml_is_multipart_alternative_text_then_html(project_dir, sent):
    message = read_eml(project_dir / OUTBOX / "ada@example.com.eml")
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts)
    assert re.match(r"Pop Culture Weekly\n\w+ \d+, \d{4}\n\nHi Ada Lovelace,", text)
    assert "Hi Ada Lovelace," in html
    assert "ada@example.com" in html and "%%nl" not in html and "%%nl" not in text


def test_headers_are_complete_and_the_unsubscribe_link_verifies(project_dir, sent):
    message = read_eml(project_dir / OUTBOX / "zoe@example.org.eml")
    assert message["From"] == "Pop Culture Weekly <news@example.com>"
    assert message["To"].addresses[0].display_name == "Zoë Ångström-Núñez"
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["Reply-To"] == "editor@example.com"
    assert message["Subject"] == (
        "Chrissy Teigen Says Miles Is Almost Walking & Where Has The Time Gone"
    )
    assert message["Date"].datetime is not None
    assert message["Message-ID"].startswith("<000_1718b35f7cc77fd8.")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"]
    assert link.startswith("<http://127.0.0.1:8025/unsubscribe?") and link.endswith(">")
    assert link_reader(SECRET.encode(), link[1:-1]) == ("sample", "zoe@example.org")
    assert "zoe" not in link  # the address is in the token, sealed
    html = body(message, "html")
    assert link[1:-1].replace("&", "&amp;") in html  # the footer link is the same one


def test_raw_header_bytes_are_ascii_and_encode_the_unicode_name(project_dir, sent):
    raw = (project_dir / OUTBOX / "zoe@example.org.eml").read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # no raw 8-bit bytes in headers
    assert b"=?utf-8?" in head


def test_text_part_lines_fit_78_columns_except_a_lone_url(project_dir, sent):
    for path in (project_dir / OUTBOX).glob("*.eml"):
        for line in body(read_eml(path), "plain").splitlines():
            assert len(line) <= 78 or re.fullmatch(r"(\[\d+\] )?https?://\S+", line), line


def test_subscriber_with_markup_in_name_is_escaped_in_html_raw_in_text(project_dir, sent):
    message = read_eml(project_dir / OUTBOX / "tom@example.net.eml")
    assert message["To"].addresses[0].display_name == "Tom <b>Bold</b> & Sons"
    text = body(message, "plain")
    html = body(message, "html")
    assert "Hi Tom <b>Bold</b> & Sons," in text
    assert "Hi Tom &lt;b&gt;Bold&lt;/b&gt; &amp; Sons," in html
    assert "<b>Bold</b>" not in html


def test_subscriber_without_name_gets_the_fallback(project_dir, sent):
    message = read_eml(project_dir / OUTBOX / "nameless@example.com.eml")
    assert message["To"] == "nameless@example.com"
    assert "Hi there," in body(message, "plain")


def test_script_name_is_escaped_in_html_and_raw_in_text(project_dir, cli):
    write(
        project_dir / "subscribers" / "x.csv",
        "email,name\nx@example.com,<script>alert(1)</script>\n",
    )
    assert cli("send", SAMPLE_ARTICLE, "--list", "x", "--yes").exit_code == 0
    message = read_eml(project_dir / OUTBOX / "x@example.com.eml")
    assert "Hi <script>alert(1)</script>," in body(message, "plain")
    html = body(message, "html")
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;," in html
    assert "<script" not in html


def test_rendering_happens_once_whatever_the_number_of_recipients(project_dir, cli, monkeypatch):
    rows = "".join(f"user{i}@example.com,User {i}\n" for i in range(250))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    import jinja2
    import premailer

    renders, inlines = [], []
    real_render, real_inline = jinja2.Template.render, premailer.Premailer.transform
    monkeypatch.setattr(
        jinja2.Template, "render", lambda *a, **k: renders.append(1) or real_render(*a, **k)
    )
    monkeypatch.setattr(
        premailer.Premailer, "transform", lambda *a, **k: inlines.append(1) or real_inline(*a, **k)
    )
    result = cli("send", SAMPLE_ARTICLE, "--list", "big", "--yes")
    assert result.exit_code == 0, result.output
    assert len(list((project_dir / OUTBOX).glob("*.eml"))) == 250
    assert (len(renders), len(inlines)) == (3, 1)  # subject, HTML and text, once each


def test_semicolon_list_with_bom_is_read(project_dir, cli):
    write(project_dir / "subscribers" / "eu.csv", "\ufeffEmail;Name\nmarie@example.fr;Marie\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", "eu", "--yes")
    assert result.exit_code == 0, result.output
    assert "Hi Marie," in body(read_eml(project_dir / OUTBOX / "marie@example.fr.eml"), "plain")


def test_dry_run_sends_nothing_and_lists_recipients(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: nothing is sent." in result.stdout
    assert "recipients  4 (skipping 2 bad rows)" in result.stdout
    assert not (project_dir / "outbox").exists()


def test_dry_run_json_is_data(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert data["recipients"] == 4 and data["bad_rows"] == 2 and data["dry_run"] is True


def test_test_send_goes_to_one_address_marked_as_test(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--test", "ada@example.com")
    assert result.exit_code == 0, result.output
    files = list((project_dir / "outbox").rglob("*.eml"))
    assert [f.relative_to(project_dir).as_posix() for f in files] == [
        f"{OUTBOX}/test/ada@example.com.eml"
    ]
    message = read_eml(files[0])
    assert message["Subject"].startswith("[Test] Chrissy Teigen")
    assert "Hi Ada Lovelace," in body(message, "plain")


def test_send_json_reports_the_result(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--json")
    data = json.loads(result.stdout)
    assert (data["accepted"], data["bad_rows"], data["duplicates"]) == (4, 2, 1)


def test_custom_issue_id_names_the_outbox_folder(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--id", "2026-11-25")
    assert result.exit_code == 0
    assert len(list((project_dir / "outbox" / "2026-11-25").glob("*.eml"))) == 4


def test_secret_is_made_once_in_the_state_kept_from_others(project_dir, cli, monkeypatch):
    monkeypatch.delenv("NEWSLETTER_SECRET")
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    state = project_dir / ".newsletter" / "state.db"
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the key that signs the links
    assert state.parent.stat().st_mode & 0o777 == 0o700
    with open_state(project_dir) as opened:
        first = opened.secrets.get("unsubscribe")
    assert first and len(first) == 64
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    with open_state(project_dir) as opened:
        assert opened.secrets.get("unsubscribe") == first
    outbox = (project_dir / OUTBOX / "ada@example.com.eml").read_text()
    assert first not in outbox
    assert not (project_dir / ".newsletter" / "secret").exists()


def test_the_secret_of_an_earlier_release_is_taken_in_and_its_links_keep_working(
    project_dir, cli, monkeypatch
):
    """Before issue 13 the key was kept in .newsletter/secret: the state takes it in on
    first use, so the links of every issue sent with it still verify."""
    monkeypatch.delenv("NEWSLETTER_SECRET")
    old = "a" * 64
    write(project_dir / ".newsletter" / "secret", old + "\n")
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    (project_dir / ".newsletter" / "secret").unlink()  # gone: the state has it now
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    eml = read_eml(project_dir / "outbox" / "welcome" / "ada@example.com.eml")
    link = eml["List-Unsubscribe"][1:-1]
    assert link_reader(old.encode(), link) == ("sample", "ada@example.com")


def test_a_list_with_no_valid_subscriber_is_an_error_after_its_rows_are_reported(project_dir, cli):
    write(project_dir / "subscribers" / "bad.csv", "email\nnope\n\nalso-nope\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", "bad", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("skipped: subscribers/bad.csv:2: 'nope' invalid address")
    assert lines[1].startswith("skipped: subscribers/bad.csv:4: 'also-nope'")
    assert lines[2] == (
        "error: subscribers/bad.csv: no valid subscribers on this list; nothing was sent"
    )


def test_test_send_to_a_missing_list_is_an_error(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--test", "ada@example.com", "--list", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: subscribers/nope.csv: no such list file"
    assert not (project_dir / "outbox").exists()


def test_a_test_copy_needs_no_list_and_says_whose_copy_it_is(project_dir, cli):
    """With several lists `send --test` refused to run without --list."""
    write(project_dir / "subscribers" / "other.csv", "email\nx@example.com\n")
    result = cli("send", SAMPLE_ARTICLE, "--test", "ada@example.com")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(
        "as a sample reader's copy (no list: the template's fallbacks)."
    )
    (path,) = (project_dir / "outbox").rglob("*.eml")
    assert "Hi there," in body(read_eml(path), "plain")  # not Ada's copy: no list was named
    dry = cli("send", SAMPLE_ARTICLE, "--test", "ada@example.com", "--dry-run")
    assert dry.stdout.rstrip().endswith("via outbox, with no list.")


def test_test_copies_go_to_several_addresses_each_as_their_own(project_dir, cli):
    """`--test a --test b` kept the last address silently."""
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--test", "ada@example.com",
                 "--test", "guest@example.org", "--test", "ADA@example.com")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2  # the same address twice is one copy
    assert lines[0].endswith("to ada@example.com via outbox (outbox/000_1718b35f7cc77fd8/test/), "
                             "as their copy on list sample.")  # fmt: skip
    assert lines[1].endswith("guest@example.org via outbox (outbox/000_1718b35f7cc77fd8/test/), "
                             "as a sample reader's copy (not on list sample: the template's "
                             "fallbacks).")  # fmt: skip
    files = sorted(p.name for p in (project_dir / "outbox").rglob("*.eml"))
    assert files == ["ada@example.com.eml", "guest@example.org.eml"]
    texts = {p.name: body(read_eml(p), "plain") for p in (project_dir / "outbox").rglob("*.eml")}
    assert "Hi Ada Lovelace," in texts["ada@example.com.eml"]
    assert "Hi there," in texts["guest@example.org.eml"]


def test_test_copies_are_a_few(project_dir, cli):
    many = [a for n in range(26) for a in ("--test", f"t{n}@example.com")]
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", *many)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --test is given 26 addresses: a test goes to at most 25"
    )
    assert not (project_dir / "outbox").exists()


def test_test_send_to_someone_not_on_the_list_uses_the_fallbacks(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--test", "guest@example.org")
    assert result.exit_code == 0, result.output
    (path,) = (project_dir / "outbox").rglob("*.eml")
    message = read_eml(path)
    assert "Hi there," in body(message, "plain")
    link = message["List-Unsubscribe"][1:-1]
    assert link_reader(SECRET.encode(), link) == ("sample", "guest@example.org")


def test_confirmation_on_a_terminal_counts_first_and_can_be_declined(project_dir, cli, wiring):
    wiring["terminal"] = True
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", input="n\n")
    assert result.exit_code == 1
    assert "Send “Chrissy Teigen" in result.stdout and "to 4 subscribers of sample" in result.stdout
    assert not (project_dir / "outbox").exists()
    accepted = cli("send", SAMPLE_ARTICLE, "--list", "sample", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(list((project_dir / OUTBOX).glob("*.eml"))) == 4
    assert accepted.stderr.count("skipped:") == 2  # bad rows shown once, before the prompt


def test_empty_list_is_the_same_error_on_a_terminal_and_under_cron(project_dir, cli, wiring):
    write(project_dir / "subscribers" / "hdr.csv", "email,name\n")
    quiet = cli("send", SAMPLE_ARTICLE, "--list", "hdr", "--yes")
    wiring["terminal"] = True  # a terminal also shows `check`'s warnings first
    asked = cli("send", SAMPLE_ARTICLE, "--list", "hdr")
    assert quiet.exit_code == asked.exit_code == 1
    error = "error: subscribers/hdr.csv: no valid subscribers on this list; nothing was sent\n"
    assert quiet.stderr == error
    assert asked.stderr.startswith("warning: link-local: ") and asked.stderr.endswith(error)


def test_an_outbox_that_cannot_be_written_stops_the_send_with_a_one_line_error(project_dir, cli):
    write(project_dir / "outbox" / "000_1718b35f7cc77fd8", "a file where a folder should be")
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert result.exit_code == 1
    assert result.stdout.startswith("Stopped issue 000_1718b35f7cc77fd8 to list sample: 0 accepted")
    assert result.stderr.splitlines()[-1] == (
        "error: outbox/000_1718b35f7cc77fd8: cannot write to the outbox: File exists"
    )


def test_progress_away_from_a_terminal_is_a_plain_line_now_and_then(capsys, monkeypatch):
    from newsletter.cli.output import ProgressBar as Progress
    from newsletter.send.report import SendReport

    report = SendReport("i", "l", "outbox", "x", accepted=2000, batches=2)
    progress = Progress(5000, tty=False)
    progress(report)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(Progress, "LINE_EVERY", 0.0)
    progress(report)
    assert capsys.readouterr().err == "sending: 2,000 of 5,000 files written to x\n"


def test_a_test_copy_the_transport_refuses_is_an_error_not_a_sent_copy(cli, wiring):
    """Whatever the case the address is given in (the list's spelling is used)."""
    from newsletter.transports.base import BatchResult

    class Refusing:
        name, batch_size = "refusing", 1

        def send(self, batch):
            return BatchResult(
                refused={r.email: "550 5.1.1 no such user" for r in batch.recipients}
            )

        def destination(self, issue_id, test=False):
            return "nowhere"

        def close(self):
            pass

    wiring["transports"] = lambda project, kind, dry_run: Refusing()
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--test", "ADA@example.com")
    assert result.exit_code == 1 and "Sent a test copy" not in result.stdout
    assert result.stderr == (
        "error: ada@example.com: the test copy was refused: 550 5.1.1 no such user\n"
    )
