"""How an API route is declared, authenticated, validated, answered and documented.

One decorator, :func:`operation`, does for every route what the HTML side does with
forms and loaders, so no route can skip a step:

- the caller is the bearer token's user (``Authorization: Bearer …``) or nobody. Cookies
  are never read here, so a browser session cannot act through the API and CSRF cannot
  reach it: the blueprint is exempt from the CSRF check because it accepts bearer tokens
  only. A route with a scope needs a valid token holding it (401 without, 403 with the
  wrong scope); the user's own permission predicates decide the rest in the services;
- the query string and the JSON body are read by pydantic models that forbid unknown
  fields; bad JSON, wrong types, unknown fields and bodies over ``MAX_BODY`` answer
  RFC 9457 problem+json naming each field, before any service runs (nothing written);
- refusals of the services (``RuleViolation``) keep their field and message, with the
  HTML form's status (422, 409 for a slot just taken); ``NotFound`` is 404 and
  ``PermissionDenied`` 403, as the HTML side decides;
- GET answers carry an ETag and honour If-None-Match; public GETs allow any origin (CORS);
- the same models build the OpenAPI 3.1 document (:func:`openapi_document`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from labnet import clock
from labnet.converters import MAX_ID
from labnet.errors import NotFound, PermissionDenied, RuleViolation, RuleViolations
from labnet.extensions import db, limiter
from labnet.services.accounts import tokens

MAX_BODY = 64 * 1024
PROBLEM = "application/problem+json"
PROBLEM_BASE = "/api/docs#problem-"


class ApiProblem(Exception):
    """An answer in problem+json, raised from anywhere in an API route."""

    def __init__(self, status: int, slug: str, title: str, detail: str = "",
                 errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(title)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors = errors or {}
        self.headers = headers or {}


def problem_response(problem: ApiProblem) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + problem.slug, "title": problem.title,
                            "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM)
    response.headers.update(problem.headers)
    return response


def violation_problem(exc: RuleViolation) -> ApiProblem:
    """A service's refusal, with every field it names (as the form shows them)."""
    errors: dict[str, list[str]] = {}
    for one in (exc.violations if isinstance(exc, RuleViolations) else [exc]):
        errors.setdefault(one.field or "__all__", []).append(one.message)
    slug = {409: "conflict", 404: "not-found"}.get(exc.code, "rule")
    title = {409: "Conflict", 404: "Not found"}.get(exc.code, "Refused by a rule")
    return ApiProblem(exc.code, slug, title, exc.message, errors)


def _validation_problem(exc: ValidationError, where: str) -> ApiProblem:
    errors: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(p) for p in err["loc"]) or where
        message = ("This field is not known." if err["type"] == "extra_forbidden"
                   else err["msg"])
        errors.setdefault(name, []).append(message)
    return ApiProblem(422, "validation", "Invalid input",
                      f"The {where} has fields that are missing or not valid.", errors)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/labs/{slug}
    endpoint: str
    summary: str
    tag: str
    scopes: tuple[str, ...]  # any one of them lets the call in; empty: public
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    cors: bool
    path_params: dict[str, str] = field(default_factory=dict)  # name -> JSON type
    paginated: bool = False


OPERATIONS: list[Operation] = []


@dataclass(frozen=True)
class Call:
    """What a route receives: the actor (a user or ``None``), its scopes, and the input."""

    actor: Any
    scopes: frozenset[str]
    query: Any
    body: Any


def _bearer() -> tokens.Bearer | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    kind, _, secret = header.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        raise ApiProblem(401, "unauthorized", "Not authenticated",
                         "Send a personal access token as 'Authorization: Bearer …'.",
                         headers={"WWW-Authenticate": 'Bearer realm="labnet"'})
    found = tokens.authenticate(secret.strip(), now=clock.utcnow(),
                                production=current_app.config["ENV_NAME"] == "production")
    if found is None:
        db.session.rollback()
        raise ApiProblem(401, "unauthorized", "Not authenticated",
                         "The token is unknown, revoked or expired.",
                         headers={"WWW-Authenticate": 'Bearer realm="labnet", '
                                                      'error="invalid_token"'})
    # The last-use stamp is its own short transaction, so a write service's lock stays
    # the first write of the request's transaction (STYLE §9.3).
    db.session.commit()
    return found


