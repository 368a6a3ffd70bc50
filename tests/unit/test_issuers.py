"""The issuer registry: every printed form of a sanctioning body maps to one stable id."""

from __future__ import annotations

import pytest

from extractor.core.issuers import issuer_body, issuer_id, registry, same_issuer, within
from extractor.core.issuers.registry import Registry
from extractor.eval.goldset import load_gold_set
from tests.support import ROOT

# Every issuer the gold set prints, with the body it names.
GOLD_ISSUERS = {
    ("us", "U.S. Department of the Treasury’s Office of Foreign Assets Control (OFAC)"): "us-ofac",
    ("us", "Department of the Treasury’s Office of Foreign Assets Control (OFAC)"): "us-ofac",
    ("us", "U.S. Department of the Treasury’s Office of Foreign Assets Control"): "us-ofac",
    ("us", "アメリカ財務省の海外資産管理事務所 ( OFAC )"): "us-ofac",
    ("us", "Department of the Treasury"): "us-treasury",
    ("us", "Department of Treasury"): "us-treasury",
    ("us", "U.S. Department of the Treasury"): "us-treasury",
    ("us", "U.S. Department of the Treasury (Treasury)"): "us-treasury",
    ("us", "Treasury Department"): "us-treasury",
    ("us", "Treasury"): "us-treasury",
    ("us", "Department of State"): "us-state",
    ("us", "U.S. Department of State"): "us-state",
    ("us", "State Department"): "us-state",
    ("us", "President Biden"): "us-president",
    ("us", "President of the United States"): "us-president",
    ("us", "United States"): "us",
    ("gb", "United Kingdom"): "gb",
    ("gb", "U.K."): "gb",
    ("eu", "European Union"): "eu",
    ("ca", "Canada"): "ca",
    ("au", "Australia"): "au",
    ("jp", "Japan"): "jp",
    ("jp", "日本"): "jp",
    ("fr", "France"): "fr",
    ("it", "Italy"): "it",
    ("de", "Germany"): "de",
    ("de", "Federal Aviation Office of Germany"): "de-lba",
}

# The bodies the registry is for, each in the forms texts print it (authority, printed, id).
VARIANTS = [
    ("us", "OFAC", "us-ofac"),
    ("us", "Treasury's Office of Foreign Assets Control", "us-ofac"),
    ("us", "the U.S. Treasury", "us-treasury"),
    ("us", "Secretary of State Antony J. Blinken", "us-state"),
    ("us", "Commerce Department", "us-commerce"),
    ("us", "Commerce's Bureau of Industry and Security (BIS)", "us-bis"),
    ("us", "BIS", "us-bis"),
    ("us", "the White House", "us-president"),
    ("gb", "HM Treasury", "gb-hmt"),
    ("gb", "Her Majesty's Treasury", "gb-hmt"),
    ("gb", "Treasury", "gb-hmt"),
    ("gb", "Office of Financial Sanctions Implementation (OFSI)", "gb-ofsi"),
    ("gb", "OFSI", "gb-ofsi"),
    ("gb", "Foreign, Commonwealth & Development Office", "gb-fcdo"),
    ("gb", "FCDO", "gb-fcdo"),
    ("gb", "the Foreign Office", "gb-fcdo"),
    ("gb", "UK Government", "gb"),
    ("eu", "Council of the European Union", "eu-council"),
    ("eu", "Council of the EU", "eu-council"),
    ("eu", "EU Council", "eu-council"),
    ("eu", "the Council", "eu-council"),
    ("eu", "European Commission", "eu-commission"),
    ("eu", "EU", "eu"),
    ("ca", "Global Affairs Canada", "ca-gac"),
    ("ca", "Government of Canada", "ca"),
    ("au", "Department of Foreign Affairs and Trade (DFAT)", "au-dfat"),
    ("au", "Australian Sanctions Office", "au-aso"),
    ("jp", "Ministry of Foreign Affairs of Japan", "jp-mfa"),
    ("jp", "外務省", "jp-mfa"),
    ("jp", "Foreign Ministry", "jp-mfa"),
    ("jp", "Ministry of Economy, Trade and Industry (METI)", "jp-meti"),
    ("jp", "経済産業省", "jp-meti"),
    ("jp", "the Japanese government", "jp"),
    ("cn", "Ministry of Commerce (MOFCOM)", "cn-mofcom"),
    ("cn", "China's Ministry of Commerce", "cn-mofcom"),
    ("cn", "商务部", "cn-mofcom"),
    ("cn", "Chinese Foreign Ministry", "cn-mfa"),
    ("cn", "外交部", "cn-mfa"),
    ("cn", "Beijing", "cn"),
    ("ru", "Russian Foreign Ministry", "ru-mfa"),
    ("ru", "Ministry of Foreign Affairs of the Russian Federation", "ru-mfa"),
    ("ru", "МИД России", "ru-mfa"),
    ("ru", "Moscow", "ru"),
    ("un", "UN Security Council", "un-sc"),
    ("un", "1718 Committee", "un-sc-1718"),
    ("un", "Security Council Committee established pursuant to resolution 1718 (2006)", "un-sc-1718"),
    ("un", "ISIL (Da'esh) and Al-Qaida Sanctions Committee", "un-sc-1267"),
    ("un", "Security Council Committee established pursuant to resolution 2745 (2024)", "un-sc-2745"),
    ("ch", "SECO", "ch-seco"),
    ("ua", "Ministry of Foreign Affairs of Ukraine", "ua-mfa"),
    (None, "Office of Foreign Assets Control", "us-ofac"),
    (None, "MOFCOM", "cn-mofcom"),
]


