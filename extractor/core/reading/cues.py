"""The words of sanctions news: which sentences report an action, of which kind and with which measures.

Plain regular expressions over English sentences. A sentence *reports* an action when it has
an action verb or noun ("designated", "imposed sanctions on", "banned", "removed ... from the
list") and is not about something else: "sanctioned" meaning approved ("an officially
sanctioned record"), a threat, call or proposal ("urged the EU to sanction"), or earlier
history ("was designated in 2011", "previously sanctioned").
"""

from __future__ import annotations

import re

# An action verb or noun. Each alternative is a word stem, so the past, present and -ing
# forms all count ("designated", "is designating", "the designation of").
ACTION = re.compile(
    r"\b(?:designat(?:es|ed|ing)|designations?\s+of|sanction(?:ed|ing)|(?:de-?)?listed|delist(?:s|ing|ings?)?|"
    r"block(?:s|ed|ing)|froze|frozen|freez(?:es|ing)|banned|bans|banning|revok(?:es|ed|ing)|revocations?\s+of|"
    r"identif(?:ied|ying|ies)\b.{0,80}?\bas\b|"
    r"(?:impos|levi|slapp|announc|plac|hit|introduc|adopt|extend|renew|lift|eas|terminat|rescind|remov)\w*\s+"
    r"(?:\S+\s+){0,5}?(?:sanctions|restrictions|bans?|embargo|measures|price caps?|controls|penalties)|"
    r"(?:sanctions|restrictions|bans?|embargo|measures)\s+(?:on|against)|"
    r"remov(?:es|ed|ing)\b.{0,160}?\bfrom\b.{0,80}?\blist|"
    r"taking action against|took action|(?:designations|listings|those listed|persons listed)\s+(?:today\s+)?include|"
    r"ineligible for entry|visa (?:restrictions|bans?)|countermeasures?|counter-sanctions|price cap)",
    re.IGNORECASE,
)
# Verbs whose grammatical object is the target ("designated X", "sanctions on X").
OBJECT_VERB = re.compile(
    r"\b(?:designat(?:es|ed|ing)|sanction(?:s|ed|ing)|block(?:s|ed|ing)|banned|bans|banning|"
    r"identif(?:ied|ying|ies)|remov(?:es|ed|ing)|delist(?:s|ed|ing)?|"
    r"(?:revocation|designation|delisting|removal)s?\s+of|"
    r"(?:sanctions|restrictions|bans?|embargo|measures)\s+(?:on|against)|action\s+against|"
    r"(?:actions?|sanctions|designations|measures)\s+(?:today\s+)?target(?:s|ed|ing)?|"
    r"(?:designations|listings|listed|designated|sanctioned)\s+(?:today\s+)?include(?:s|d)?)\b",
    re.IGNORECASE,
)
# "X is designated", "X and Y were sanctioned": the subject is the target.
PASSIVE = re.compile(
    r"\b(?:is|are|was|were|has been|have been|had been|will be|being|be)\s+(?:also\s+|now\s+|hereby\s+|today\s+|"
    r"being\s+|publicly\s+|jointly\s+)*(?:designated|sanctioned|blocked|listed|delisted|removed|targeted|"
    r"identified)\b",
    re.IGNORECASE,
)
# Where the object of an action verb ends: reasons, authorities, relative clauses.
OBJECT_END = re.compile(
    r"\s(?:for|from|pursuant|under|because|due to|in response|in connection|in coordination|in relation|over|as part|"
    r"who|which|whose|that|saying|after|following|since|on behalf|to|as an?)\s|[:—–]|\s-\s",
)
# "sanctioned" meaning approved, and other senses of the words that are not sanctions.
NOT_SANCTIONS = re.compile(
    r"\b(?:officially|formally|IAAF[- ])\s*sanctioned\b|\bsanctioned\s+(?:race|event|record|fight|bout|match|"
    r"competition|marathon|tournament|meet|game|time)s?\b|\bblock(?:ed|ing)?\s+(?:the\s+)?(?:road|street|shot|vote)",
    re.IGNORECASE,
)
# Threats, calls, proposals and reviews: sanctions that have not happened.
HYPOTHETICAL = re.compile(
    r"\b(?:would|could|might|should|may|must)\s+(?:\w+\s+)?(?:be\s+)?(?:sanction|impos|designat|ban|block)|"
    r"\b(?:threat\w*|call(?:s|ed|ing)?\s+(?:for|on)|urg\w+|propos\w+|consider\w*|weigh\w*|persuade\w*|"
    r"push(?:ed|es|ing)?\s+for|demand\w*|seek\w*|plan(?:s|ned)?\s+to)\b|\bif\s|\bnot\s+(?:\w+\s+)?(?:sanction|impos)|"
    r"\bdid not\b|\bno\s+sanctions\b",
    re.IGNORECASE,
)
# Earlier history: "was designated in 2011", "previously sanctioned", "has been the subject of".
BACKGROUND = re.compile(
    r"\b(?:previously|earlier|formerly|already|once|last\s+(?:year|month|week|spring|summer|autumn|fall|winter|"
    r"january|february|march|april|may|june|july|august|september|october|november|december)|"
    r"(?:in|since|from)\s+(?:(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\s+)?(?:19|20)\d\d|has been the subject|remains?\s+(?:designated|blocked|listed|under)|"
    r"will remain|continues? to be)\b",
    re.IGNORECASE,
)
LIFT = re.compile(r"\b(?:lift\w*|remov\w*|delist\w*|de-list\w*|revo\w+|unblock\w*|terminat\w*|rescind\w*|"
                  r"eas(?:e|ed|es|ing)\s+(?:\S+\s+){0,3}sanctions)\b", re.IGNORECASE)
