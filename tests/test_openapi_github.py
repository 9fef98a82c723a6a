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


# -- answers -----------------------------------------------------------------------


@dataclass
class Answered(Req):
    """A logged request with the fake's answer (LoggedRequest's status, response, fault)."""

    status: int = 200
    response: Any = None
    fault: bool = False


@pytest.fixture(scope="module")
def rendered():
    """Answers the fake GitHub really renders: an issue (closed, in a milestone, labelled,
    commented), its milestone, label and comment, and the repository."""
    from tests.fakes.github import FakeGitHub

    with FakeGitHub(token="t") as fake:
        fake.create_milestone("acme/shop", "M1", description="d")
        fake.create_label("acme/shop", "guidesync")
        n = fake.create_issue("acme/shop", "t", "b", milestone=1, labels=["guidesync"])
        fake.add_comment("acme/shop", n, "hi")
        fake.close_issue("acme/shop", n, reason="not_planned")
        fake.lock_issue("acme/shop", n, "resolved")
        with fake.lock:
            repo = fake._repo("acme/shop")
            repo_json = fake._repo_json(repo)
        yield {
            "issue": fake.issue("acme/shop", n),
            "milestone": fake.milestones("acme/shop")[1],
            "label": fake.labels("acme/shop")["guidesync"],
            "comment": fake.comments("acme/shop", n)[0],
            "repo": repo_json,
        }


def test_the_fakes_answers_fit_the_response_schemas(spec, rendered):
    r = rendered
    answers = [
        Answered("GET", REPO, status=200, response=r["repo"]),
        Answered("GET", f"{REPO}/issues", q(state="all"), status=200, response=[r["issue"]]),
        Answered("GET", f"{REPO}/issues/1", status=200, response=r["issue"]),
        Answered("POST", f"{REPO}/issues", body={"title": "t"}, status=201, response=r["issue"]),
        Answered("PATCH", f"{REPO}/issues/1", body={"state": "closed"}, status=200, response=r["issue"]),
        Answered("POST", f"{REPO}/issues/1/comments", body={"body": "hi"}, status=201, response=r["comment"]),
        Answered("GET", f"{REPO}/milestones", q(state="all"), status=200, response=[r["milestone"]]),
        Answered("POST", f"{REPO}/milestones", body={"title": "M1"}, status=201, response=r["milestone"]),
        Answered("PATCH", f"{REPO}/milestones/1", body={"title": "M2"}, status=200, response=r["milestone"]),
        Answered("GET", f"{REPO}/labels/guidesync", status=200, response=r["label"]),
        Answered("POST", f"{REPO}/labels", body={"name": "x"}, status=201, response=r["label"]),
        Answered("GET", f"{REPO}/issues/9", status=404, response={"message": "Not Found", "documentation_url": "x"}),
        Answered("GET", f"{REPO}/milestones", status=304, response=None),
    ]
    assert validate_log(answers, spec=spec) == []


def test_answers_that_do_not_fit_are_reported(spec, rendered):
    issue = dict(rendered["issue"])
    del issue["user"]
    bad_reason = dict(rendered["issue"], state_reason="done")
    milestone = dict(rendered["milestone"], creator={"login": "x"})
    log = [
        Answered("GET", f"{REPO}/issues/1", status=200, response=issue),
        Answered("GET", f"{REPO}/issues", status=200, response=[rendered["issue"], bad_reason]),
        Answered("GET", f"{REPO}/milestones", status=200, response=[milestone]),
        Answered("POST", f"{REPO}/issues", body={"title": "t"}, status=200, response=rendered["issue"]),
        Answered("POST", f"{REPO}/labels", body={"name": "x"}, status=201, response=None),
        Answered("GET", f"{REPO}/issues/1", status=410, response={"message": 3}),
    ]
    errors = validate_log(log, spec=spec)
    assert f"GET {REPO}/issues/1: response 200: 'user' is a required property" in errors
    assert any(e.startswith(f"GET {REPO}/issues: response 200: at $[1].state_reason:") for e in errors), errors
    assert any(e.startswith(f"GET {REPO}/milestones: response 200: at $[0].creator:") for e in errors), errors
    assert any("response status 200 is not declared for issues/create (declared: 201," in e for e in errors), errors
    assert any(e.startswith(f"POST {REPO}/labels: response 201: missing the JSON body") for e in errors), errors
    assert any(e.startswith(f"GET {REPO}/issues/1: response 410: at $.message:") for e in errors), errors
    # an undeclared error status is not checked; answers made up by an injected fault, or never
    # sent (a dropped connection: status 0), are not the fake's and are not checked either
    quiet = [
        Answered("GET", f"{REPO}/issues/1", status=401, response={"message": 3}),
        Answered("GET", f"{REPO}/issues/1", status=200, response={"oops": 1}, fault=True),
        Answered("GET", f"{REPO}/issues/1", status=0, response=None),
    ]
    assert validate_log(quiet, spec=spec) == []
    assert validate_log(log, spec=spec, responses=False) == []


def test_answers_are_checked_the_same_without_the_compiled_fast_path(spec, rendered, monkeypatch):
    import tests.openapi_github as module

    monkeypatch.setattr(module, "_fastjsonschema", None)
    slow = OpenApiSpec(spec.document)
    bad = dict(rendered["issue"], state_reason="done")
    assert slow.validate_response("GET", f"{REPO}/issues/1", 200, rendered["issue"]) == []
    [error] = slow.validate_response("GET", f"{REPO}/issues/1", 200, bad)
    assert error.startswith("response 200: at $.state_reason:")
    assert spec.validate_response("GET", f"{REPO}/issues/1", 200, bad) == [error]
