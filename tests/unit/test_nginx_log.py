"""caredesk.nginx_log.redact: nginx's error log lines keep what failed, without the client's address,
query strings or conversation ids (nginx's format quotes them and cannot be changed)."""

from caredesk.nginx_log import redact

FAILED = (b'2026/12/03 10:31:50 [error] 14082#14082: *3 upstream prematurely closed connection while reading '
          b'response header from upstream, client: 203.0.113.7, server: _, request: "GET '
          b'/conversations/tg:5551234/tracker?token=SECRET HTTP/1.1", upstream: '
          b'"http://127.0.0.1:7001/conversations/tg:5551234/tracker?token=SECRET", host: "chat.shop.example", '
          b'referrer: "https://shop.example/account?session=SECRET#top"\n')


def test_a_failed_request_keeps_the_error_path_and_upstream_but_no_client_query_or_conversation():
    assert redact(FAILED) == (
        b'2026/12/03 10:31:50 [error] 14082#14082: *3 upstream prematurely closed connection while reading '
        b'response header from upstream, client: -, server: _, request: "GET /conversations/-/tracker?- '
        b'HTTP/1.1", upstream: "http://127.0.0.1:7001/conversations/-/tracker?-", host: "chat.shop.example", '
        b'referrer: "https://shop.example/account?-"\n')


def test_a_quote_or_an_odd_request_line_from_the_client_does_not_let_the_query_through():
    crafted = (b'2026/12/03 10:00:00 [error] 1#1: *9 upstream timed out, client: 198.51.100.2, server: _, '
               b'request: "POST /webhooks/rest/webhook?a="b",token=SECRET HTTP/1.1", upstream: '
               b'"http://127.0.0.1:7001/webhooks/rest/webhook?a="b",token=SECRET", host: "x"\n')
    assert b"SECRET" not in redact(crafted) and b"198.51.100.2" not in redact(crafted)
    without_protocol = b'[error] 1#1: *9 x, client: 198.51.100.2, server: _, request: "GET /socket.io/?sid=SECRET"\n'
    assert redact(without_protocol) == b'[error] 1#1: *9 x, client: -, server: _, request: "GET /socket.io/?-"\n'


def test_lines_about_nginx_itself_stay_as_they_are():
    for line in (b'2026/12/03 10:00:00 [emerg] 1#1: bind() to 127.0.0.1:5005 failed (98: Address already in use)\n',
                 b'2026/12/03 10:00:00 [notice] 1#1: signal process started\n'):
        assert redact(line) == line
