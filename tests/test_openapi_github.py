"""Tests for tests/openapi_github.py, the request validator built on GitHub's
published OpenAPI description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.openapi_github import OpenApiSpec, load_spec, validate_log

REPO = "/repos/acme/shop"


@pytest.fixture(scope="module")
def spec() -> OpenApiSpec:
    return load_spec()


@dataclass
class Req:
    """Same shape as the fake server's LoggedRequest."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None


def q(**params: str) -> dict[str, list[str]]:
    return {name: [value] for name, value in params.items()}


# -- loading ---------------------------------------------------------------


def test_load_spec_is_cached_per_process(spec):
    assert load_spec() is spec
    assert spec.document["openapi"].startswith("3.")
    assert "/repos/{owner}/{repo}/issues/{issue_number}" in spec.templates


# -- valid requests ----------------------------------------------------------

VALID = [
    pytest.param(
        "GET",
        f"{REPO}/issues",
        q(
            labels="guidesync",
            state="all",
            since="2026-01-01T00:00:00Z",
            per_page="100",
            page="2",
            sort="updated",
            direction="asc",
        ),
        None,
        id="list-issues-all-params",
    ),
    pytest.param(
        "POST",
        f"{REPO}/issues",
        {},
        {"title": "Step 1", "body": "Do it", "milestone": 3, "labels": ["guidesync"]},
        id="create-issue",
    ),
    pytest.param(
        "PATCH",
        f"{REPO}/issues/3",
        {},
        {"state": "closed", "state_reason": "not_planned"},
        id="close-issue",
    ),
    pytest.param("PATCH", f"{REPO}/issues/3", {}, {"milestone": None}, id="clear-milestone"),
    # PyGithub's Issue.edit(milestone=None) sends "" to clear the milestone.
    pytest.param("PATCH", f"{REPO}/issues/3", {}, {"milestone": ""}, id="clear-milestone-pygithub"),
    # PyGithub's add_to_labels/set_labels send a bare array, which the spec's
    # prose (not its schema) allows.
    pytest.param("POST", f"{REPO}/issues/3/labels", {}, ["guidesync"], id="add-labels-bare-array"),
    pytest.param("PUT", f"{REPO}/issues/3/labels", {}, ["guidesync"], id="set-labels-bare-array"),
    pytest.param(
        "POST", f"{REPO}/issues/3/labels", {}, {"labels": ["guidesync"]}, id="add-labels-object"
    ),
    pytest.param("PATCH", f"{REPO}/issues/3", {}, {"state_reason": None}, id="null-state-reason"),
    pytest.param(
        "POST",
        f"{REPO}/milestones",
        {},
        {"title": "Guide v1", "description": "From docs/guide.md"},
        id="create-milestone",
    ),
    pytest.param(
        "POST",
        f"{REPO}/milestones",
        {},
        {"title": "Guide v1", "due_on": "2026-03-01T00:00:00Z", "state": "open"},
        id="create-milestone-due-on",
    ),
    pytest.param("POST", f"{REPO}/issues/3/comments", {}, {"body": "Synced."}, id="comment"),
    pytest.param("GET", f"{REPO}/issues/3/comments", q(per_page="100"), None, id="list-comments"),
    pytest.param("GET", f"{REPO}/labels", q(per_page="100", page="1"), None, id="list-labels"),
    pytest.param(
        "POST",
        f"{REPO}/labels",
        {},
        {"name": "guidesync", "color": "ededed", "description": "Managed by guidesync"},
        id="create-label",
    ),
    pytest.param(
        "GET", f"{REPO}/milestones", q(state="all", per_page="100"), None, id="list-milestones"
    ),
    pytest.param("GET", f"{REPO}/issues/comments", {}, None, id="literal-beats-template"),
    pytest.param("GET", f"{REPO}", {}, None, id="get-repo"),
    pytest.param("GET", f"{REPO}/contents/docs/guide.md", q(ref="main"), None, id="slashy-path"),
]


@pytest.mark.parametrize("method, path, query, body", VALID)
def test_valid_requests_pass(spec, method, path, query, body):
    assert spec.validate(method, path, query, body) == []


def test_enterprise_prefix_is_stripped(spec):
    query = q(state="open", per_page="100")
    assert spec.validate("GET", f"/api/v3{REPO}/issues", query, None) == []
    assert spec.validate("GET", f"/api/v3{REPO}/issues", query, None, prefix="/api/v3") == []


def test_custom_prefix_must_be_present(spec):
    assert spec.validate("GET", f"/ghe/api/v3{REPO}/issues", {}, None, prefix="/ghe/api/v3") == []
    errors = spec.validate("GET", f"{REPO}/issues", {}, None, prefix="/ghe/api/v3")
    assert len(errors) == 1 and "prefix" in errors[0]


def test_array_query_parameters(spec):
    # "owner[]" style and repeated keys both reach the array schema.
    path = "/orgs/acme/personal-access-token-requests"
    assert spec.validate("GET", path, {"owner[]": ["a", "b"]}) == []
    errors = spec.validate("GET", "/orgs/acme/migrations", {"exclude": ["bogus"]})
    assert len(errors) == 1 and "'bogus' is not one of ['repositories']" in errors[0]


def test_operation_id_routing(spec):
    assert spec.operation_id("GET", f"{REPO}/issues/comments") == "issues/list-comments-for-repo"
    assert spec.operation_id("GET", f"{REPO}/issues/7") == "issues/get"
    assert spec.operation_id("GET", "/nope") is None


