"""Errors every hook may raise, by what a retry can do about them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    import requests


class HttpError(Exception):
    """A call failed for good: a non-retryable status (``status``), or retries ran out, or no connection.

    The operators' contract: a 401/403 here has survived one re-authentication, so it fails the
    task at once; ``status`` None means the server was not reached.
    """

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None):
        super().__init__(message)
        self.status = status
        self.response = response


class SourceConfigError(AirflowFailException):
    """Settings, credentials or privileges the source refuses: no retry helps, so Airflow does not retry."""


class RefusedCredentials(SourceConfigError, HttpError):
    """The server refused the credentials (401/403), after one re-authentication: fails the task at once."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None):
        HttpError.__init__(self, message, status, response)
