"""FollowTheMoney export: an extraction result as FtM entities, built and validated by the library.

Per target a `Person`, `Company`, `Organization`, `PublicBody`, `Vessel`, `Airplane` or
`LegalEntity`; per target and action a `Sanction`; one `Article` for the source document and a
`Documentation` linking it to each target. Ids come from `make_id` over the article id, the
action and the normalised name, so exporting the same result again gives the same ids.

A Sanction's `authority` is the issuing body's name from the issuer registry, whatever form
the text printed ("OFAC", "Treasury's Office of Foreign Assets Control"), and its id is made
from the body's registry id; the printed form is kept in `description` when it differs. Its
programmes are the ones tied to its target (`target_programs`), not every programme of the
action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, BinaryIO, cast

from followthemoney import EntityProxy, model
from followthemoney.cli.util import write_entity
from followthemoney.exc import InvalidData
from rigour.names import normalize_name
from rigour.territories import get_territory

from extractor.core.documents import Document
from extractor.core.errors import ExtractorError
from extractor.core.issuers import issuer_body, issuer_id
from extractor.core.schema import ArticleExtraction, SanctionAction, Target

from .target_programs import TargetPrograms, Tied

# The programmes of the sanctions-list entry a target matched (an empty list when none).
ListedPrograms = Callable[[Target], list[str]]

# Schema contract entity types → FtM schemata.
SCHEMATA = {
    "person": "Person",
    "company": "Company",
    "government_body": "PublicBody",
    "organization": "Organization",
    "vessel": "Vessel",
    "aircraft": "Airplane",
    "other": "LegalEntity",
}
_STATUS = {"impose": "imposed", "amend": "amended", "lift": "lifted"}
_AUTHORITY_NAMES = {"eu": "European Union", "un": "United Nations Security Council"}


class ExportError(ExtractorError):
    """An entity could not be built or does not pass the FtM model's validation."""


def to_ftm(
    result: ArticleExtraction, document: Document | None = None, *, listed: ListedPrograms | None = None
) -> list[EntityProxy]:
    """The FtM entities for one extraction result: article, targets, sanctions, documentation links.

    `document` (the source, with its metadata) fills the article's title, date, URL, publisher
    and text and every entity's `sourceUrl`; without it the article carries only its id. Its
    text, and `listed` (the programmes of each target's sanctions-list entry), tie an action's
    programmes to the targets they apply to. Every entity is validated; an invalid one raises
    `ExportError` naming it.
    """
    url = document.url if document else None
    programs = TargetPrograms(document.text if document else None)
    article = _article(result.article_id, document)
    entities: dict[str, EntityProxy] = {article.id: article}  # type: ignore[dict-item]

    def put(entity: EntityProxy) -> None:
        # The same target in several actions of one article is one entity: FtM merges fragments.
        if entity.id in entities:
            entities[entity.id].merge(entity)  # type: ignore[index]
        else:
            entities[entity.id] = entity  # type: ignore[index]

    for action in result.actions:
        for target in action.targets:
            party = target_entity(result.article_id, target, url=url, listed=action.action != "lift")
            put(party)
            tied = programs.tie(action, target, listed(target) if listed is not None else ())
            put(_sanction(result.article_id, action, party, article, url, tied))
            put(_documentation(article, party, url))
    out = list(entities.values())
    for entity in out:
        validate_entity(entity)
    return out


def id_name(name: str) -> str:
    """The normalised name that ids are made from (case, punctuation and spacing folded)."""
    return normalize_name(name) or name.strip().lower()


def target_entity(article_id: str, target: Target, *, url: str | None = None, listed: bool = True) -> EntityProxy:
    """The FtM entity for one target (id from article id, schema and normalised name)."""
    schema = SCHEMATA[target.entity_type]
    entity = model.make_entity(schema)
    entity.make_id("target", article_id, schema, id_name(target.name))
    entity.add("name", target.name)
    entity.add("alias", [alias for alias in target.aliases if alias.strip() and alias != target.name])
    if target.country:
        entity.add("country", target.country)
    if target.role:
        # Person has `position`; for other schemata the role is a description.
        entity.add("position" if entity.schema.get("position") else "description", target.role)
    if listed:
        entity.add("topics", "sanction")
    entity.add("sourceUrl", url)
    return entity


