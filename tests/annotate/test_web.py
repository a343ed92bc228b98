"""The web layer in-process (FastAPI's TestClient): the annotator's loop, access rules, and bad or
hostile requests, each answered with a 4xx and a one-line JSON error that changes nothing."""

from __future__ import annotations

import re
import warnings

import pytest

from depthforge.annotate.web import create_app

with warnings.catch_warnings():  # Starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def signed_in(project, name, admin=False):
    """A client signed in through a fresh invite, and its CSRF token."""
    _, token = project.store.add_annotator(name, admin=admin)
    client = TestClient(create_app(project))
    assert client.get(f"/invite/{token}", follow_redirects=False).status_code == 303
    page = client.get("/admin" if admin else "/")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return client, csrf


def post(client, url, csrf, body):
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf})


def test_annotator_loop_with_tutorial_feedback_and_undo(project):
    client, csrf = signed_in(project, "ann")
    task = client.get("/api/next").json()["task"]
    assert task["tutorial"] and 0 <= task["a"]["x"] < task["image"]["width"]
    image = client.get("/images/" + task["image"]["name"])
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    answer = post(client, "/api/judgements", csrf, {"task_id": task["task_id"], "answer": "A"})
    assert answer.status_code == 201
    assert answer.json()["expected"] in ("A", "B") and answer.json()["progress"]["answered"] == 1
    undone = post(client, "/api/undo", csrf, {})
    assert undone.json()["task"]["task_id"] == task["task_id"]
    assert undone.json()["progress"]["answered"] == 0
    assert client.get("/api/next").json()["task"]["task_id"] == task["task_id"]


