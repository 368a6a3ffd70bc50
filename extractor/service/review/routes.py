"""The review pages: login, the queue, one document with its editable extraction, approval.

Pages need a browser session (the login form takes an API key); every form post carries the
session's CSRF token, and so does the login form (another site cannot log a browser in with
its own key). Failed logins count toward the same per-address lockout as failed Bearer keys.
Any key may look; saving and approving need the reviewer role. Each edit is saved as a draft
and answered with a redirect to the page (post/redirect/get), so reloading never re-sends a
form and the draft survives a closed tab.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from extractor.core.schema import ExtractionAnswer, SanctionAction, Target
from extractor.store import DocumentFilter
from extractor.store import reviews as rv
from extractor.store.keys import KeyInfo, find_key, key_by_id
from extractor.store.models import REVIEWER
from extractor.store.review_diff import diff_answers

from ..auth import INVALID_KEY, hash_key
from ..deps import client_address, get_state
from ..errors import ApiError
from ..sessions import COOKIE, LOGIN_COOKIE, LOGIN_MAX_AGE_S, BrowserSession
from . import forms
from .views import render, text_view

router = APIRouter(prefix="/review", include_in_schema=False)


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def _error(status: int, title: str, message: str, user: KeyInfo | None = None, csrf: str = "") -> HTMLResponse:
    return _page(render("error.html.j2", title=title, message=message, user=user, csrf=csrf), status)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?{urlencode({'next': target})}", status_code=303)


def _user(request: Request) -> tuple[KeyInfo, BrowserSession] | None:
    """The logged-in key and its live session (rate-limited like API calls), or None."""
    state = get_state(request)
    browser = state.sessions.read(request.cookies.get(COOKIE))
    if browser is None:
        return None
    with state.store.read() as session:
        info = key_by_id(session, browser.key_id)
    if info is None or info.revoked:
        return None
    state.limiter.check(info)
    return info, browser


def _same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site (Sec-Fetch-Site; the form token decides)."""
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _safe_next(value: str | None) -> str:
    # Only a path on this server: never an open redirect to another site.
    if value and value.startswith(("/review", "/docs")) and not value.startswith("//") and "\\" not in value:
        return value
    return "/review"