def action_key(action: SanctionAction) -> str:
    """What identifies an action within its article: authority, kind, issuing body and measures.

    The issuer is its registry id when the registry knows the body, so "OFAC" and "Treasury's
    Office of Foreign Assets Control" give the same key; else its normalised printed form.
    """
    body = issuer_id(action.issuer, action.authority)
    issuer = body or (id_name(action.issuer) if action.issuer else "")
    return "|".join([action.authority, action.action, issuer, ",".join(sorted(action.measures))])


def issuer_name(action: SanctionAction) -> str:
    """The issuing body's registry name, else the issuer as printed, else the authority's name."""
    body_id = issuer_id(action.issuer, action.authority)
    body = issuer_body(body_id) if body_id else None
    if body is not None:
        return body.name
    return action.issuer or authority_name(action.authority)


def _sanction(
    article_id: str, action: SanctionAction, party: EntityProxy, article: EntityProxy, url: str | None, tied: Tied
) -> EntityProxy:
    sanction = model.make_entity("Sanction")
    sanction.make_id("sanction", article_id, action_key(action), party.id)
    sanction.add("entity", party.id)
    authority = issuer_name(action)
    sanction.add("authority", authority)
    notes = []
    if action.issuer and action.issuer != authority:
        notes.append(f"Issuer as printed: {action.issuer}")
    if tied.action_only:
        notes.append("Legal basis of the action not tied to this target by the text or a list entry: "
                     + "; ".join(tied.action_only))
    sanction.add("description", " · ".join(notes) or None)
    sanction.add("country", action.authority)
    sanction.add("program", tied.legal_basis)
    sanction.add("programId", tied.program_ids)
    sanction.add("reason", action.reasons)
    sanction.add("provisions", [measure.replace("_", " ") for measure in action.measures])
    if action.action == "lift":
        sanction.add("endDate", action.date)
        sanction.add("status", _STATUS["lift"])
    else:
        sanction.add("startDate", action.date)
        sanction.add("status", "countermeasure" if action.is_countermeasure else _STATUS[action.action])
    sanction.add("summary", action.evidence[:1])
    sanction.add("proof", article.id)
    sanction.add("sourceUrl", url)
    return sanction


def _article(article_id: str, document: Document | None) -> EntityProxy:
    article = model.make_entity("Article")
    article.make_id("article", article_id)
    title = document.title if document and document.title else article_id
    article.add("title", title)
    article.add("name", title)
    if document is not None:
        article.add("publishedAt", document.published)
        article.add("sourceUrl", document.url)
        article.add("publisher", document.publisher)
        article.add("bodyText", document.text)
    return article


def _documentation(article: EntityProxy, party: EntityProxy, url: str | None) -> EntityProxy:
    link = model.make_entity("Documentation")
    link.make_id("documentation", article.id, party.id)
    link.add("document", article.id)
    link.add("entity", party.id)
    link.add("role", "sanctions target")
    link.add("sourceUrl", url)
    return link


def authority_name(code: str) -> str:
    """A readable name for an authority code ("us" → "United States")."""
    if code in _AUTHORITY_NAMES:
        return _AUTHORITY_NAMES[code]
    territory = get_territory(code)
    return territory.name if territory is not None else code


def validate_entity(entity: EntityProxy) -> None:
    """Check an entity with the FtM model: an id, required properties set, every value valid."""
    if not entity.id:
        raise ExportError(f"{entity.schema.name} entity without an id")
    missing = [name for name in entity.schema.required if not entity.get(name)]
    if missing:
        raise ExportError(f"{entity.schema.name} {entity.id}: required propert(ies) missing: {', '.join(missing)}")
    try:
        entity.schema.validate(cast(Any, entity.to_dict()))
    except InvalidData as exc:
        raise ExportError(f"{entity.schema.name} {entity.id}: {exc}") from None


def iter_ftm(
    results: Iterable[ArticleExtraction], documents: dict[str, Document] | None = None, *,
    listed: ListedPrograms | None = None,
) -> Iterator[EntityProxy]:
    """FtM entities for many results, in result order."""
    for result in results:
        yield from to_ftm(result, (documents or {}).get(result.article_id), listed=listed)


def write_ftm(entities: Iterable[EntityProxy], stream: IO[bytes]) -> int:
    """Write entities as line-delimited FtM JSON (the `ftm` tools' format); returns the count."""
    count = 0
    for entity in entities:
        write_entity(cast(BinaryIO, stream), entity)
        count += 1
    return count
