"""Start the Rasa server with its HTTP API token kept off the command line.

    python -m caredesk.rasa_launcher run --model ... --enable-api

Every user of the machine can read a process's command line (``ps``, ``/proc/*/cmdline``); only
the process's own user can read its environment. So the runner never puts the token into the
arguments: this launcher takes it from the settings (``RASA_API_TOKEN``, or ``var/rasa_api_token``
in development) and adds ``--auth-token`` to ``sys.argv`` inside this process before handing over
to Rasa's own command line. Changing ``sys.argv`` does not change ``/proc/self/cmdline``.
"""

from __future__ import annotations

import logging
import sys
import warnings

from common.settings import get_settings
from crm_store.privacy import redact


class TokenOnCommandLine(SystemExit):
    """The token was given as an argument, where every user of the machine can read it."""


def rasa_arguments(arguments: list[str], token: str) -> list[str]:
    """Rasa's ``sys.argv``: the given arguments plus the API token (one argument, even if the token
    starts with a dash)."""
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in arguments):
        raise TokenOnCommandLine("Pass the Rasa API token in RASA_API_TOKEN (or var/rasa_api_token), "
                                 "not with --auth-token: every user can read a command line.")
    return ["rasa", *arguments, f"--auth-token={token}"]


def redact_logs_and_warnings() -> None:
    """Whatever Rasa logs or warns about may quote the customer (it warns with the whole message
    when a text starting with "/" is not a valid intent payload): personal data is redacted from
    every record and warning of this process before any handler writes it."""
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return record
        record.msg, record.args = redact(message), ()
        return record

    logging.setLogRecordFactory(redacted_record)
    show = warnings.showwarning

    def redacted_warning(message, category, filename, lineno, file=None, line=None) -> None:
        show(redact(str(message)), category, filename, lineno, file, line)

    warnings.showwarning = redacted_warning


def main() -> None:
    redact_logs_and_warnings()
    sys.argv = rasa_arguments(sys.argv[1:], get_settings().rasa_api_token)
    from rasa.__main__ import main as rasa_main

    from bot import rasa_patches

    rasa_patches.apply()

    rasa_main()


if __name__ == "__main__":
    main()
