"""The terms under which a partner supplies data, as data: what `sources[].terms` of a
`kind: partner` source declares, whether they allow training, and the release's licence section.

The fields follow three public vocabularies, none of which ties terms to what a pipeline may
release:

- the Data Provenance Standard (Data & Trust Alliance) "use" fields: intended use, commercial
  use, geography, retention, and the licence or agreement the data is held under;
- the SPDX 3 dataset profile: the licence as an SPDX licence expression, and dataset fields for
  consent and data collection;
- the Data Provenance Initiative's licence classes (Longpre et al., 2023): commercial /
  non-commercial / academic use, attribution, share-alike, derivative works, and "unspecified",
  which they found on most datasets and which must never be read as permission.

A term not stated is `unknown`, and an unknown term is never treated as allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from babel.core import get_global
from license_expression import ExpressionError, Licensing, get_spdx_licensing
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pipelines.lib.durations import IsoDuration, parse_duration

#: the licence of data held under a contract that is no public licence (the contract says what)
PROPRIETARY = "proprietary"
#: the geography of data usable anywhere
WORLDWIDE = "worldwide"

# CLDR (through babel) lists, beside ISO 3166-1's 249 assigned codes, groupings (EU, EZ, UN),
# user-assigned codes (QO, XA, XB, XK, ZZ) and codes ISO only reserves (AC, CP, CQ, DG, EA, IC, TA).
_NOT_ISO_3166_1 = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"})
# Retentions are compared by where they land from one fixed day (P1M against P30D depends on the month).
_RETENTION_REFERENCE = date(2001, 1, 1)


class Permission(StrEnum):
    """Whether the terms permit a use: stated `allowed` or `denied`, else `unknown`."""

    ALLOWED = "allowed"
    DENIED = "denied"
    UNKNOWN = "unknown"


class Obligation(StrEnum):
    """Whether the terms impose a duty (share alike, delete on request): `required`,
    `not_required`, else `unknown`."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"
    UNKNOWN = "unknown"


def _tri_state(choices: type[StrEnum], true: StrEnum, false: StrEnum) -> Any:
    def parse(value: object) -> object:
        if isinstance(value, bool):  # YAML's true/false (and yes/no)
            return true if value else false
        if isinstance(value, str) and value.strip().lower() in {c.value for c in choices}:
            return value.strip().lower()
        names = ", ".join(c.value for c in choices)
        raise ValueError(f"write one of {names} (or true / false); leave the term out if the agreement is silent")

    return BeforeValidator(parse)


#: a permission as YAML writes it: allowed / denied / unknown, or true / false
PermissionTerm = Annotated[Permission, _tri_state(Permission, Permission.ALLOWED, Permission.DENIED)]
#: an obligation as YAML writes it: required / not_required / unknown, or true / false
ObligationTerm = Annotated[Obligation, _tri_state(Obligation, Obligation.REQUIRED, Obligation.NOT_REQUIRED)]

#: the permission terms, in the order a licence section lists them
PERMISSIONS = ("commercial_use", "model_training", "derivatives", "sub_licensing")
#: the obligation terms
OBLIGATIONS = ("share_alike", "deletion_on_request")