@pytest.mark.parametrize(("key", "expected"), sorted(GOLD_ISSUERS.items()))
def test_every_issuer_the_gold_set_prints_names_its_body(key, expected):
    authority, printed = key
    assert issuer_id(printed, authority) == expected


def test_the_table_above_covers_the_whole_gold_set():
    gold = load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs").gold
    printed = {(a.authority, a.issuer) for g in gold.values() for a in g.actions if a.issuer}
    assert printed == set(GOLD_ISSUERS)


@pytest.mark.parametrize(("authority", "printed", "expected"), VARIANTS)
def test_printed_variants_of_the_sanctioning_bodies(authority, printed, expected):
    assert issuer_id(printed, authority) == expected


def test_the_authority_decides_a_name_several_governments_use_and_unknowns_stay_unknown():
    assert issuer_id("Treasury", None) is None  # the U.S. and U.K. Treasuries both print it
    assert issuer_id("Acme Holdings", "us") is None
    assert issuer_id("", "us") is None and issuer_id(None, "us") is None
    assert issuer_id("European Union", "us") == "eu"  # a body of another jurisdiction, when only one fits


def test_a_body_and_the_body_containing_it_are_one_issuer():
    assert same_issuer("us-ofac", "us-treasury") and same_issuer("us-treasury", "us-ofac")
    assert same_issuer("us-ofac", "us") and same_issuer("un-sc-1718", "un-sc")
    assert not same_issuer("us-state", "us-treasury")
    assert not same_issuer("us-ofac", "gb-hmt")
    assert not same_issuer(None, "us")
    assert within("us-ofac") == ["us-ofac", "us-treasury", "us"]
    assert issuer_body("ua-mfa").parent == "ua" and issuer_body("xx-nothing") is None


def test_the_registry_rejects_a_broken_table():
    from extractor.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown parent"):
        Registry({"bodies": [{"id": "a-b", "name": "B", "jurisdiction": "zz-none", "parent": "nowhere"}]})
    with pytest.raises(ConfigError, match="twice"):
        Registry({"bodies": [{"id": "us-x", "name": "X", "jurisdiction": "us"}] * 2})
    assert registry().body("us-ofac").name == "Office of Foreign Assets Control"
