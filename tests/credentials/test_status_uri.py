from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from credentials.status_uri import format_status_uri, parse_status_uri, status_file


def test_round_trip():
    assert parse_status_uri(format_status_uri("bj-traffic-police", 3)) == ("bj-traffic-police", 3)


@given(st.text(max_size=40))
def test_anything_else_is_none_and_never_a_path_escape(text):
    parsed = parse_status_uri(text)
    path = status_file(Path("/root-dir"), text, "json")
    if parsed is None:
        assert path is None
    else:
        assert path.parent.parent == Path("/root-dir") and ".." not in path.parts


def test_path_traversal_and_odd_forms_are_refused():
    for uri in ("tbsl:../x/1", "tbsl:a/0", "tbsl:a/01", "tbsl:A/1", "tbsl:a/1/2", "https://x/1", "tbsl:a/-1", "tbsl:a/1 "):
        assert parse_status_uri(uri) is None, uri
