"""Issues whose send started: what was frozen (the rendered content, as JSON, and the
list, transport and articles) and whether the send is done. The content codec lives
here: the ledger is what reads it back, whatever the render code does meanwhile."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsletter.render import RenderedIssue
from newsletter.render.placeholders import Field, Template
from newsletter.state.engine import Engine

ISSUE_STATES = ("sending", "done")


@dataclass(frozen=True)
class IssueRecord:
    id: str
    list_name: str
    transport: str
    content_hash: str  # of the article files when the send started
    state: str  # sending | done
    created_at: str
    finished_at: str | None
    content: str  # the frozen rendered issue, as JSON ('' when listed without it)
    audience: str | None = None  # JSON: who it was sent to, when not its list alone

    def audience_data(self) -> dict[str, Any] | None:
        """The audience it was frozen with (None: its list alone)."""
        return json.loads(self.audience) if self.audience else None

    def rendered(self) -> RenderedIssue:
        return load_rendered(self.content)


_COLUMNS = "id, list, transport, content_hash, state, created_at, finished_at"


class Issues:
    """The issues table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, issue_id: str) -> IssueRecord | None:
        row = self.engine.one(
            f"SELECT {_COLUMNS}, content, audience FROM issues WHERE id = ?", (issue_id,)
        )
        return IssueRecord(*row) if row else None

    def all(self) -> list[IssueRecord]:
        """Newest first, without their content."""
        rows = self.engine.all(
            f"SELECT {_COLUMNS}, '', audience FROM issues ORDER BY created_at DESC, id"
        )
        return [IssueRecord(*row) for row in rows]

    def add(
        self,
        rendered: RenderedIssue,
        list_name: str,
        transport: str,
        articles: list[str],
        content_hash: str,
        now: datetime,
        audience: dict[str, Any] | None = None,
    ) -> int:
        """Record a new issue (in the caller's transaction); returns its key.
        `audience`: who it goes to, when not `list_name` alone."""
        self.engine.execute(
            "INSERT INTO issues (id, list, transport, articles, content, content_hash, state, "
            "created_at, finished_at, audience) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, NULL, ?)",
            (rendered.id, list_name, transport, json.dumps(articles), dump_rendered(rendered),
             content_hash, now.isoformat(),
             json.dumps(audience, sort_keys=True) if audience else None),
        )  # fmt: skip
        return int(
            self.engine.value(
                "INSERT INTO issue_keys (issue_id, recipients) VALUES (?, 0) RETURNING n",
                (rendered.id,),
            )
        )

    def key(self, issue_id: str) -> tuple[int, int, int] | None:
        """(key, first seq, last seq) of an issue's recipients."""
        row = self.engine.one(
            "SELECT n, first_seq, last_seq FROM issue_keys WHERE issue_id = ?", (issue_id,)
        )
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def finish(self, issue_id: str, now: datetime) -> bool:
        """sending -> done (compare-and-set)."""
        return (
            self.engine.changed(
                "UPDATE issues SET state = 'done', finished_at = ? WHERE id = ? "
                "AND state = 'sending'",
                (now.isoformat(), issue_id),
            )
            == 1
        )


def dump_rendered(rendered: RenderedIssue) -> str:
    """The rendered issue as JSON, as the ledger freezes it."""

    def template(t: Template) -> dict[str, Any]:
        return {"literals": t.literals, "keys": t.keys, "prefix": t.prefix}

    return json.dumps(
        {
            "id": rendered.id,
            "subject": template(rendered.subject),
            "html": template(rendered.html),
            "text": template(rendered.text),
            "preheader": rendered.preheader,
            "language": rendered.language,
            "fields": {k: [f.column, f.default] for k, f in rendered.fields.items()},
            "archive": rendered.archived,
        }
    )


def load_rendered(text: str) -> RenderedIssue:
    data = json.loads(text)

    def template(d: dict[str, Any]) -> Template:
        return Template(tuple(d["literals"]), tuple(d["keys"]), d["prefix"])

    return RenderedIssue(
        id=data["id"],
        subject=template(data["subject"]),
        html=template(data["html"]),
        text=template(data["text"]),
        preheader=data["preheader"],
        language=data["language"],
        fields={k: Field(k, column, default) for k, (column, default) in data["fields"].items()},
        archived=bool(data.get("archive", True)),  # frozen before issue 17: archived
    )