def _login_form(request: Request, next_path: str, error: str | None = None, status: int = 200) -> Response:
    """The login form with a fresh form token, and the cookie that must come back with it."""
    state = get_state(request)
    cookie, token = state.sessions.login_token()
    response = _page(render("login.html.j2", next=next_path, error=error, user=None, csrf=token), status)
    response.set_cookie(LOGIN_COOKIE, cookie, max_age=LOGIN_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/review/login")
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (an API key); a logged-in browser goes straight on."""
    if _user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the form token and the key, then set the session cookie (signed, HttpOnly, SameSite=Strict)."""
    state = get_state(request)
    address = client_address(request)
    try:
        state.throttle.check(address)
    except ApiError as locked:
        return _error(429, "Too many attempts", locked.message)
    form = await request.form()
    key, target = str(form.get("key") or "").strip(), _safe_next(str(form.get("next") or ""))
    if not _same_origin(request) or not state.sessions.login_ok(request.cookies.get(LOGIN_COOKIE),
                                                                str(form.get("csrf") or "")):
        return _login_form(request, target, "The login form was stale or came from another site: log in again.",
                           403)
    info = None
    if key:
        with state.store.read() as session:
            info = find_key(session, hash_key(key))
    if info is None or info.revoked:
        state.throttle.failed(address)
        return _login_form(request, target, INVALID_KEY[0].upper() + INVALID_KEY[1:] + ".", 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, state.sessions.issue(info.id), max_age=state.sessions.max_age_s, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/review/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session on the server, not only in this browser (the form carries the CSRF token)."""
    user = _user(request)
    if user is not None:
        if not user[1].csrf_ok(str((await request.form()).get("csrf") or "")):
            return _error(403, "Forbidden", "The form's security token is missing or stale: reload the page.")
        get_state(request).sessions.end(user[1])
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@router.get("")
def queue(request: Request, sort: str = "first_seen", desc: bool = False, status: str | None = None,
          authority: str | None = None, since: str | None = None, until: str | None = None) -> Response:
    """The review queue: documents with extraction, grounding and review status; sortable, filterable."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    problem = None
    try:
        start, end = _date(since), _date(until)
    except ValueError:
        start = end = None
        problem = "Dates must be YYYY-MM-DD."
    sort = sort if sort in rv.SORT_KEYS else "first_seen"
    status = status if status in rv.REVIEW_STATES else None
    authority = (authority or "").strip().lower()[:8] or None
    filters = DocumentFilter(authority=authority, since=start, until=end)
    with get_state(request).store.read() as session:
        items = rv.review_queue(session, filters, status=status, sort=sort, descending=desc)
    counts = {s: sum(1 for i in items if i.review_status == s) for s in rv.REVIEW_STATES}
    params = {"status": status or "", "authority": authority or "", "since": since or "", "until": until or ""}
    return _page(render("queue.html.j2", items=items, sort=sort, desc=desc, params=params, counts=counts,
                        states=rv.REVIEW_STATES, problem=problem, user=info, csrf=browser.csrf,
                        query=lambda **kw: urlencode({k: v for k, v in {**params, **kw}.items() if v != ""})))


def _neighbours(request: Request, document_id: str) -> tuple[str | None, str | None]:
    """Previous and next documents in the queue's default order."""
    with get_state(request).store.read() as session:
        ids = [item.id for item in rv.review_queue(session, DocumentFilter())]
    if document_id not in ids:
        return None, None
    at = ids.index(document_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def _draft_marks(draft: forms.Draft) -> ExtractionAnswer:
    """The draft's quotes and names only, unvalidated: an invalid draft still shows what it marks."""
    actions = [
        SanctionAction.model_construct(
            evidence=[q["text"].strip() for q in a["evidence"] if q["text"].strip()],
            targets=[Target.model_construct(name=t["name"].strip()) for t in a["targets"] if t["name"].strip()],
        )
        for a in draft["actions"]
    ]
    return ExtractionAnswer.model_construct(is_sanctions_news=draft["is_sanctions_news"], actions=actions)


@router.get("/documents/{document_id}")
def document_page(request: Request, document_id: str, approved: bool = False, refused: bool = False) -> Response:
    """The document with every quote and name marked, and its extraction as an editable form."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    prev_id, next_id = _neighbours(request, document_id)
    # Everything is read and rendered inside the session: rows expire when it ends.
    with get_state(request).store.read() as session:
        doc = rv.document_with_extractions(session, document_id)
        extraction = rv.latest_extraction(doc) if doc is not None else None
        if doc is None:
            return _error(404, "Not found", f"No document {document_id!r}.", info, browser.csrf)
        if extraction is None:
            return _error(404, "No extraction", f"Document {document_id!r} has no extraction to review yet.",
                          info, browser.csrf)
        review = rv.get_review(session, extraction.id)
        if review is not None:
            draft = forms.draft_from_result(review.result, review.spans, review.notes)
        else:
            draft = forms.draft_from_result(extraction.result)
        answer, errors = forms.validate(draft, doc.id)
        highlighted = answer if answer is not None else _draft_marks(draft)
        spans = forms.checked_spans(draft, doc.text, keep_blank=True)
        model_result = {k: v for k, v in extraction.result.items() if k != "meta"}
        changes = diff_answers(model_result, answer.model_dump(mode="json")) if answer is not None else []
        return _page(render(
            "document.html.j2", doc=doc, meta=doc.doc_meta or {}, extraction=extraction, review=review,
            draft=draft, errors=errors, view=text_view(highlighted, doc.text, spans), prev_id=prev_id,
            next_id=next_id, approved=approved, refused=refused, changes=changes, user=info, csrf=browser.csrf,
            model_meta=extraction.meta or {}, can_review=info.allows(REVIEWER),
        ))


@router.post("/documents/{document_id}")
async def document_post(request: Request, document_id: str) -> Response:
    """Save an edit of the draft, or approve it; then back to the page (post/redirect/get)."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    form = await request.form()
    data = {name: [str(v) for v in form.getlist(name)] for name in form}
    if not browser.csrf_ok(str(form.get("csrf") or "")):
        return _error(403, "Forbidden", "The form's security token is missing or stale: reload the page and try "
                      "again.", info, browser.csrf)
    if not info.allows(REVIEWER):
        return _error(403, "Forbidden", f"This key is a {info.role}: saving and approving reviews need a reviewer "
                      "key.", info, browser.csrf)
    op = forms.parse_op(str(form.get("op") or ""))
    draft = forms.draft_from_form(data)
    focus = ""
    if op not in ("save", "approve"):
        draft = forms.apply_op(draft, op, new_text=str(form.get("new_text") or ""),
                               new_span=str(form.get("new_span") or ""))
        focus = _focus_after(op, draft)
    state = get_state(request)
    with state.store.write() as session:
        doc = rv.document_with_extractions(session, document_id)
        extraction = rv.latest_extraction(doc) if doc is not None else None
        if doc is None or extraction is None:
            return _error(404, "Not found", f"No document {document_id!r} with an extraction.", info, browser.csrf)
        answer, _errors = forms.validate(draft, doc.id)
        approve = op == "approve" and answer is not None
        if approve and answer is not None:
            result = answer.model_dump(mode="json")
            spans = forms.checked_spans(draft, doc.text)
        else:
            result = forms.payload(draft, doc.id, keep_blank=True)
            spans = forms.checked_spans(draft, doc.text, keep_blank=True)
        rv.save_review(session, extraction, reviewer=info.name, result=result, notes=draft["notes"].strip() or None,
                       spans=spans, approve=approve)
    flag = "?approved=1" if approve else ("?refused=1" if op == "approve" else "")
    return RedirectResponse(f"/review/documents/{quote(document_id, safe='')}{flag}{focus}", status_code=303)


def _focus_after(op: str, draft: forms.Draft) -> str:
    """The fragment naming the field to focus after an edit (the new row's first field)."""
    kind, _, where = op.partition(":")
    if op == "add_action":
        return f"#f-a{len(draft['actions']) - 1}.authority"
    if kind in ("add_target", "add_evidence") and where:
        action = draft["actions"][int(where[1:])]
        if kind == "add_target":
            return f"#f-{where}.t{len(action['targets']) - 1}.name"
        return f"#f-{where}.e{len(action['evidence']) - 1}"
    return ""
