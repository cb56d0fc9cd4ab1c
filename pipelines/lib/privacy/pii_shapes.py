"""What PII and its look-alikes look like: the candidate scan, context words and reference tables.

All patterns are RE2 (run by `pyarrow.compute`) over the ASCII shadow of the text
(`pii_fold`), so `\\d`, spaces and dashes of any script already read as ASCII here.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

# Characters of an address: anything but spaces, controls and the ASCII punctuation that sits
# around addresses in text. Spelled as negated ASCII classes, not Unicode letter classes: those
# multiply RE2's automaton in the combined scan until it gives up its DFA (40x slower).
_NOT_ADDRESS = r"\x00-\x20\x7f@<>()\[\]{}\\\",;:/|"
_LOCAL = rf"[^{_NOT_ADDRESS}.'’][^{_NOT_ADDRESS}]*"
_LABEL = rf"[^{_NOT_ADDRESS}.\-_](?:[^{_NOT_ADDRESS}.]*[^{_NOT_ADDRESS}.\-_])?"
_DOMAIN = rf"(?:{_LABEL}\.)+(?:[A-Za-z]{{2,}}|xn--[A-Za-z0-9-]+|[^\x00-\x7f]{{2,}})"
_IP_LITERAL = r"\[(?:IPv6:)?[0-9A-Fa-f:.]+\]"
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
# an @ with a space on each side too: `anna.kowalska @ przyklad.pl`
EMAIL = rf'(?:"[^"\r\n@]{{1,64}}"|{_LOCAL})(?:@| @ )(?:{_DOMAIN}|{_IP_LITERAL})'
# name [at] example [dot] com, name(at)example.com, name {@} example [.] com; spelled out with
# spaces, the last dot spelled too (so `look at example.com` stays): john.smith AT example DOT com,
# jean dot dupont at exemple dot fr
_BRACKETED_AT = rf" ?{_OPEN} ?(?i:at|@) ?{_CLOSE} ?"
_ANY_DOT = rf"(?: ?{_OPEN} ?(?i:dot|\.) ?{_CLOSE} ?| (?i:dot) |\.)"
_TLD = r"(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)\b"
EMAIL_OBFUSCATED = "|".join(
    [
        rf"{_LOCAL}{_BRACKETED_AT}{_LABEL}(?:{_ANY_DOT}{_LABEL})*{_ANY_DOT}{_TLD}",
        rf"{_LOCAL}(?: (?i:dot) {_LABEL})* (?i:at) {_LABEL}(?:{_ANY_DOT}{_LABEL})* (?i:dot) {_TLD}",
    ]
)
_WRAP = r"(?:[ -]|\r?\n)"
# Groups of four (any case, spaced, dashed or wrapped) after the country and check digits. A word
# after an IBAN may pass for a group: the rules keep the longest valid prefix and the rest of
# the span is looked at again.
IBAN = rf"\b[A-Za-z]{{2}}\d\d(?:{_WRAP}?[A-Za-z0-9]{{4}}){{2,7}}(?:{_WRAP}?[A-Za-z0-9]{{1,4}})?"
IPV6 = r"(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}"
# Between the digit groups of one number: a dot, a dash or slash (maybe spaced: a spaced dot
# ends a sentence), a space, brackets around an area code or a trunk `(0)` with what may follow
# them (`1-(212) 555`, `(0387)-894360`), or one line break.
SEPARATOR = r"(?:\.|[ ]?[/-][ ]?\(?|[ ]?\([ ]?|[ ]?\)[ ]?[./-]?[ ]?|[ ]\(?|\r?\n)"
# x204, ext. 12, ;ext=33, and the words of other languages: poste (fr), Durchwahl/DW (de),
# interno (es, it), ramal (pt)
EXTENSION = r"(?:[ ]?(?:[xX#]|[eE][xX][tT][nN]?\.?|;ext=|[eE]xtension|poste|[dD]urchwahl|DW|interno|ramal)[ ]?\d{1,6})"
# Six digits or more: every phone (Luxembourg's shortest, after a phone word), card or SSN has
# them. An opening bracket without its closing one is not part of the value (`(0151 30015397)`):
# redaction leaves it in the text.
NUMBER = rf"(?:\+ ?\(? ?|\( ?\+? ?)?\d(?:{SEPARATOR}?\d){{5,}}{EXTENSION}?"
IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# Leftmost match wins; at one position the first alternative that matches does.
CANDIDATE = "|".join(f"(?:{p})" for p in (EMAIL, EMAIL_OBFUSCATED, IBAN, IPV6, NUMBER, IPV4))

# Words that introduce a phone number in the languages trainset sees (lower case, any inflection
# that starts with them). "number" alone is not one: order and invoice numbers follow it too.
PHONE_WORDS = (
    "tel", "tél", "phone", "ph", "call", "ring", "dial", "mobile", "mob", "cell", "fax", "hotline",
    "whatsapp", "sms", "text me", "reach me", "contact me", "my number", "mi número", "meine nummer",
    "mon numéro", "meu número", "il mio numero", "mijn nummer", "rufen", "rufnummer",
    "telefon", "rückruf", "ruf", "anruf", "erreichbar", "durchwahl", "zentrale", "festnetz", "handy", "mobil",
    "téléphone", "appel", "rappel", "portable", "joindre",
    "teléfono", "telefono", "llam", "móvil", "movil", "celular", "contacto",
    "telefone", "ligar", "ligue", "contato", "telemóvel",
    "telefoon", "bellen", "numer komórkowy", "komórk", "zadzwo", "chiamare", "cellulare", "gsm", "tlf",
    # "at the number": the number one calls, in each language (a number one orders by is named:
    # ID_WORDS); a national number its region's rules reject is still a phone after them
    "al numero", "al n.", "chiam", "contattaci", "contattami", "al número", "au numéro", "pelo número",
    "no número", "op nummer", "op het nummer", "bel", "pod numer", "unter der nummer", "unter nummer",
)  # fmt: skip
VERSION_WORDS = (
    "v", "ver", "version", "versión", "versão", "release", "rel", "build", "firmware", "fw", "update",
    "upgrad", "aktualisier", "patch", "kernel", "driver", "treiber", "sdk", "api", "app", "versione",
    "versie", "wersj", "verzió", "sürüm", "верси", "сборк", "kompilac", "compilación", "compilação",
    "compilazione", "kompilier",
)  # fmt: skip
SECTION_WORDS = (
    "section", "sect", "sec", "§", "chapter", "chap", "clause", "article", "art", "paragraph",
    "abschnitt", "kapitel", "absatz", "ziffer", "sección", "capítulo", "apartado", "artículo", "seção",
    "chapitre", "partie", "item", "step", "rule", "figure", "fig", "table", "sezione", "capitolo",
    "articolo", "sektion", "artikel", "hoofdstuk", "punkt", "rozdział", "paragraf", "artykuł", "раздел",
    "пункт", "статья", "статьи", "глава", "bölüm", "madde",
)  # fmt: skip
# Words after which a number is an identifier of the business, not a person's phone.
ID_WORDS = (
    "order", "invoice", "customer", "account", "ticket", "case", "reference", "ref", "id", "batch",
    "tracking", "sku", "serial", "contract", "policy", "member", "booking", "bestell", "rechnung",
    "kunden", "auftrag", "vertrag", "sendung", "pedido", "factura", "cliente", "commande", "facture",
    "dossier", "référence", "encomenda", "fatura", "protocolo", "po", "ean", "gtin", "upc", "sn", "serien",
    "cep", "zip", "plz", "postcode", "postal", "size", "ts", "timestamp", "epoch", "usps", "ups", "dhl",
    "ordin", "fattur", "pratica", "factuur", "klantnummer", "zamówien", "faktur", "zlecen",
)  # fmt: skip
CURRENCY = r"[$€£¥₹₽₩]|(?i:usd|eur|gbp|chf|brl|mxn|inr|jpy|euros?|dollars?|cents?|reais|pesos?|francs?)\b"


_NOT_LETTER = r"\x00-\x40\x5b-\x60\x7b-\x7f"  # ASCII but for letters: any other character is one


def _word_alternation(words: tuple[str, ...]) -> str:
    """RE2 alternation of `words`, longest first: a word of four letters or more may be inflected
    (upgrading, Kundennummer); a shorter one stands alone ("v", not "von"; "po", not "pod")."""
    ordered = sorted(words, key=len, reverse=True)
    inflected = [rf"{re.escape(w)}[^{_NOT_LETTER}]*" for w in ordered if len(w) >= 4]
    return "|".join(inflected + [re.escape(w) for w in ordered if len(w) < 4])


def words_before(words: tuple[str, ...], reach: int = 24) -> str:
    """RE2 pattern for the end of a lower-cased left context: one of `words` at a word start,
    then at most `reach` more characters of the same clause. A word of four letters or more may
    be inflected (upgrading, Telefonnummer); a shorter one stands alone ("v", not "von"). Plain
    classes, no case folding or Unicode letter classes: it runs on every candidate's context."""
    word = _word_alternation(words)
    # after the word: its abbreviation dot, then the rest of the clause
    rest = rf"\.?[\x00-\x20\x22-\x2d\x2f-\x3a\x3c-\x3e\x40\x5b-\x60\x7b-\x7f][^.;!?\n]{{0,{reach}}}"
    return rf"(?:^|[{_NOT_LETTER}])(?:{word})(?:{rest}|\.)?$"


