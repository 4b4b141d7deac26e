"""The API object, the blueprint class plugins use, and the one error shape.

Every 4xx and 5xx from ``/api`` is ``{"code", "status", "message", "errors"}``: ``code`` a stable machine word,
``errors`` a map from field (``name``, ``settings.sender``, ``query.page``) or row (``row 7.id_number``) to
messages.
"""
from __future__ import annotations

import logging

import flask_smorest
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from core.errors import DomainError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
}


def error_body(status: int, message: str, errors: dict | None = None, code: str | None = None) -> dict:
    return {
        "code": code or _CODES.get(status, "error"),
        "status": status,
        "message": message,
        "errors": errors or {},
    }


def _webargs_errors(messages: dict) -> dict[str, list[str]]:
    """webargs nests errors by location (json, query, ...); flatten to ``field`` or ``location.field``."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = [str(m) for m in value] if isinstance(value, list) else [str(value)]

    for location, fields in messages.items():
        walk("" if location in ("json", "form") else location, fields)
    if "" in flat:  # an error about the body as a whole (not JSON at all), not about one field
        flat["body"] = flat.pop("")
    return flat


def http_error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    errors = _webargs_errors(data["messages"]) if "messages" in data else {}
    message = data.get("message") or error.description or error.name
    if error.code == 422 and not data.get("message"):
        message = "the request has fields that are not valid"
    response = jsonify(error_body(error.code or 500, message, errors))
    response.status_code = error.code or 500
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def domain_error_response(error: DomainError):
    response = jsonify(error_body(error.status, error.message, error.errors, error.code))
    response.status_code = error.status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


class Api(flask_smorest.Api):
    """flask-smorest's Api with the Gonghui error shape."""

    def handle_http_exception(self, error):
        if not wants_json():
            return error
        return http_error_response(error)


class ApiBlueprint(flask_smorest.Blueprint):
    """The blueprint class for API resources, in core and in plugins (``toolkit.ApiBlueprint``).

    Every paginated list takes ``?page=&page_size=`` with 20 items by default and at most 200: enough for a
    screen of a grassroots union's members, small enough that no page of a city's registry is a heavy query.
    """

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 200}
