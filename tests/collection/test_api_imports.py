"""The import endpoints of /api/v1/: a province's tools upload a legacy book and follow it as a supervisor
does on the import page, through the same service, selectors, report and workbook.

The jurisdiction is the page's: a run of another area is a 404, the same answer as a run that does not
exist, on every endpoint; a collector's area holds no run; without a token, or with an auditor's, the
answer is 401. Every refusal of the upload is a 422 in the API's error shape naming the field and the rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.collection.models import ImportRun
from tests.collection.test_form_api import api, errors_of, ok
from tests.collection.test_import_pages import CSV as PAGE_CSV
from tests.collection.test_import_pages import HANOI
from tests.collection.workbook_support import rejected_rows
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

# The import page's book: one row that passes every rule, one sent for review (a place of birth nobody
# knows), one rejected (digits in a name).
CSV = PAGE_CSV.encode()
IMPORTS = "/api/v1/imports"


def upload(
    client: Client,
    content: bytes = CSV,
    *,
    name: str = "so_ho_khau.csv",
    source: str | None = "Sổ hộ khẩu Hoàn Kiếm",
    **fields: str,
) -> Any:
    data: dict[str, Any] = {"file": SimpleUploadedFile(name, content), **fields}
    if source is not None:
        data["source_name"] = source
    return client.post(IMPORTS, data)


def uploaded_waiting(client: Client, settings: Any) -> dict[str, Any]:
    """A book uploaded with no worker to take it: the run waits, as it does between two polls."""
    settings.DANCU_TASKS_INLINE = False
    run = ok(upload(client), 201)
    settings.DANCU_TASKS_INLINE = True
    return run


def test_a_supervisor_uploads_a_book_and_follows_it_to_its_report(personas: Personas) -> None:
    cuong = api(personas.cuong)
    run = ok(upload(cuong), 201)
    assert ImportRun.objects.get().pk == run["id"]
    # The worker ran (inline in tests) by the time the answer was written: staged, then promoted.
    assert (run["source"], run["file_name"], run["file_format"], run["started_by"]) == (
        "Sổ hộ khẩu Hoàn Kiếm",
        "so_ho_khau.csv",
        "csv",
        "cuong",
    )
    assert (run["status"], run["progress"]["step"], run["progress"]["percent"]) == ("done", "done", 100)

    detail = ok(cuong.get(f"{IMPORTS}/{run['id']}"))
    counts = {key: detail[key] for key in ("rows_read", "rows_accepted", "rows_review", "rows_rejected")}
    assert counts == {"rows_read": 3, "rows_accepted": 1, "rows_review": 1, "rows_rejected": 1}
    assert (detail["rows_applied"], detail["rows_queued"]) == (1, 1)
    issues = {line["code"]: line for line in detail["issues"]}
    assert {"name.digits", "birth_place.unknown"} <= set(issues)
    assert issues["name.digits"]["count"] == 1
    assert issues["name.digits"]["message_vi"]
    assert issues["name.digits"]["message_en"]
    assert issues["name.digits"]["message_vi"] != issues["name.digits"]["message_en"]
    # The row sent for review is a form waiting for the commune's reviewer.
    assert detail["review_forms"] == {"submitted": 1}
    assert detail["waiting_forms"] == 1
    assert (detail["error"], detail["resume_on_server"]) == ("", None)
    assert detail["links"] == {
        "self": f"{IMPORTS}/{run['id']}",
        "page": f"/imports/{run['id']}/",
        "rejected": f"{IMPORTS}/{run['id']}/rejected.xlsx",
        "resume": None,
        # Read to its end: no longer to be given up.
        "discard": None,
    }

    listed = ok(cuong.get(IMPORTS))
    assert [r["id"] for r in listed["results"]] == [run["id"]]
    assert (listed["page"], listed["page_size"], listed["has_next"]) == (1, 20, False)
    assert listed["results"][0]["rows_rejected"] == 1

    download = cuong.get(detail["links"]["rejected"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"import-{run['id']}-rejected.xlsx" in download["Content-Disposition"]
    rows = rejected_rows(download)
    # The file's line 4 (the header is line 1), with its rule code, then the file's own cells.
    assert [(row[0], row[2], row[3]) for row in rows] == [(4, "name.digits", "R3")]
    # The rows are people's data: who took them, how many and how is on record.
    taken = AuditEvent.objects.get(event_type=EventType.IMPORT_REJECTED_EXPORTED)
    assert (taken.actor, taken.subject_id, taken.data) == (
        personas.cuong,
        str(run["id"]),
        {"rows": 1, "channel": "api"},
    )


def test_the_rejected_workbook_speaks_the_clients_language(personas: Personas) -> None:
    cuong = api(personas.cuong)
    run = ok(upload(cuong), 201)
    path = f"{IMPORTS}/{run['id']}/rejected.xlsx"
    titles_vi = rejected_rows(cuong.get(path))
    titles_en = rejected_rows(cuong.get(path, headers={"Accept-Language": "en"}))
    assert titles_vi[0][1] != titles_en[0][1]
    assert titles_vi[0][2] == titles_en[0][2] == "name.digits"


def test_the_same_book_sent_again_is_not_imported_twice(personas: Personas) -> None:
    cuong = api(personas.cuong)
    first = ok(upload(cuong), 201)
    # A nightly job that sends the same export again: its earlier run, with 200, and nothing new.
    again = ok(upload(cuong), 200)
    assert again["id"] == first["id"]
    assert ImportRun.objects.count() == 1

    # The same content under another source name would file a second form for everyone without a number.
    refused = upload(cuong, source="Sổ tạm trú")
    assert errors_of(refused, 422) == ["file.already_imported"]
    assert refused.json()["errors"][0]["field"] == "same_file_again"
    # It says how to import it again through the API, not only on the page or the command line.
    assert "same_file_again=true" in refused.json()["errors"][0]["message_en"]
    assert "same_file_again=true" in refused.json()["errors"][0]["message_vi"]
    assert ImportRun.objects.count() == 1

    meant = ok(upload(cuong, source="Sổ tạm trú", same_file_again="true"), 201)
    assert meant["id"] != first["id"]
    assert ImportRun.objects.count() == 2


@pytest.mark.parametrize(
    "case",
    [
        (CSV, "so_ho_khau.xls", "Sổ", "file", "file.type"),
        (b"", "so_ho_khau.csv", "Sổ", "file", "file.empty"),
        (b"\x00\x01\x02PK\x00binary\x00" * 20, "so_ho_khau.csv", "Sổ", "file", "file.binary"),
        (b"not,a,header\n1,2,3\n", "so_ho_khau.csv", "Sổ", "file", "file.no_header"),
        (b"PK\x03\x04 not really a workbook", "so_ho_khau.xlsx", "Sổ", "file", "file.xlsx_damaged"),
        (CSV, "so_ho_khau.csv", "", "source_name", "source.name"),
        (CSV, "so_ho_khau.csv", "x" * 101, "source_name", "source.name"),
        (CSV, "so_ho_khau.csv", "Sổ\nhộ khẩu", "source_name", "source.control_chars"),
    ],
)
def test_every_refusal_of_the_upload_names_its_field_and_rule(
    personas: Personas, case: tuple[bytes, str, str, str, str]
) -> None:
    content, name, source, field, code = case
    response = upload(api(personas.cuong), content, name=name, source=source)
    assert errors_of(response, 422) == [code]
    assert response.json()["errors"][0]["field"] == field
    assert not ImportRun.objects.exists()


def test_a_file_over_the_limit_is_refused(personas: Personas, settings: Any) -> None:
    settings.DANCU_IMPORT_UPLOAD_MAX_MB = 0
    response = upload(api(personas.cuong))
    assert errors_of(response, 422) == ["file.too_large"]
    assert response.json()["errors"][0]["field"] == "file"
    assert not ImportRun.objects.exists()


def test_an_upload_without_its_file_or_source_is_refused_naming_the_part(personas: Personas) -> None:
    cuong = api(personas.cuong)
    no_file = cuong.post(IMPORTS, {"source_name": "Sổ"})
    assert errors_of(no_file, 422) == ["file.missing"]
    assert no_file.json()["errors"][0]["field"] == "file"
    no_source = upload(cuong, source=None)
    assert errors_of(no_source, 422) == ["source.name"]
    assert no_source.json()["errors"][0]["field"] == "source_name"
    assert not ImportRun.objects.exists()


def test_a_body_that_is_no_multipart_form_is_refused_with_415(personas: Personas) -> None:
    """A client that sends JSON, as to every other write, or a urlencoded form (`curl -d`), which holds no
    file, is told how the file travels."""
    cuong = api(personas.cuong)
    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/csv"):
        response = cuong.generic("POST", IMPORTS, CSV, content_type=content_type)
        assert errors_of(response, 415) == ["request.content_type"], content_type
        error = response.json()["errors"][0]
        assert error["field"] == "Content-Type"
        assert "multipart/form-data" in error["message_en"]
        assert content_type in error["message_en"]
    # A form whose boundary is missing cannot be read at all: Django's 400, in the API's error shape.
    broken = cuong.generic("POST", IMPORTS, b"--x\r\n", content_type="multipart/form-data")
    assert errors_of(broken, 400) == ["request.bad"]
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("who", ["lan", "hoa"])
def test_a_commune_collector_may_not_import(personas: Personas, who: str) -> None:
    response = upload(api(getattr(personas, who)))
    assert errors_of(response, 422) == ["role.not_allowed"]
    assert response.json()["errors"][0]["field"] == "actor"
    assert not ImportRun.objects.exists()


def test_another_areas_run_is_not_found_on_every_endpoint(personas: Personas, settings: Any) -> None:
    run = uploaded_waiting(api(personas.cuong), settings)
    ImportRun.objects.filter(pk=run["id"]).update(status=ImportRun.Status.INTERRUPTED)
    paths = [f"{IMPORTS}/{run['id']}", f"{IMPORTS}/{run['id']}/rejected.xlsx"]
    resume = f"{IMPORTS}/{run['id']}/resume"
    missing = run["id"] + 1000

    # Hồ Chí Minh City's supervisor, and the collector of a ward inside Hà Nội (her area is her ward):
    # the same answer as for a run that does not exist, so the answer confirms nothing.
    for outsider in (personas.dung, personas.lan, personas.binh):
        client = api(outsider)
        for path in [*paths, f"{IMPORTS}/{missing}", f"{IMPORTS}/{missing}/rejected.xlsx"]:
            response = client.get(path)
            assert errors_of(response, 404) == ["not_found"], (outsider.username, path)
        assert errors_of(client.post(resume), 404) == ["not_found"]
        assert errors_of(client.post(f"{IMPORTS}/{missing}/resume"), 404) == ["not_found"]
        assert ok(client.get(IMPORTS))["results"] == []
    ImportRun.objects.get(pk=run["id"], status=ImportRun.Status.INTERRUPTED)

    # The ministry sees every run.
    minh = api(personas.minh)
    assert ok(minh.get(paths[0]))["id"] == run["id"]
    assert [r["id"] for r in ok(minh.get(IMPORTS))["results"]] == [run["id"]]


def test_without_an_officers_token_every_endpoint_answers_401(personas: Personas, settings: Any) -> None:
    run = uploaded_waiting(api(personas.cuong), settings)
    ImportRun.objects.filter(pk=run["id"]).update(status=ImportRun.Status.INTERRUPTED)
    # No token; a token that is no one's; the auditor's (the access log's endpoints take it, no other).
    clients = [
        Client(),
        Client(headers={"Authorization": "Bearer dcu_not-a-token"}),
        api(personas.an),
    ]
    for client in clients:
        for method, path in [
            ("get", IMPORTS),
            ("get", f"{IMPORTS}/{run['id']}"),
            ("get", f"{IMPORTS}/{run['id']}/rejected.xlsx"),
            ("post", f"{IMPORTS}/{run['id']}/resume"),
        ]:
            response = getattr(client, method)(path)
            assert errors_of(response, 401) == ["auth.required"], (method, path)
            assert response["WWW-Authenticate"] == 'Bearer realm="dancu"'
        assert errors_of(upload(client), 401) == ["auth.required"]
    assert ImportRun.objects.count() == 1
    assert ImportRun.objects.get().status == ImportRun.Status.INTERRUPTED


def test_an_account_that_reads_no_records_gets_no_token(personas: Personas) -> None:
    """The API has no citizen or partner clients: a citizen's account is given no token to call it with."""
    from dancu.accounts.services import api_token_create
    from dancu.lib.errors import DomainError

    citizen = User.objects.create_user(username="cong.dan", password="x", role=User.Role.CITIZEN)
    with pytest.raises(DomainError) as refused:
        api_token_create(user=citizen, name="ứng dụng")
    assert [e.code for e in refused.value.errors] == ["token.officers_only"]


