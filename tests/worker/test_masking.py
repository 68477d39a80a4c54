"""The one masking function: secrets become *** in text and in JSON record lines."""

from __future__ import annotations

import json

from orchestrate.core.secrets import Masker


def test_text_and_json_lines_are_masked_even_where_json_escapes_the_value() -> None:
    secret = 'p"ss\\wörd-1'
    masker = Masker([secret, "abc", ""])
    assert masker.text(f"login with {secret} now") == "login with *** now"
    line = json.dumps({"message": f"token {secret}"}).encode()
    assert json.loads(masker.line(line)) == {"message": "token ***"}
    raw = f"stderr {secret}".encode()
    assert masker.line(raw) == b"stderr ***"


def test_short_values_are_left_alone_and_a_secret_holding_another_is_masked_whole() -> None:
    masker = Masker(["abc", "secret", "secret-longer"])
    assert masker.text("abc secret-longer secret") == "abc *** ***"
    assert not Masker(["abc", "xy"])
