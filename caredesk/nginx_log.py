"""nginx's error log without secrets or personal data: nginx in the foreground, its error log read
from its standard error and written to a file with those parts cut.

    python -m caredesk.nginx_log LOG_FILE nginx -p PREFIX -c nginx.conf -g 'daemon off;'

nginx's error log has a fixed format: a line about a request (a backend that closed the connection,
timed out or refused it, a body too large...) ends with the client's address, the whole request
line, the upstream URL, the Host and the Referer. The request line and the upstream URL carry the
query string as the client sent it: the Rasa HTTP API's ``?token=`` (the agent console calls it
through nginx), socket.io's session id (``sid=``, which lets whoever holds it read that chat while it
lasts), anything a client puts in a query; the path carries the conversation id of Rasa's API
(``/conversations/tg:<Telegram user>/...``). The access log leaves all of these out
(``$caredesk_logged_path`` in the nginx configuration); nginx has no setting to do the same for the
error log, and a higher log level would drop the failures themselves.

So the configuration says ``error_log stderr`` and this wrapper writes each line to ``LOG_FILE``
with the client's address, every query string and Referer query, and the conversation id cut
(``client: -``, ``/socket.io/?-``, ``/conversations/-/tracker``). Everything else of the line stays:
what failed, on which upstream, for which path. Signals are passed to nginx (TERM, INT, QUIT, HUP,
USR1, USR2, WINCH); USR1 (reopen the log files, as logrotate sends) also reopens ``LOG_FILE``. The
wrapper ends when nginx does, with its exit code; nginx gets SIGTERM if the wrapper dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import signal
import subprocess
import sys
from pathlib import Path

CLIENT = re.compile(rb"(, client: )[^,]+")
# A query string: up to a space (before the request line's protocol; a request line has no other) or
# the end of its quoted field (a quote before the next field nginx writes, or the line's end), so a
# quote a client put in the query does not end it early.
QUERY = re.compile(rb'\?\S*?(?=\s|"(?:, (?:upstream|host|referrer): "|\s*$)|$)')
# Rasa's HTTP API paths name the conversation (the access log's map does the same).
CONVERSATION = re.compile(rb"(/conversations/)[^/\s\"?]+")
PASSED_ON = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGWINCH)


def redact(line: bytes) -> bytes:
    """One error log line without the client's address, query strings or conversation ids."""
    line = CLIENT.sub(rb"\1-", line)
    line = QUERY.sub(b"?-", line)
    return CONVERSATION.sub(rb"\1-", line)


def _nginx_dies_with_us() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run(log_path: Path, command: list[str]) -> int:
    """Run ``command`` (nginx), writing its standard error to ``log_path`` line by line, redacted."""
    nginx = subprocess.Popen(command, stderr=subprocess.PIPE, preexec_fn=_nginx_dies_with_us)
    reopen = False

    def pass_on(number: int, _frame) -> None:
        nonlocal reopen
        reopen = reopen or number == signal.SIGUSR1
        with contextlib.suppress(ProcessLookupError):
            nginx.send_signal(number)

    for number in PASSED_ON:
        signal.signal(number, pass_on)
    assert nginx.stderr is not None  # stderr=PIPE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    try:
        for line in nginx.stderr:
            if reopen:
                log.close()
                log, reopen = log_path.open("ab"), False
            log.write(redact(line))
            log.flush()
    finally:
        log.close()
    return nginx.wait()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m caredesk.nginx_log LOG_FILE nginx [nginx arguments...]", file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[1:])


if __name__ == "__main__":
    sys.exit(main())