def test_an_interrupted_run_is_resumed_over_the_api(personas: Personas, settings: Any) -> None:
    cuong = api(personas.cuong)
    run = uploaded_waiting(cuong, settings)
    assert (run["status"], run["progress"]["step"], run["links"]["resume"]) == ("running", "queued", None)
    ImportRun.objects.filter(pk=run["id"]).update(status=ImportRun.Status.INTERRUPTED)

    stopped = ok(cuong.get(f"{IMPORTS}/{run['id']}"))
    assert stopped["progress"]["step"] == "interrupted"
    # Counts only until the run is done: no report by status of forms that are not all filed yet.
    assert (stopped["review_forms"], stopped["waiting_forms"]) == (None, None)
    assert stopped["links"]["resume"] == f"{IMPORTS}/{run['id']}/resume"

    resumed = ok(cuong.post(stopped["links"]["resume"]))
    assert (resumed["status"], resumed["rows_read"], resumed["progress"]["step"]) == ("done", 3, "done")
    assert resumed["links"]["resume"] is None

    # Resuming a run that is not interrupted is refused, naming the run.
    again = cuong.post(stopped["links"]["resume"])
    assert errors_of(again, 422) == ["import.not_interrupted"]
    assert again.json()["errors"][0]["field"] == "import_id"