def assert_refused(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and body["error"]


@pytest.mark.parametrize(
    "attack, status",
    [
        ("malformed_json", 422),
        ("wrong_types", 422),
        ("unknown_answer", 422),
        ("extra_field", 422),
        ("another_annotators_task", 404),
        ("missing_task", 404),
        ("replayed", 409),
        ("no_session", 401),
        ("forged_session", 401),
        ("no_csrf", 403),
        ("wrong_csrf", 403),
        ("form_instead_of_json", 415),
        ("oversized", 413),
        ("oversized_chunked", 413),
        ("traversal", 404),
        ("traversal_encoded", 404),
        ("absolute_path", 404),
        ("annotator_on_admin_page", 403),
        ("annotator_on_admin_api", 403),
        ("annotator_export", 403),
        ("admin_gold_out_of_range", 422),
        ("admin_gold_bad_coordinates", 422),
        ("bad_invite", 401),
        ("unknown_route", 404),
        ("wrong_method", 405),
    ],
)
def test_bad_and_hostile_requests_are_refused_and_change_nothing(project, attack, status):
    alice, alice_csrf = signed_in(project, "alice")
    bob, bob_csrf = signed_in(project, "bob")
    admin, admin_csrf = signed_in(project, "admin", admin=True)
    task = alice.get("/api/next").json()["task"]
    answered = bob.get("/api/next").json()["task"]
    post(bob, "/api/judgements", bob_csrf, {"task_id": answered["task_id"], "answer": "B"})
    before = project.store.counts()
    headers = {"X-CSRF-Token": bob_csrf, "content-type": "application/json"}
    submit = "/api/judgements"
    requests = {
        "malformed_json": lambda: bob.post(submit, content=b'{"task_id": 1,', headers=headers),
        "wrong_types": lambda: post(bob, submit, bob_csrf, {"task_id": "x", "answer": "A"}),
        "unknown_answer": lambda: post(bob, submit, bob_csrf, {"task_id": 1, "answer": "C"}),
        "extra_field": lambda: post(
            bob, submit, bob_csrf, {"task_id": 1, "answer": "A", "annotator_id": 1}
        ),
        "another_annotators_task": lambda: post(
            bob, submit, bob_csrf, {"task_id": task["task_id"], "answer": "A"}
        ),
        "missing_task": lambda: post(bob, submit, bob_csrf, {"task_id": 10**9, "answer": "A"}),
        "replayed": lambda: post(
            bob, submit, bob_csrf, {"task_id": answered["task_id"], "answer": "B"}
        ),
        "no_session": lambda: TestClient(create_app(project)).post(
            submit, json={"task_id": task["task_id"], "answer": "A"}
        ),
        "forged_session": lambda: TestClient(
            create_app(project), cookies={"depthforge_annotate": "eyJhbm5vdGF0b3IiOiAxfQ==.x.y"}
        ).get("/api/next"),
        "no_csrf": lambda: alice.post(submit, json={"task_id": task["task_id"], "answer": "A"}),
        "wrong_csrf": lambda: post(
            alice, submit, bob_csrf, {"task_id": task["task_id"], "answer": "A"}
        ),
        "form_instead_of_json": lambda: alice.post(
            submit,
            data={"task_id": task["task_id"], "answer": "A"},
            headers={"X-CSRF-Token": alice_csrf},
        ),
        "oversized": lambda: bob.post(submit, content=b" " * 100_000, headers=headers),
        "oversized_chunked": lambda: bob.post(
            submit, content=iter([b" " * 10_000] * 5), headers=headers
        ),
        "traversal": lambda: bob.get("/images/../annotate.json"),
        "traversal_encoded": lambda: bob.get("/images/..%2F..%2Fsecret_key"),
        "absolute_path": lambda: bob.get("/images//etc/passwd"),
        "annotator_on_admin_page": lambda: bob.get("/admin"),
        "annotator_on_admin_api": lambda: bob.get("/admin/api/stats"),
        "annotator_export": lambda: bob.post(
            "/admin/export", data={"csrf_token": bob_csrf, "aggregation": "majority"}
        ),
        "admin_gold_out_of_range": lambda: post(
            admin,
            "/admin/api/gold",
            admin_csrf,
            {"image": task["image"]["name"], "a": [0, 0], "b": [48, 5], "relation": 1},
        ),
        "admin_gold_bad_coordinates": lambda: post(
            admin,
            "/admin/api/gold",
            admin_csrf,
            {"image": task["image"]["name"], "a": [0, 0], "b": ["far", 5], "relation": 1},
        ),
        "bad_invite": lambda: TestClient(create_app(project)).get("/invite/not-a-token"),
        "unknown_route": lambda: bob.get("/api/nothing"),
        "wrong_method": lambda: bob.delete(submit),
    }
    assert_refused(requests[attack](), status)
    assert project.store.counts() == before
    assert not list((project.root / "exports").iterdir())


def test_admin_sees_stats_adds_gold_and_exports(project):
    admin, csrf = signed_in(project, "boss", admin=True)
    name = project.store.pairs()[0][1].name
    gold = post(
        admin, "/admin/api/gold", csrf, {"image": name, "a": [0, 0], "b": [47, 63], "relation": -1}
    )
    assert gold.status_code == 201
    stats = admin.get("/admin/api/stats").json()
    assert stats["counts"]["gold_pairs"] == project.store.counts()["gold_pairs"]
    page = admin.get("/admin")
    assert "<svg" in page.text and "Export" in page.text
    missing_csrf = admin.post("/admin/export", data={"aggregation": "majority"})
    assert missing_csrf.status_code == 422
    wrong_csrf = admin.post("/admin/export", data={"csrf_token": "x", "aggregation": "majority"})
    assert wrong_csrf.status_code == 403
    done = admin.post("/admin/export", data={"csrf_token": csrf, "aggregation": "dawid_skene"})
    assert done.status_code == 200 and 'id="exported"' in done.text
    (folder,) = (project.root / "exports").iterdir()
    assert folder.name.startswith("dawid_skene-") and (folder / "annotate_export.json").is_file()


def test_responses_carry_security_headers_and_a_signed_http_only_cookie(project):
    _, token = project.store.add_annotator("c")
    client = TestClient(create_app(project))
    response = client.get(f"/invite/{token}", follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    secure = TestClient(create_app(project, secure_cookies=True))
    assert "secure" in secure.get(f"/invite/{token}", follow_redirects=False).headers[
        "set-cookie"
    ].lower().split("; ")


def test_a_library_error_is_a_one_line_400(project):
    admin, csrf = signed_in(project, "boss", admin=True)
    (project.images_dir / project.store.pairs()[0][1].name).unlink()  # an image gone missing
    client, bob_csrf = signed_in(project, "bob")
    while (task := client.get("/api/next").json()["task"]) is not None:
        post(client, "/api/judgements", bob_csrf, {"task_id": task["task_id"], "answer": "A"})
    response = admin.post("/admin/export", data={"csrf_token": csrf, "aggregation": "majority"})
    assert_refused(response, 400)