@cache
def _spdx() -> Licensing:
    return get_spdx_licensing()


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from the CLDR data babel ships."""
    territories = [str(code) for code in get_global("territory_languages")]
    return frozenset(code for code in territories if len(code) == 2 and code.isalpha()) - _NOT_ISO_3166_1


class PartnerTerms(BaseModel):
    """The terms a partner's data is supplied under, as the agreement states them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    licence: str = Field(
        description="SPDX licence id or expression (CC-BY-4.0, CC-BY-NC-4.0 OR MIT), or `proprietary` "
        "for data held under the contract only."
    )
    commercial_use: PermissionTerm = Field(
        default=Permission.UNKNOWN, description="May the data serve a commercial product?"
    )
    model_training: PermissionTerm = Field(default=Permission.UNKNOWN, description="May models be trained on the data?")
    derivatives: PermissionTerm = Field(
        default=Permission.UNKNOWN, description="May works derived from the data be made (redacted or relabelled rows)?"
    )
    sub_licensing: PermissionTerm = Field(
        default=Permission.UNKNOWN, description="May the data be passed on to others under our own terms?"
    )
    share_alike: ObligationTerm = Field(
        default=Obligation.UNKNOWN, description="Must what is derived be shared under the same terms?"
    )
    attribution: str | None = Field(
        default=None, min_length=1, description="Attribution text every release using the data must carry."
    )
    retention: IsoDuration | None = Field(
        default=None,
        description="How long rows may be kept after they arrive, ISO-8601 (P12M); absent: no limit stated.",
    )
    deletion_on_request: ObligationTerm = Field(
        default=Obligation.UNKNOWN, description="Must rows be deleted when the partner sends a delete list?"
    )
    geography: list[str] | None = Field(
        default=None,
        description="Where the data may be used: ISO 3166-1 alpha-2 codes, or `worldwide`.",
        # As written in YAML: one code or `worldwide` alone is a string (the validator makes it a list).
        json_schema_extra={
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "null"}]
        },
    )
    agreement_expires: date | None = Field(
        default=None, description="Last day the agreement is in force (YYYY-MM-DD); absent: no end date."
    )
    contract: str | None = Field(
        default=None, min_length=1, description="Reference of the signed agreement (contract number, document link)."
    )

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str) -> str:
        if value.strip().lower() == PROPRIETARY:
            return PROPRIETARY
        try:
            parsed = _spdx().parse(value, validate=True, strict=True)
        except ExpressionError as error:
            raise ValueError(
                f"{value!r} is not an SPDX licence expression ({error}); write an id from "
                "https://spdx.org/licenses/ such as CC-BY-4.0, or `proprietary` with the contract reference"
            ) from None
        if parsed is None:
            raise ValueError("empty licence; write an SPDX id such as CC-BY-4.0, or `proprietary`")
        return str(parsed.render())

    @field_validator("geography", mode="before")
    @classmethod
    def _geography(cls, value: object) -> object:
        if value is None:  # not stated (as a manifest's copy of the spec writes it)
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError("write a list of ISO 3166-1 alpha-2 codes ([DE, FR]) or `worldwide`")
        if any(isinstance(code, bool) for code in value):
            raise ValueError("YAML reads a bare NO as false: quote Norway's code ('NO'), and write only country codes")
        codes = [str(code).strip() for code in value]
        if any(code.lower() == WORLDWIDE for code in codes):
            if len(codes) > 1:
                raise ValueError("`worldwide` stands alone: remove the country codes, or remove `worldwide`")
            return [WORLDWIDE]
        known = country_codes()
        for code in codes:
            if code.upper() not in known:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code{_suggestion(code)}")
        return list(dict.fromkeys(code.upper() for code in codes))

    def licence_keys(self) -> list[str]:
        """The SPDX ids the licence expression names (none for `proprietary`)."""
        if self.licence == PROPRIETARY:
            return []
        return [str(symbol.key) for symbol in _spdx().license_symbols(self.licence)]


def _suggestion(code: str) -> str:
    replacements = get_global("territory_aliases").get(code.upper())
    if replacements and len(replacements) == 1:
        return f"; did you mean {replacements[0]}?"
    return "; see https://www.iso.org/obp/ui/#search/code/"


