"""Refresh newsletter/check/caniemail.json from caniemail's data.

The data is caniemail.com's (MIT), as published on the npm registry in the
`caniemail` package (data/caniemail.json). This keeps the four client families
`newsletter check` reports on, and only what the check reads.

    .venv/bin/python scripts/refresh_caniemail.py [--version 2.0.2] [--from FILE]

--from reads a caniemail.json (or the package's .tgz) already on disk instead.
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "newsletter" / "check" / "caniemail.json"
FAMILIES = ("gmail", "outlook", "apple-mail", "yahoo")
REGISTRY = "https://registry.npmjs.org/caniemail"


def fetch(version: str) -> tuple[dict, str]:
    with urllib.request.urlopen(REGISTRY, timeout=60) as answer:
        meta = json.load(answer)
    version = meta["dist-tags"]["latest"] if version == "latest" else version
    url = meta["versions"][version]["dist"]["tarball"]
    with urllib.request.urlopen(url, timeout=120) as answer:
        return from_tarball(answer.read()), f"npm caniemail@{version}"


def from_tarball(data: bytes) -> dict:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile("package/data/caniemail.json")
        assert member is not None
        return json.load(member)


def trim(data: dict, source: str) -> dict:
    features = []
    for feature in data["data"]:
        stats = {f: feature["stats"][f] for f in FAMILIES if f in feature["stats"]}
        features.append({
            "slug": feature["slug"], "title": feature["title"], "url": feature["url"],
            "category": feature["category"], "stats": stats,
            "notes": feature.get("notes_by_num") or {},
        })  # fmt: skip
    return {
        "source": source,
        "licence": "MIT, caniemail.com (HTeuMeuLeu); see caniemail-LICENSE",
        "last_update_date": data["last_update_date"],
        "families": {f: data["nicenames"]["family"][f] for f in FAMILIES},
        "platforms": data["nicenames"]["platform"],
        "features": sorted(features, key=lambda f: f["slug"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="latest")
    parser.add_argument("--from", dest="source", type=Path)
    args = parser.parse_args()
    if args.source:
        raw = args.source.read_bytes()
        data = from_tarball(raw) if args.source.suffix == ".tgz" else json.loads(raw)
        data, source = data, f"file {args.source.name}"
    else:
        data, source = fetch(args.version)
    trimmed = trim(data, source)
    OUT.write_text(json.dumps(trimmed, ensure_ascii=False, indent=0, sort_keys=False) + "\n")
    print(f"{OUT}: {len(trimmed['features'])} features, caniemail data of "
          f"{trimmed['last_update_date']} ({source})")  # fmt: skip


if __name__ == "__main__":
    main()
