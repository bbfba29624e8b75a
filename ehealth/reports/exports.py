"""Report exports in the background: asked for on a page, built and written by a worker thread, polled, downloaded.

The request is a row (ReportExport) committed by the page; the job rebuilds the scope from it in its own short
transactions, re-checking the requester's right at that moment, and writes its progress as it goes so that any
worker process answering the poll sees it. Only the requester can see the export or download its file.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer, sessionmaker

from db import flush, transaction, utcnow
from ehealth.access.models import Cabinet, CabinetStatus
from ehealth.audit.trail import Actor, record
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, gettext, language
from ehealth.reports import excel, pdf
from ehealth.reports.base import REGISTRY, Report, Scope, build, scope_of
from ehealth.reports.models import ExportFormat, ExportState, ReportExport

log = logging.getLogger(__name__)

# Exports one user may have waiting or running at once: enough for "Excel and PDF of two reports", not a flood.
MAX_ACTIVE = 3
# A job still queued or running after this long died with its process (a restart): it is failed, not counted.
STALE_AFTER = timedelta(minutes=30)
WORKERS = 2
_ERROR_LENGTH = 500

_ACTIVE = (ExportState.QUEUED, ExportState.RUNNING)
NOT_FOUND = N_("The export was not found.")
NOT_READY = N_("The export is not ready yet.")
TOO_MANY = N_("You already have {n} exports in progress; wait until one of them is ready.")
NOT_ACTIVE = N_("Your cabinet is not active; reports cannot be exported.")
FAILED = N_("The export failed; please try again later.")
INTERRUPTED = N_("The export was interrupted; please ask for it again.")
NOT_OFFERED = N_("This report is not available for this organization.")


@dataclass(frozen=True)
class _Render:
    """How a format is written and served."""

    write: Callable[[Report], bytes]
    mimetype: str


RENDERERS: dict[ExportFormat, _Render] = {
    ExportFormat.XLSX: _Render(excel.to_xlsx, excel.MIMETYPE),
    ExportFormat.PDF: _Render(pdf.to_pdf, pdf.MIMETYPE),
}


def _requester(session: Session, cabinet_id: int | None) -> Actor:
    """The actor a cabinet is now (role and organization as they stand today); refused unless it is active."""
    cabinet = None if cabinet_id is None else session.get(Cabinet, cabinet_id)
    if cabinet is None or cabinet.status != CabinetStatus.ACTIVE:
        raise ValidationError(NOT_ACTIVE)
    return Actor(cabinet.id, str(cabinet.role), cabinet.organization_id)


def _fail_stale(session: Session, cabinet_id: int) -> None:
    """Fail this user's exports that a dead process left queued or running, so they stop counting."""
    stale = (
        session.execute(
            select(ReportExport)
            .options(defer(ReportExport.content))
            .where(
                ReportExport.cabinet_id == cabinet_id,
                ReportExport.state.in_(_ACTIVE),
                ReportExport.created_at < utcnow() - STALE_AFTER,
            )
        )
        .scalars()
        .all()
    )
    for export in stale:
        with language(_params(export)["language"]):
            export.error = gettext(INTERRUPTED)
        export.state = ExportState.FAILED
        export.finished_at = utcnow()


def _params(export: ReportExport) -> dict[str, Any]:
    """The scope and language an export was asked with."""
    params: dict[str, Any] = json.loads(export.params)
    return params