class Verdict(BaseModel):
    """A yes or no, with the reasons in words, each naming the term or record that decided it."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    reasons: list[str]


def allows_training(terms: PartnerTerms, as_of: date) -> Verdict:
    """Whether the terms allow training a commercial model on the data at `as_of`: model_training
    and commercial_use stated `allowed`, derivatives not `denied`, and the agreement in force."""
    refusals: list[str] = []
    for term, use in (("model_training", "training models"), ("commercial_use", "commercial use")):
        value = getattr(terms, term)
        if value is Permission.DENIED:
            refusals.append(f"{term} is denied: the terms forbid {use}")
        elif value is Permission.UNKNOWN:
            refusals.append(f"{term} is unknown: the terms do not state it, and {use} is never assumed allowed")
    if terms.derivatives is Permission.DENIED:
        refusals.append("derivatives is denied: the terms forbid derived works, and a training set is one")
    if terms.agreement_expires is not None and as_of > terms.agreement_expires:
        refusals.append(
            f"agreement_expires: the agreement expired on {terms.agreement_expires} (its last day in force)"
        )
    if refusals:
        return Verdict(allowed=False, reasons=refusals)
    in_force = (
        f"the agreement is in force through {terms.agreement_expires}"
        if terms.agreement_expires
        else "the agreement states no end date"
    )
    return Verdict(
        allowed=True,
        reasons=[
            "model_training and commercial_use are allowed",
            f"derivatives is {terms.derivatives.value}",
            f"agreement_expires: {in_force}",
        ],
    )


class LicenceRollUp(BaseModel):
    """The licence section of a release: every source's terms, the most restrictive winning."""

    model_config = ConfigDict(frozen=True)

    licences: dict[str, str] = Field(description="Licence of each source, in source order.")
    commercial_use: Permission
    model_training: Permission
    derivatives: Permission
    sub_licensing: Permission
    share_alike: Obligation = Field(description="`required` if any source requires it.")
    deletion_on_request: Obligation
    attributions: list[str] = Field(description="Attribution texts, deduplicated, in source order.")
    retention: str | None = Field(description="The shortest retention any source states; None if none does.")
    agreement_expires: date | None = Field(description="The earliest agreement expiry; None if none ends.")
    geography: list[str] | None = Field(
        description="Where every source's data may be used (the intersection; [] is nowhere); None if any is unknown."
    )
    decided_by: dict[str, list[str]] = Field(
        description="For each permission and obligation, the sources holding the winning value."
    )


# most restrictive first
_PERMISSION_ORDER = (Permission.DENIED, Permission.UNKNOWN, Permission.ALLOWED)
_OBLIGATION_ORDER = (Obligation.REQUIRED, Obligation.UNKNOWN, Obligation.NOT_REQUIRED)


def roll_up(terms_by_source: Mapping[str, PartnerTerms]) -> LicenceRollUp:
    """The release's licence section from the terms of each source it draws on (in source order):
    denied > unknown > allowed for each permission, required > unknown > not_required for each
    obligation, the shortest retention, the earliest expiry, the common geography."""
    if not terms_by_source:
        raise ValueError("no sources to roll up: a licence section needs the terms of at least one source")
    values: dict[str, Any] = {}
    decided_by: dict[str, list[str]] = {}
    for names, order in ((PERMISSIONS, _PERMISSION_ORDER), (OBLIGATIONS, _OBLIGATION_ORDER)):
        for name in names:
            held = {source: getattr(terms, name) for source, terms in terms_by_source.items()}
            winner = min(held.values(), key=order.index)
            values[name] = winner
            decided_by[name] = [source for source, value in held.items() if value is winner]
    retentions = [terms.retention for terms in terms_by_source.values() if terms.retention]
    expiries = [terms.agreement_expires for terms in terms_by_source.values() if terms.agreement_expires]
    attributions = [terms.attribution for terms in terms_by_source.values() if terms.attribution]
    return LicenceRollUp(
        licences={source: terms.licence for source, terms in terms_by_source.items()},
        attributions=list(dict.fromkeys(attributions)),
        retention=min(retentions, key=lambda r: _RETENTION_REFERENCE + parse_duration(r), default=None),
        agreement_expires=min(expiries, default=None),
        geography=_common_geography([terms.geography for terms in terms_by_source.values()]),
        decided_by=decided_by,
        **values,
    )


def _common_geography(geographies: list[list[str] | None]) -> list[str] | None:
    if any(geography is None for geography in geographies):
        return None
    common: list[str] | None = None  # None: worldwide so far
    for geography in geographies:
        if geography == [WORLDWIDE]:
            continue
        common = list(geography or []) if common is None else [code for code in common if code in (geography or [])]
    return [WORLDWIDE] if common is None else common
