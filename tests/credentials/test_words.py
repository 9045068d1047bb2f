"""One source for words (issue 12): every claim of the catalogue and every colour has its words in ``credentials.words``."""

from __future__ import annotations

from credentials.catalogue import HEALTH_COLOURS, LICENCE_TYPES
from credentials.words import CLAIM_LABELS, COLOURS, NO_ANOMALY, colour_name, words_json
from issuer import validation


def test_every_claim_of_every_type_has_a_chinese_and_an_english_label():
    for ltype in LICENCE_TYPES:
        for claim in ltype.claims:
            zh, en = CLAIM_LABELS[claim.name]
            assert zh and en and zh != en, claim.name


def test_every_colour_has_its_words_and_no_other():
    assert tuple(COLOURS) == HEALTH_COLOURS
    assert all(w.zh.startswith(w.name_zh) and w.en.lower().startswith(w.name_en) for w in COLOURS.values())
    assert COLOURS["green"].advice_zh == "" and all(COLOURS[c].advice_zh for c in ("yellow", "red"))
    assert colour_name("red") == "红码 / red"


def test_the_issuers_no_anomaly_reason_is_the_wallets():
    # issuer/validation.py writes it into a green code; the wallet hides it (it is no reason) by these words.
    assert validation.NO_ANOMALY == NO_ANOMALY == words_json()["no_anomaly"]


def test_words_json_carries_every_label_and_colour():
    words = words_json()
    assert words["claims"] == {name: list(label) for name, label in CLAIM_LABELS.items()}
    assert set(words["colours"]) == set(HEALTH_COLOURS)