def test_a_run_started_on_the_server_is_resumed_there(personas: Personas, settings: Any) -> None:
    """A run of `dancu import` that stopped while reading has no uploaded copy: the API says how to
    continue it, offers no resume, and refuses one, as the page does."""
    cuong = api(personas.cuong)
    run = uploaded_waiting(cuong, settings)
    ImportRun.objects.filter(pk=run["id"]).update(status=ImportRun.Status.INTERRUPTED, stored_file="")

    detail = ok(cuong.get(f"{IMPORTS}/{run['id']}"))
    assert detail["links"]["resume"] is None
    assert detail["resume_on_server"]["code"] == "import.resume_on_server"
    refused = cuong.post(f"{IMPORTS}/{run['id']}/resume")
    assert errors_of(refused, 422) == ["import.resume_on_server"]
    assert refused.json()["errors"][0]["field"] == "import_id"
    assert ImportRun.objects.get().status == ImportRun.Status.INTERRUPTED


def test_the_runs_come_a_page_at_a_time_newest_first(personas: Personas) -> None:
    cuong = api(personas.cuong)
    ids = [
        ok(upload(cuong, CSV + f"\nR{n},Lê Văn Tư,Nam,1990,,,,{HANOI}".encode()), 201)["id"]
        for n in (4, 5, 6)
    ]
    first = ok(cuong.get(IMPORTS, {"page_size": 2}))
    assert ([r["id"] for r in first["results"]], first["has_next"]) == ([ids[2], ids[1]], True)
    second = ok(cuong.get(IMPORTS, {"page_size": 2, "page": 2}))
    assert ([r["id"] for r in second["results"]], second["has_next"]) == ([ids[0]], False)
    assert errors_of(cuong.get(IMPORTS, {"page_size": 101}), 422) == ["schema.less_than_equal"]


def test_following_a_run_reads_no_personal_data(personas: Personas) -> None:
    """The run and its report are counts, as on the page: following a run writes nothing to the access
    log, while the forms it made are read (and logged) through GET /forms."""
    cuong = api(personas.cuong)
    run = ok(upload(cuong), 201)
    before = AccessLog.objects.count()
    ok(cuong.get(f"{IMPORTS}/{run['id']}"))
    ok(cuong.get(IMPORTS))
    assert AccessLog.objects.count() == before


def test_the_openapi_document_describes_the_upload_as_a_multipart_form(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    upload_operation = document["paths"][IMPORTS]["post"]
    body = upload_operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "source_name"} <= set(body["required"])
    assert set(upload_operation["responses"]) >= {"200", "201", "401", "404", "415", "422"}
    assert "multipart/form-data" in upload_operation["responses"]["415"]["description"]
    for path in (IMPORTS, f"{IMPORTS}/{{import_id}}", f"{IMPORTS}/{{import_id}}/rejected.xlsx"):
        assert document["paths"][path]["get"]["summary"]
    assert document["paths"][f"{IMPORTS}/{{import_id}}/resume"]["post"]["description"]
