"""Who may log in, and as what (seed 000 "Who uses it").

- AGENT: a verification operator (TĐV); has an agent state item (``agents`` table) besides the login.
- SUPERVISOR: watches the monitors and reads the reports of one serving unit and of the units it serves
  (the serving map on the units, not a list kept on the user).
- ADMIN: configures hotlines, queues, groups, agents and settings; may be bound to no unit (system-wide).

Mobile devices and media nodes are principals too, but never log in with a password: they are not roles
of a user account.

Pure: imports nothing of vkyc's.
"""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
