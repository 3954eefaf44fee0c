"""docs/roles.md is the delegated-administration table as the binary renders
it: `coffre roles --markdown` prints the file byte for byte, `coffre roles
--json` gives the same rows as data, and an unknown option is a usage error
(exit 2). No daemon is needed."""

import json
import re
import subprocess

from conftest import COFFRE_BIN, REPO, daemon_env

DOC = REPO / "docs" / "roles.md"
LEVELS = ("main", "local", "co_local", "subdivision")
SCOPES = {"organization", "own domain", "own subdivision", "-"}
HEADER = "| operation | what | main security manager | local manager | co-local manager | subdivision manager |"


def roles(*args):
    return subprocess.run([COFFRE_BIN, "roles", *args], capture_output=True, timeout=30, env=daemon_env())


def markdown_rows(text):
    """The table's data rows as dicts keyed like the JSON rows."""
    lines = text.splitlines()
    assert HEADER in lines, "roles.md lost its table header"
    i = lines.index(HEADER)
    assert lines[i + 1] == "|---|---|---|---|---|---|"
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"a table row with {len(cells)} cells: {line!r}"
        m = re.fullmatch(r"`([a-z_.]+)`", cells[0])
        assert m, f"operation cell not a code span: {line!r}"
        rows.append({"operation": m.group(1), "description": cells[1], "main": cells[2], "local": cells[3],
                     "co_local": cells[4], "subdivision": cells[5]})
    return rows


def test_markdown_is_the_doc_byte_for_byte():
    r = roles("--markdown")
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    want = DOC.read_bytes()
    assert r.stdout == want, "docs/roles.md differs from `coffre roles --markdown`; regenerate it"
    assert r.stderr == b""


def test_json_rows_match_the_markdown_table():
    r = roles("--json")
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    data = json.loads(r.stdout)
    assert isinstance(data, list) and data
    for row in data:
        assert set(row) == {"operation", "description", *LEVELS}, row
        for lv in LEVELS:
            assert row[lv] in SCOPES, row
    md = markdown_rows(DOC.read_text(encoding="utf-8"))
    assert data == md
    ops = [row["operation"] for row in data]
    assert len(ops) == len(set(ops)), "an operation is listed twice"


def test_table_content_is_the_seed_delegation():
    """The shape the delegation tests rely on: the main manager everywhere, the domain for local and
    co-local managers, the subdivision for subdivision managers, and the few exceptions."""
    rows = {row["operation"]: row for row in json.loads(roles("--json").stdout)}
    assert set(rows) == {"domain.define", "domain.contact", "domain.technical_user", "manager.local",
                         "manager.co_local", "subdivision.manage", "manager.subdivision", "user.register",
                         "user.authorize", "user.attributes", "user.block", "user.delete", "user.search"}
    for op, row in rows.items():
        assert row["main"] == "organization", op
    assert [rows["domain.define"][lv] for lv in LEVELS[1:]] == ["-", "-", "-"]
    assert [rows["manager.local"][lv] for lv in LEVELS[1:]] == ["-", "-", "-"]
    assert [rows["manager.co_local"][lv] for lv in LEVELS[1:]] == ["own domain", "-", "-"]
    for op in ("domain.contact", "domain.technical_user", "subdivision.manage", "manager.subdivision"):
        assert [rows[op][lv] for lv in LEVELS[1:]] == ["own domain", "own domain", "-"], op
    for op in ("user.register", "user.authorize", "user.attributes", "user.block", "user.delete", "user.search"):
        assert [rows[op][lv] for lv in LEVELS[1:]] == ["own domain", "own domain", "own subdivision"], op


def test_unknown_option_is_a_usage_error():
    r = roles("--bogus")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == b""
    assert b"--bogus" in r.stderr
