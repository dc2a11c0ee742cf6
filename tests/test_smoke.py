from conftest import SAMPLE_ARTICLE


def test_sample_send_writes_one_eml_per_valid_subscriber(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (project_dir / "outbox").rglob("*.eml"))
    assert files == [
        "ada@example.com.eml",
        "nameless@example.com.eml",
        "tom@example.net.eml",
        "zoe@example.org.eml",
    ]