# -- invalid requests ----------------------------------------------------------

INVALID = [
    pytest.param(
        "GET", f"{REPO}/issues", q(state="bogus"), None, "state='bogus'", id="bad-state-enum"
    ),
    pytest.param(
        "PATCH",
        f"{REPO}/issues/3",
        {},
        {"state": "closed", "state_reason": "done"},
        "$.state_reason: 'done' is not one of",
        id="bad-state-reason",
    ),
    pytest.param(
        "PATCH", f"{REPO}/issues/3", {}, {"state": "reopened"}, "$.state", id="bad-state-in-body"
    ),
    pytest.param(
        "GET", f"{REPO}/issues", q(labelz="guidesync"), None, "unknown query parameter 'labelz'",
        id="unknown-query-param",
    ),
    pytest.param(
        "GET", f"{REPO}/issues", q(per_page="abc"), None, "'abc' is not of type 'integer'",
        id="per-page-not-integer",
    ),
    pytest.param(
        "GET", f"{REPO}/issues", q(since="last week"), None, "is not a 'date-time'",
        id="since-not-date-time",
    ),
    pytest.param(
        "GET", f"{REPO}/issues", {"state": ["open", "closed"]}, None, "given 2 times",
        id="repeated-scalar-param",
    ),
    pytest.param(
        "POST", f"{REPO}/issues", {}, {"body": "no title"}, "'title' is a required property",
        id="missing-title",
    ),
    pytest.param(
        "POST", f"{REPO}/issues", {}, None, "missing required JSON request body",
        id="missing-body",
    ),
    pytest.param(
        "POST",
        f"{REPO}/issues",
        {},
        {"title": "t", "milestone": "three"},
        "$.milestone: 'three' is not a milestone number",
        id="milestone-not-a-number",
    ),
    pytest.param(
        "POST", f"{REPO}/issues", {}, {"title": "t", "milestone": True}, "$.milestone",
        id="milestone-boolean",
    ),
    pytest.param(
        "POST", f"{REPO}/issues", {}, {"title": "t", "labels": "guidesync"}, "$.labels",
        id="labels-not-array",
    ),
    pytest.param(
        "POST", f"{REPO}/milestones", {}, {"title": "m", "due_on": "soon"}, "$.due_on",
        id="milestone-due-on-not-date-time",
    ),
    pytest.param(
        "POST", f"{REPO}/labels", {}, {"color": "ededed"}, "'name' is a required property",
        id="label-without-name",
    ),
    pytest.param(
        "GET", f"{REPO}/isues", {}, None, "no path in GitHub's OpenAPI description matches",
        id="unknown-path",
    ),
    pytest.param(
        "PUT", f"{REPO}/issues/3", {}, {"state": "closed"},
        "method PUT is not defined for /repos/{owner}/{repo}/issues/{issue_number}",
        id="wrong-method",
    ),
    pytest.param(
        "GET", f"{REPO}/issues/three", {}, None, "issue_number='three'",
        id="issue-number-not-integer",
    ),
    pytest.param(
        "GET", f"{REPO}/milestones/three", {}, None, "milestone_number='three'",
        id="milestone-number-not-integer",
    ),
    pytest.param(
        "DELETE", f"{REPO}/labels/guidesync", {}, {"name": "x"}, "takes no request body",
        id="unexpected-body",
    ),
    pytest.param(
        "POST", f"{REPO}/issues/3/labels", {}, [1, 2], "request body", id="add-labels-not-names"
    ),
]


@pytest.mark.parametrize("method, path, query, body, expected", INVALID)
def test_invalid_requests_are_caught(spec, method, path, query, body, expected):
    errors = spec.validate(method, path, query, body)
    assert errors, f"{method} {path} {query} {body} was accepted"
    assert any(expected in e for e in errors), errors


def test_milestone_rule_is_marked_and_optional(spec):
    body = {"title": "t", "milestone": "three"}
    [error] = spec.validate("POST", f"{REPO}/issues", {}, body)
    assert error.endswith("[stricter than spec]")
    # The published schema itself allows any string for "milestone".
    loose = OpenApiSpec(spec.document, body_rules=())
    assert loose.validate("POST", f"{REPO}/issues", {}, body) == []
    assert spec.validate("POST", f"{REPO}/issues", {}, {"title": "t", "milestone": "3"}) == []


# -- logs ------------------------------------------------------------------------


def test_validate_log_prefixes_errors_with_request_line(spec):
    log = [
        Req("GET", f"{REPO}/issues", q(state="all", per_page="100")),
        Req("PATCH", f"{REPO}/issues/3", body={"state": "closed", "state_reason": "done"}),
        Req("GET", f"{REPO}/issues", q(labelz="x")),
        Req("post", f"{REPO}/issues/3/comments", body={"body": "ok"}),
    ]
    errors = validate_log(log)
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"PATCH {REPO}/issues/3: request body: at $.state_reason")
    assert errors[1].startswith(f"GET {REPO}/issues: unknown query parameter 'labelz'")


def test_validate_log_with_enterprise_prefix(spec):
    log = [
        Req("GET", f"/api/v3{REPO}/labels", q(per_page="100")),
        Req("POST", f"/api/v3{REPO}/labels", body={"name": "guidesync", "color": "ededed"}),
    ]
    assert validate_log(log, prefix="/api/v3", spec=spec) == []
    errors = validate_log([Req("GET", f"{REPO}/labels")], prefix="/api/v3", spec=spec)
    assert len(errors) == 1 and errors[0].startswith(f"GET {REPO}/labels: ")