def request_export(
    session: Session, actor: Actor, *, report_key: str, scope: Scope, fmt: ExportFormat, language: str
) -> ReportExport:
    """Queue an export of `report_key` over `scope` for the acting user (at most MAX_ACTIVE waiting at once)."""
    requester = _requester(session, actor.cabinet_id)
    # The scope a page hands in is checked again against this user: a page bug must not widen what they see.
    checked = scope_of(
        session,
        actor,
        organization_id=scope.organization_id,
        start=scope.start,
        end=scope.end,
        department_id=scope.department_id,
    )
    spec = REGISTRY.get(report_key)
    if spec is None or checked.organization_kind not in spec.kinds:
        raise NotFound(NOT_OFFERED)
    # Lock the requester's cabinet row so that two clicks at once cannot both pass the limit (PostgreSQL; on
    # SQLite the later writer's snapshot is stale by then and its insert is refused).
    session.execute(select(Cabinet.id).where(Cabinet.id == requester.cabinet_id).with_for_update())
    _fail_stale(session, requester.cabinet_id or 0)
    active = session.execute(
        select(func.count(ReportExport.id)).where(
            ReportExport.cabinet_id == requester.cabinet_id, ReportExport.state.in_(_ACTIVE)
        )
    ).scalar_one()
    if active >= MAX_ACTIVE:
        raise ValidationError(TOO_MANY, n=MAX_ACTIVE)
    params = {
        "organization_id": checked.organization_id,
        "start": checked.start.isoformat(),
        "end": checked.end.isoformat(),
        "department_id": checked.department_id,
        "language": language if language in LANGUAGES else DEFAULT_LANGUAGE,
    }
    export = ReportExport(
        token=secrets.token_urlsafe(32),
        cabinet_id=requester.cabinet_id,
        organization_id=checked.organization_id,
        report_key=report_key,
        format=fmt,
        params=json.dumps(params, sort_keys=True),
        state=ExportState.QUEUED,
        progress=0,
        created_at=utcnow(),
    )
    session.add(export)
    flush(session)
    record(
        session,
        actor,
        "report.export_requested",
        object_type="report_export",
        object_id=export.id,
        detail=f"{report_key} {fmt} {checked.start.isoformat()}..{checked.end.isoformat()}",
    )
    return export


@dataclass(frozen=True)
class _Job:
    """What a worker needs of a claimed export (plain values: the claiming session is closed by then)."""

    id: int
    cabinet_id: int
    organization_id: int
    report_key: str
    format: ExportFormat
    params: dict[str, Any]