def id_words_before(words: tuple[str, ...]) -> str:
    """RE2 pattern for a lower-cased left context ending in an identifier's name: one of `words`
    (any inflection), maybe "number"/"no."/"#", a colon, then the span (`order no. 123456789`,
    `Kundennummer: 12345678`). Nothing else may come between: `invoice (0151 2345678)` is a phone."""
    stems = _word_alternation(words)
    number = r"(?: ?(?:number|nummer|num|no|nr|n°|nº|número|numéro|numero|id|#)\.?)?"
    verb = r"(?: (?:is|ist|es|est|é|was|war))?"  # `Our PO is 4500123987`
    return rf"(?:^|[{_NOT_LETTER}])(?:{stems})\.?{number}{verb} ?[:#=]? ?$"


# Issuer identification numbers, from the table of card brands in ISO/IEC 7812 as published in
# the "Payment card number" reference: brand, IIN ranges (inclusive, compared on as many leading
# digits as they have), lengths. Luhn passes one random number in ten: a brand's range and length
# must hold too. JCB is assigned 3528-3589; issuers' test numbers (and Faker's table) use all of 35.
CARD_BRANDS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[int, int]]] = {
    "Visa": ((("4", "4"),), (13, 19)),
    "Mastercard": ((("51", "55"), ("2221", "2720")), (16, 16)),
    "American Express": ((("34", "34"), ("37", "37")), (15, 15)),
    "Diners Club": ((("300", "305"), ("3095", "3095"), ("36", "36"), ("38", "39")), (14, 19)),
    "Discover": ((("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")), (16, 19)),
    "JCB": ((("35", "35"),), (16, 19)),
    "JCB (15 digits)": ((("2131", "2131"), ("1800", "1800")), (15, 15)),
    "UATP": ((("1", "1"),), (15, 15)),
    "UnionPay": ((("62", "62"), ("81", "81")), (16, 19)),
    "Maestro": ((("50", "50"), ("56", "69"), ("0604", "0604")), (12, 19)),
    "Mir": ((("2200", "2204"),), (16, 19)),
    "RuPay": ((("60", "60"), ("65", "65"), ("81", "82"), ("508", "508"), ("353", "353"), ("356", "356")), (16, 16)),
    "Verve": ((("506099", "506198"), ("507865", "507964"), ("650002", "650027")), (16, 19)),
    "Troy": ((("9792", "9792"),), (16, 16)),
    "UzCard / Humo": ((("8600", "8600"), ("9860", "9860")), (16, 16)),
    "Dankort": ((("5019", "5019"), ("4571", "4571")), (16, 16)),
}


