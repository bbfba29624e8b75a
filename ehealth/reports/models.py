"""Report exports waiting, running or done: kept in the database so that any worker process can show their progress
and hand over the file."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, OptTimestamp, enum_column, fk


class ExportFormat(StrEnum):
    """The file a report is exported to."""

    XLSX = "xlsx"
    PDF = "pdf"


class ExportState(StrEnum):
    """Where an export is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportExport(Base):
    """One export a user asked for: the report, its scope and language, its progress and, once done, the file."""

    __tablename__ = "report_export"

    id: Mapped[IntPk]
    token: Mapped[str] = mapped_column(String(64), unique=True)
    cabinet_id: Mapped[int] = fk("cabinet.id")
    organization_id: Mapped[int] = fk("organization.id", index=False)
    report_key: Mapped[str] = mapped_column(String(40))
    format: Mapped[ExportFormat] = enum_column(ExportFormat, "format")
    # The scope (start, end, department) and the language, as JSON: the job rebuilds the report from them.
    params: Mapped[str] = mapped_column(Text)
    state: Mapped[ExportState] = enum_column(ExportState, "state", default=ExportState.QUEUED)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    finished_at: Mapped[OptTimestamp]

    __table_args__ = (
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        Index("ix_report_export_state", "state", "id"),
    )
