"""What the login audit trail records (``vkyc.repositories.auth_events``)."""

from __future__ import annotations

from enum import StrEnum


class AuthEventKind(StrEnum):
    LOGIN_SUCCEEDED = "login_succeeded"  # a password login; the token it issued is part of it
    FAILED = "failed"  # a wrong password, unknown username, wrong API key or node key
    LOCKED_OUT = "locked_out"  # a failure locked the account or the source (detail: which, how long)
    TOKEN_ISSUED = "token_issued"  # a mobile or media node token
    TOKEN_REVOKED = "token_revoked"  # a token or session cut off (logout, disabled account, ...)
    ACCOUNT_ENABLED = "account_enabled"  # a disabled account may log in again