AMEND = re.compile(r"\b(?:amend\w*|extend\w*|renew\w*|expand\w*)\b(?=.{0,60}\b(?:sanctions|measures|restrictions|"
                   r"designations?)\b)", re.IGNORECASE)
COUNTER = re.compile(r"\b(?:hit back|hits back|retaliat\w*|countermeasures?|counter-sanctions|tit-for-tat|"
                     r"of (?:its|their) own|in response to (?:the\s+)?(?:\w+\s+){0,3}sanctions)\b", re.IGNORECASE)
# "today", "on Monday", "announced": the action is this article's news.
NEWS = re.compile(r"\b(?:today|yesterday|this week|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
                  r"announc\w+|now)\b", re.IGNORECASE)
# A list the text introduces: "the following individuals:", "as follows:".
LIST_INTRO = re.compile(r"\b(?:the following|as follows|these (?:individuals|entities|persons))\b|:\s*$",
                        re.IGNORECASE)

MEASURES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (measure, re.compile(pattern, re.IGNORECASE))
    for measure, pattern in (
        ("asset_freeze", r"\b(?:(?:property|assets?|funds)\b.{0,120}\b(?:blocked|frozen)|block(?:ed|ing|s)?\s+"
                         r"(?:the\s+)?(?:property|assets)|froze|freez\w*\s+(?:\S+\s+){0,3}assets|asset freezes?)"),
        ("travel_ban", r"\b(?:visa|ineligible for entry|entry ban|travel ban|banned from entering|entry into)\b"),
        ("investment_ban", r"\b(?:investment (?:ban|restrictions?|prohibitions?)|purchase or sale\b.{0,60}securities)"),
        ("financial_restrictions", r"\bfinancial (?:sanctions|restrictions)\b"),
        ("export_controls", r"\b(?:export controls?|entity list)\b"),
        ("import_ban", r"\b(?:import ban|ban(?:s|ned)? (?:on )?(?:the )?imports?)\b"),
        ("arms_embargo", r"\barms embargo\b"),
        ("price_cap", r"\bprice caps?\b"),
        ("services_ban", r"\b(?:services ban|ban on (?:\S+\s+){0,3}services|(?:maritime|financial) services\b.{0,80}"
                         r"\bprohibit)"),
    )
)


# Present-tense forms: "is designating", "are designated", "is being designated" report this article's news.
PRESENT = re.compile(r"\b(?:is|are|am)\s+(?:\w+\s+){0,2}?(?:being\s+)?\w+(?:ed|ing)\b", re.IGNORECASE)


def reports_action(sentence: str) -> bool:
    """Whether the sentence reports a sanctions action as something that happened (not a threat, not history)."""
    if not ACTION.search(sentence) or NOT_SANCTIONS.search(sentence):
        return False
    if HYPOTHETICAL.search(sentence):
        return False
    return not (BACKGROUND.search(sentence) and not NEWS.search(sentence))


def states_measures(sentence: str) -> bool:
    """A sentence that says what sanctions do ("They are subject to an asset freeze and travel ban")."""
    return bool(measures_in(sentence)) and bool(_ABOUT_SANCTIONS.search(sentence)) and not (
        HYPOTHETICAL.search(sentence) or NOT_SANCTIONS.search(sentence))


_ABOUT_SANCTIONS = re.compile(r"\b(?:sanction\w*|measures|designat\w*|listed|subject to|restrictions?)\b",
                              re.IGNORECASE)


def kind_of(sentence: str) -> str:
    """impose, lift or amend, by the verbs of the sentence."""
    if LIFT.search(sentence):
        return "lift"
    if AMEND.search(sentence):
        return "amend"
    return "impose"


def measures_in(sentence: str) -> list[str]:
    """The measures a sentence names, in the schema's order."""
    return [measure for measure, pattern in MEASURES if pattern.search(sentence)]