def _read_body(model: type[BaseModel]) -> BaseModel:
    if (request.content_length or 0) > MAX_BODY:
        raise ApiProblem(413, "too-large", "Body too large",
                         f"Send at most {MAX_BODY // 1024} KB.")
    if request.mimetype != "application/json":
        raise ApiProblem(415, "media-type", "Unsupported media type",
                         "Send the body as application/json.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise ApiProblem(413, "too-large", "Body too large",
                         f"Send at most {MAX_BODY // 1024} KB.")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "bad-json", "Malformed JSON",
                         "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiProblem(422, "validation", "Invalid input", "The body must be a JSON object.",
                         {"__root__": ["Expected a JSON object."]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_problem(exc, "body") from exc


def _read_query(model: type[BaseModel]) -> BaseModel:
    args: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        args[key] = values[0] if len(values) == 1 else values
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise _validation_problem(exc, "query") from exc


def json_response(payload: Any, status: int = 200, *, public: bool) -> Response:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
    response = Response(body, status=status, mimetype="application/json")
    if request.method == "GET" and status == 200:
        response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
        # What a token's user sees may differ from the public answer: never shared caches.
        response.headers["Cache-Control"] = "public, no-cache" if public else "private, no-cache"
        response.vary.add("Authorization")
        response.make_conditional(request)
    return response


def operation(method: str, rule: str, *, summary: str, tag: str,
              scope: str | tuple[str, ...] = (),
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200,
              paginated: bool = False) -> Callable[..., Any]:
    """Declare an API route at ``/api`` + ``rule`` (Flask syntax), as described above.

    ``scope`` names the token scope the route needs, or several of which any one will do
    (cancelling a booking: ``book`` for the company side, ``manage`` for the lab's)."""
    scopes = (scope,) if isinstance(scope, str) else tuple(scope)
    from labnet.blueprints.api import bp

    path = "/api" + rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
    params = {}
    for part in rule.split("<")[1:]:
        spec = part.split(">")[0]
        kind, _, name = spec.rpartition(":")
        params[name] = "integer" if kind == "int" else "string"

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        endpoint = view.__name__
        OPERATIONS.append(Operation(method, path, f"api.{endpoint}", summary, tag, scopes,
                                    query, body, response, status,
                                    cors=not scopes and method == "GET",
                                    path_params=params, paginated=paginated))

        @wraps(view)
        def run(**kwargs: Any) -> Response:
            try:
                bearer = _bearer()
                if scopes:
                    if bearer is None:
                        raise ApiProblem(401, "unauthorized", "Not authenticated",
                                         "This needs a personal access token.",
                                         headers={"WWW-Authenticate": 'Bearer realm="labnet"'})
                    if not bearer.scopes.intersection(scopes):
                        raise ApiProblem(403, "scope", "Insufficient scope",
                                         "This needs a token with the "
                                         + " or ".join(f"'{s}'" for s in scopes) + " scope.")
                call = Call(actor=bearer.user if bearer else None,
                            scopes=bearer.scopes if bearer else frozenset(),
                            query=_read_query(query) if query else None,
                            body=_read_body(body) if body else None)
                g.api_public = bearer is None
                result = view(call, **kwargs)
            except ApiProblem as problem:
                db.session.rollback()
                return problem_response(problem)
            except RuleViolation as exc:
                db.session.rollback()
                return problem_response(violation_problem(exc))
            except NotFound:
                db.session.rollback()
                return problem_response(ApiProblem(404, "not-found", "Not found",
                                                   "There is nothing at this address."))
            except PermissionDenied:
                db.session.rollback()
                return problem_response(ApiProblem(403, "forbidden", "Not allowed",
                                                   "You are not allowed to do this."))
            if isinstance(result, Response):
                return result
            if method == "GET":
                db.session.rollback()  # reads write nothing
            else:
                db.session.commit()
            return json_response(result, status, public=bearer is None)

        bp.add_url_rule(rule, endpoint, run, methods=[method])
        return run

    return wrap


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(text: str | None, key: str) -> int:
    """The integer ``key`` of a cursor made by :func:`encode_cursor` (0 without one)."""
    if not text:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        number = value[key]
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 2**62:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiProblem(422, "validation", "Invalid input", "The cursor is not valid.",
                         {"cursor": ["Use the cursor of a previous answer's 'next' link."]}
                         ) from exc
    return number


def page(items: list[Any], next_cursor: str | None, **extra: Any) -> Response:
    """A list answer: ``{"items", "next"}`` and an RFC 8288 ``Link: <…>; rel="next"``."""
    next_url = None
    if next_cursor:
        args = request.args.to_dict()
        args["cursor"] = next_cursor
        next_url = request.base_url + "?" + urlencode(args)
    response = json_response({"items": items, "next": next_url, **extra}, public=g.api_public)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


# --- hooks --------------------------------------------------------------------------------


def rate_key() -> str:
    """Per-token limits: a token's requests count together wherever they come from; calls
    without a token count per client address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "api-anon:" + (request.remote_addr or "")


def rate_limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT", "300/minute"))


def too_many(_exc: Exception) -> Response:
    current = limiter.current_limit
    retry = max(1, int(current.reset_at - time.time())) if current else 60
    return problem_response(ApiProblem(429, "rate-limit", "Too many requests",
                                       f"Slow down: try again in {retry} seconds.",
                                       headers={"Retry-After": str(retry)}))


def cors_headers(response: Response) -> Response:
    """Public GETs may be read from any origin (no credentials: tokens are not sent)."""
    op = BY_ENDPOINT.get(request.endpoint or "")
    if op is not None and op.cors:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Link"
    return response


BY_ENDPOINT: dict[str, Operation] = {}


# --- OpenAPI ------------------------------------------------------------------------------


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = None


def _problems(op: Operation) -> dict[str, Any]:
    ref = {"content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    codes = {"429": "Too many requests (see Retry-After)",
             "401": "Missing, unknown, revoked or expired token"}
    if op.query or op.body or op.paginated:
        codes["422"] = "Invalid input or a refused rule (each field named)"
    if op.path_params:
        codes["404"] = "Not found (or not yours to know)"
    if op.scopes:
        codes["403"] = "Wrong scope, or not allowed"
    if op.body:
        codes.update({"400": "Malformed JSON", "413": "Body too large",
                      "415": "Not application/json", "409": "Conflict (e.g. slot just taken)",
                      "404": "Not found (or not yours to know)",
                      "403": "Wrong scope, or not allowed"})
    return {code: {"description": text, **ref} for code, text in codes.items()}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from the pydantic models that validate the input."""
    models = {m for op in OPERATIONS for m in (op.query, op.body, op.response) if m}
    models.add(Problem)
    pairs = [(m, mode) for m in sorted(models, key=lambda m: m.__name__)
             for mode in (("validation",) if m is not Problem else ("serialization",))]
    _, defs = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": kind, **({"minimum": 1, "maximum": MAX_ID}
                                         if kind == "integer" else {"minLength": 1})}}
            for name, kind in op.path_params.items()]
        if op.query:
            qschema = op.query.model_json_schema()
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                prop = {k: v for k, v in prop.items() if k not in ("title",)}
                parameters.append({"name": name, "in": "query", "required": name in required,
                                   "schema": prop})
        ok: dict[str, Any] = {"description": "OK"}
        if op.response:
            ok["content"] = {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}}}
        if op.paginated:
            ok["headers"] = {"Link": {"description": 'RFC 8288 rel="next"',
                                      "schema": {"type": "string"}}}
        entry: dict[str, Any] = {
            "operationId": op.endpoint.removeprefix("api."), "summary": op.summary,
            "tags": [op.tag], "parameters": parameters,
            "responses": {str(op.status): ok, **_problems(op)},
        }
        if op.method == "GET":
            entry["responses"]["304"] = {"description": "Not modified (If-None-Match)"}
        if op.body:
            entry["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
        entry["security"] = ([{"bearer": [s]} for s in op.scopes] if op.scopes
                             else [{}, {"bearer": []}])
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "LabNet API", "version": "1.0.0",
                 "description": "Labs, equipment, availability, bookings and requests. "
                                "Errors are RFC 9457 problem+json.",
                 "license": {"name": "AGPL-3.0-or-later",
                             "identifier": "AGPL-3.0-or-later"}},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A personal access token from /account/tokens"}}},
    }
