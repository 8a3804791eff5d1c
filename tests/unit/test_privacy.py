"""Personal data in customer text becomes placeholders before anything is stored or logged."""

from __future__ import annotations

import time

import pytest

from crm_store.privacy import redact


def test_an_email_address_becomes_a_placeholder():
    assert redact("my email is ana.lopez+shop@example.co.uk, thanks") == "my email is [email], thanks"


def test_an_email_at_the_end_of_a_sentence_keeps_the_full_stop():
    assert redact("It's ana@example.com.") == "It's [email]."


def test_an_email_after_an_ellipsis_is_still_found():
    assert "ana" not in redact("my email...ana@example.com")


def test_a_phone_number_in_any_usual_shape_becomes_a_placeholder():
    for phone in ("+49 30 1234567", "030 1234567", "(030) 123-4567", "06 12 34 56 78", "06.12.34.56.78",
                  "+44 20 7946 0958", "0612345678", "555-123-4567", "030/1234567"):
        assert redact(f"call me on {phone} please") == "call me on [phone] please", phone


def test_a_card_like_number_becomes_a_placeholder_with_or_without_separators():
    for card in ("4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005"):
        assert redact(f"my card {card} was charged") == "my card [card] was charged", card


def test_a_very_long_run_of_digits_is_hidden_too():
    assert redact("ref 1234 5678 9012 3456 7890 1234") == "ref [number]"


def test_a_street_address_becomes_a_placeholder_with_its_postcode_and_city():
    assert redact("send it to 12 High Street, SW1A 1AA London please") == "send it to [address] please"
    assert redact("5 Elm Avenue, 3511 AB Utrecht, NL") == "[address], NL"
    assert redact("new address: 42 Station Road") == "new address: [address]"


def test_french_spanish_german_and_dutch_addresses_become_placeholders():
    assert redact("12 rue de la Paix, 75002 Paris") == "[address]"
    assert redact("vivo en Calle Mayor 5, 28013 Madrid") == "vivo en [address]"
    assert redact("Hauptstraße 5, 10115 Berlin") == "[address]"
    assert redact("Berliner Straße 12a") == "[address]"
    assert redact("Kerkstraat 12, 3511 AB Utrecht") == "[address]"


def test_order_references_amounts_dates_and_tracking_numbers_survive():
    for text in ("where is CD-7KQ2MX?", "order CD 7KQ2MX", "I paid €1,234.56 on 2026-06-01",
                 "it cost 129.99 49.99 with shipping", "delivered Mon 05 May 2026 at 10:30",
                 "tracking number DH1234567890", "https://www.dhl.com/track?tracking-id=DH1234567890",
                 "ticket #12", "I rate it 4/5", "size 38 40 or 42", "on 01.06.2026"):
        assert redact(text) == text, text


def test_a_date_next_to_a_phone_number_keeps_the_date_and_hides_the_phone():
    assert redact("on 01.06.2026 call 0612345678") == "on 01.06.2026 call [phone]"
    assert redact("2026-06-01 0612345678") == "2026-06-01 [phone]"
    assert redact("1/6/2026 030/1234567") == "1/6/2026 [phone]"


def test_everyday_sentences_with_numbers_and_street_words_survive():
    for text in ("I ordered 2 blue shirts", "I waited 3 weeks and no way to reach you", "3 days late",
                 "I want 2 Solar Garden Lights", "The 2 drivers were rude", "give me 5 stars"):
        assert redact(text) == text, text


def test_nothing_personal_in_nothing():
    assert redact("") == ""
    assert redact(None) is None


ADVERSARIAL = {
    "a. x50000": "a." * 50_000,
    "a@a. x25000": "a@a." * 25_000,
    "a.a@ x25000": "a.a@" * 25_000,
    "1-space x50000": "1 " * 50_000,
    "digits x100000": "1" * 100_000,
    "a@ then a.": "a@" + "a." * 50_000,
    "a.. x33000": "a.." * 33_000,
    "number then words": "1 " + "Aa " * 33_000,
    "capitalised words": "Xstra" * 20_000,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_redaction_takes_milliseconds_on_100_kb_of_adversarial_text(name):
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    redact(text)
    # Linear patterns take a few ms here; the old quadratic e-mail pattern took minutes.
    assert time.perf_counter() - started < 0.5, name


@pytest.mark.parametrize("text, hidden", [
    ("my card no.4111111111111111 was charged twice", "4111111111111111"),
    ("Card #4111111111111111", "4111111111111111"),
    ("call me on Tel.01511234567", "01511234567"),
    ("tel.+4930115543", "4930115543"),
    ("ref-4111111111111111", "4111111111111111"),
    ("I live at Baker Street 221b", "Baker Street 221b"),
    ("Main Street 5, 12345 Springfield", "Springfield"),
    ("Karl-Marx-Allee 90, 10243 Berlin", "Karl-Marx-Allee 90"),
    ("Damrak 1, 1012 LG Amsterdam", "Damrak 1"),
])
def test_numbers_glued_to_a_prefix_and_street_first_addresses_are_hidden_too(text, hidden):
    assert hidden not in redact(text)


def test_a_letter_prefixed_tracking_number_a_ticket_and_a_reference_stay_readable():
    text = "order CD-7KQ2MX, ticket #12, 129.99 on 2026-06-01, tracking DH1234567890"
    assert redact(text) == text