def _claim(factory: sessionmaker[Session], export_id: int) -> _Job | None:
    """Mark a queued export running (one worker only: the update is conditional); None if it is not queued."""
    with transaction(factory) as session:
        claimed = session.execute(
            update(ReportExport)
            .where(ReportExport.id == export_id, ReportExport.state == ExportState.QUEUED)
            .values(state=ExportState.RUNNING, progress=5)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return None
        export = session.execute(
            select(ReportExport).options(defer(ReportExport.content)).where(ReportExport.id == export_id)
        ).scalar_one()
        return _Job(
            id=export.id,
            cabinet_id=export.cabinet_id,
            organization_id=export.organization_id,
            report_key=export.report_key,
            format=ExportFormat(export.format),
            params=_params(export),
        )


def _set(factory: sessionmaker[Session], export_id: int, **values: Any) -> None:
    """Write a running export's progress (or its end) in a transaction of its own, so a poll sees it at once."""
    with transaction(factory) as session:
        session.execute(
            update(ReportExport)
            .where(ReportExport.id == export_id, ReportExport.state == ExportState.RUNNING)
            .values(**values)
        )


def file_name(report_key: str, organization_id: int, start: str, end: str, fmt: ExportFormat) -> str:
    """ "<report>-<organization id>-<start>-<end>.<format>", dates as YYYY-MM-DD."""
    return f"{report_key}-{organization_id}-{start}-{end}.{fmt}"


def run_export(factory: sessionmaker[Session], export_id: int) -> None:
    """Build and render one queued export in its own transactions; a failure marks it failed with a short reason."""
    job = _claim(factory, export_id)
    if job is None:
        log.info("report export %s is not queued; nothing to do", export_id)
        return
    params = job.params
    lang = params["language"]
    try:
        with transaction(factory) as session:
            # The right is the requester's as it stands now, not when they asked: blocked since means refused.
            actor = _requester(session, job.cabinet_id)
            scope = scope_of(
                session,
                actor,
                organization_id=params["organization_id"],
                start=date.fromisoformat(params["start"]),
                end=date.fromisoformat(params["end"]),
                department_id=params["department_id"],
            )
        _set(factory, export_id, progress=10)
        with language(lang), transaction(factory) as session:
            report = build(session, job.report_key, scope)
        _set(factory, export_id, progress=60)
        with language(lang):
            content = RENDERERS[job.format].write(report)
        _set(factory, export_id, progress=90)
        name = file_name(job.report_key, job.organization_id, params["start"], params["end"], job.format)
        _set(
            factory,
            export_id,
            state=ExportState.DONE,
            progress=100,
            content=content,
            file_name=name,
            finished_at=utcnow(),
        )
    except Exception as error:
        if isinstance(error, DomainError):  # a refusal (blocked since, scope no longer allowed): no stack needed
            log.warning("report export %s (%s) refused: %s", export_id, job.report_key, error.msgid)
        else:
            log.exception("report export %s (%s) failed", export_id, job.report_key)
        # A refusal says what to do; anything else gets a plain sentence, never a traceback.
        with language(lang):
            reason = str(error) if isinstance(error, DomainError) else gettext(FAILED)
        try:
            _set(factory, export_id, state=ExportState.FAILED, error=reason[:_ERROR_LENGTH], finished_at=utcnow())
        except Exception:  # the database itself is gone: the stale sweep fails the export later
            log.exception("report export %s: could not record the failure", export_id)


def _run_logged(factory: sessionmaker[Session], export_id: int) -> None:
    """run_export for a pool thread: whatever escapes it (the claim itself failing) is logged, not lost."""
    try:
        run_export(factory, export_id)
    except Exception:
        log.exception("report export %s could not start", export_id)


def export_status(session: Session, actor: Actor, token: str) -> ReportExport:
    """The requester's export with this token (without its file); NotFound for anyone else."""
    export = session.execute(
        select(ReportExport).options(defer(ReportExport.content)).where(ReportExport.token == token)
    ).scalar_one_or_none()
    if export is None or actor.cabinet_id is None or export.cabinet_id != actor.cabinet_id:
        raise NotFound(NOT_FOUND)
    return export


def take_file(session: Session, actor: Actor, token: str) -> tuple[str, str, bytes]:
    """(file name, mimetype, content) of the requester's finished export, for a download; audited."""
    export = export_status(session, actor, token)
    if export.state != ExportState.DONE:
        raise ValidationError(NOT_READY)
    content = session.execute(select(ReportExport.content).where(ReportExport.id == export.id)).scalar_one()
    if content is None or export.file_name is None:
        raise ValidationError(NOT_READY)
    record(session, actor, "report.exported", object_type="report_export", object_id=export.id, detail=export.file_name)
    return export.file_name, RENDERERS[ExportFormat(export.format)].mimetype, content


class Exporter:
    """Runs exports on a small thread pool, so that building a file never holds up a page's request."""

    def __init__(self, factory: sessionmaker[Session], *, workers: int = WORKERS) -> None:
        self._factory = factory
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report-export")

    def submit(self, export_id: int) -> Future[None]:
        """Run the export `export_id` (already committed as queued) in the background."""
        return self._pool.submit(_run_logged, self._factory, export_id)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking exports; with `wait`, finish those already running."""
        self._pool.shutdown(wait=wait)


# Where the web app keeps its exporter (server.extensions[EXPORTER_KEY] = exporter(factory)) for pages to submit to.
EXPORTER_KEY = "ehealth.report_exporter"

_EXPORTERS: dict[sessionmaker[Session], Exporter] = {}
_EXPORTERS_LOCK = threading.Lock()


def exporter(factory: sessionmaker[Session]) -> Exporter:
    """The process-wide exporter of this database (created on first use)."""
    with _EXPORTERS_LOCK:
        found = _EXPORTERS.get(factory)
        if found is None:
            found = _EXPORTERS[factory] = Exporter(factory)
        return found