@functools.cache
def country_codes_by_length() -> dict[int, frozenset[int]]:
    """Every country calling code phonenumbers knows, by its number of digits (1 to 3; the set
    is prefix-free, so the first digits of an international number name one code at most)."""
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    return {n: frozenset(c for c in codes if len(str(c)) == n) for n in (1, 2, 3)}


@functools.cache
def regions_of_languages(languages: tuple[str, ...]) -> tuple[str, ...]:
    """ISO 3166 regions where one of `languages` (ISO 639-1) is an official language spoken by
    most people (CLDR's territory data, through Babel), and phonenumbers knows the region."""
    from babel.core import get_global  # only a spec without declared regions needs it

    known = phonenumbers.SUPPORTED_REGIONS
    regions = {
        territory
        for territory, spoken in get_global("territory_languages").items()
        for language in languages
        if territory in known
        and spoken.get(language, {}).get("official_status") in ("official", "de_facto_official")
        and spoken.get(language, {}).get("population_percent", 0) >= 50
    }
    return tuple(sorted(regions))


@functools.cache
def national_lengths(regions: tuple[str, ...]) -> frozenset[int]:
    """Digit counts of a national number in any of `regions`, written with or without its trunk
    prefix (phonenumbers' metadata: possible lengths and national prefix)."""
    lengths: set[int] = set()
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.general_desc is None:
            continue
        possible = set(metadata.general_desc.possible_length or ())
        lengths |= possible | {n + len(metadata.national_prefix or "") for n in possible}
    return frozenset(lengths)


@functools.cache
def national_pattern(regions: tuple[str, ...]) -> str:
    """RE2 pattern fully matching the digits of a valid national number of any of `regions`, with
    or without its trunk prefix (phonenumbers' metadata: each region's national number pattern)."""
    alternatives = []
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = metadata.general_desc.national_number_pattern if metadata and metadata.general_desc else None
        if metadata is None or not pattern:
            continue
        prefix = re.escape(metadata.national_prefix or "")
        alternatives.append(f"{prefix}?(?:{pattern})" if prefix else f"(?:{pattern})")
    return "^(?:" + "|".join(alternatives) + ")$" if alternatives else "^$."
