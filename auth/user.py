"""The signed-in user as the web layer sees it: a snapshot of their active cabinet."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_login import AnonymousUserMixin, current_user

from auth.permissions import Permission, permissions_of
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.trail import Actor


@dataclass(frozen=True)
class PortalUser:
    """One cabinet, signed in; frozen so that a request cannot change who it acts as."""

    cabinet_id: int
    id_number: str
    full_name: str
    role: Role
    position: str
    organization_id: int

    # flask-login's protocol
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        """The id flask-login keeps in the session."""
        return str(self.cabinet_id)

    def can(self, permission: Permission) -> bool:
        """True when the user's role grants `permission`."""
        return permission in permissions_of(self.role)

    def actor(self, source_ip: str | None) -> Actor:
        """The user as the audit trail and the services see them."""
        return Actor(self.cabinet_id, self.role, self.organization_id, source_ip)

    def acting(self) -> Actor:
        """The user acting in the current request (its source address goes to the audit trail)."""
        return self.actor(request.remote_addr)

    @classmethod
    def of(cls, cabinet: Cabinet) -> PortalUser | None:
        """The portal user of an active cabinet; None for a blocked, archived or purged one."""
        if cabinet.status != CabinetStatus.ACTIVE:
            return None
        return cls(
            cabinet_id=cabinet.id,
            id_number=cabinet.id_number,
            full_name=cabinet.full_name,
            role=Role(cabinet.role),
            position=cabinet.position,
            organization_id=cabinet.organization_id,
        )


class Anonymous(AnonymousUserMixin):  # type: ignore[misc]
    """Nobody signed in: may do nothing."""

    def can(self, _permission: Permission) -> bool:
        """Anonymous users have no permissions."""
        return False


def user() -> PortalUser | None:
    """The signed-in user of this request, or None."""
    who = current_user._get_current_object()
    return who if isinstance(who, PortalUser) else None
