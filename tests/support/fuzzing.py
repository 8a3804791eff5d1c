"""What the property-based fuzzing tests share: bounded, reproducible Hypothesis settings, the
strategies for hostile input, and the check that nothing internal leaks to a client.

Every run tries the same examples (``derandomize``) and writes no example database; Hypothesis's
own caches go to the git-ignored ``var/hypothesis`` (tests/conftest.py sets the folder).
"""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st


def fuzz(examples: int) -> settings:
    """Settings for one fuzzing test: ``examples`` tries, the same ones on every run, no deadline
    (a real server's first answer may be slow), no example database, and no shrinking: a failure is
    reported as found, so a failing run stays as short as a passing one."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=False,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# What a Python traceback or an internal error page gives away.
LEAKS = ("Traceback (most recent call last)", 'File "/', "site-packages", "Internal Server Error")


def assert_no_leak(text: str | bytes, where: str = "") -> None:
    """No traceback, no library internals in what a client or a person is shown."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for leak in LEAKS:
        assert leak not in text, f"{where}: the answer shows {leak!r}:\n{text[:2000]}"


# --- hostile values -------------------------------------------------------------------------------

HUGE = 200_000  # characters: past the csv module's field limit (131,072) and every message cap

# Unicode with the awkward parts in: control characters, lone surrogates excluded (not encodable),
# non-characters, right-to-left marks, NUL.
ugly_text = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(codec="utf-8"), max_size=60),
    st.sampled_from(["", " ", "\x00", "\x00hello", "\ufeff", "\u202e", "\ud7ff\ue000", "\x7f\x85\x9f", "\uffff",
                     "'; DROP TABLE customers; --", "<script>alert(1)</script>", "{{7*7}}", "%s%n", "../../etc/passwd",
                     "null", "NaN", "-1", "1e309", "[x](y)", "- a: b", "#", "\r\n\r\n", "\\", '"', "A" * 5000]),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), ugly_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(ugly_text, inner, max_size=4)), max_leaves=12)


def deeply_nested(depth: int = 30_000) -> bytes:
    """A JSON document nested past the parser's recursion limit."""
    return b"[" * depth + b"]" * depth


raw_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"{", b"null", b"[]", b'{"sender": "a", "message": "b"', b"\xff\xfe\x00",
                     '{"sender": "é", "message": "é"}'.encode("latin-1"), b'{"a": NaN}', b'{"a": 1e999}',
                     deeply_nested(), b"x" * 70_000]),
)

content_types = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
    "application/json; charset=no-such-charset", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data", "multipart/form-data; boundary=xyz", "application/octet-stream", "", "*/*",
])


# --- files ----------------------------------------------------------------------------------------

cells = st.one_of(ugly_text, st.integers().map(str), st.floats().map(str), st.just("x" * HUGE),
                  st.sampled_from(["negative", "neutral", "positive", "1", "0", "yes", "2026-06-01", "2026-13-45",
                                   "2026-06-01T10:00:00+05:00", "not a date"]))


@st.composite
def csv_files(draw, columns: list[str]) -> bytes:
    """A CSV as a person or another program might hand it over: the expected columns or some of them,
    extra ones, short and long rows, huge fields, numbers where text belongs, other encodings,
    no header, nothing at all, or not a CSV."""
    kind = draw(st.sampled_from(["table", "table", "table", "empty", "binary", "header_only"]))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf"]))
    if kind == "binary":
        return draw(st.binary(min_size=1, max_size=400))
    header = draw(st.lists(st.one_of(st.sampled_from(columns), ugly_text), min_size=0, max_size=len(columns) + 2))
    rows = [] if kind == "header_only" else draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out, escapechar="\\")
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")
