"""Collecting population data: bulk imports of legacy sources into staging records.

An import never writes to the registry directly. Each row of a legacy file becomes a staging record that
went through the same normalization and rules as a form; clean rows may be approved by policy, the rest
wait for an officer in the review queues.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dancu.lib.fields import JSONDocumentField


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Đang nhập")
        DONE = "done", _("Hoàn tất")
        FAILED = "failed", _("Lỗi tệp")
        # The process doing the work stopped without a word (killed, machine restarted): nothing committed
        # is lost, and the run resumes from its last committed row when it is started again.
        INTERRUPTED = "interrupted", _("Bị ngắt, chờ tiếp tục")
        # Given up by an officer before its rows were all read (a damaged file that fails at the same row
        # each time, the wrong file): its staged rows are kept, for its report and its rejected rows, but
        # no longer wait for anyone, and its file may be imported again as a new run
        # (`services.import_discard`).
        DISCARDED = "discarded", _("Đã huỷ")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    source = models.CharField(max_length=100)
    file_name = models.CharField(max_length=500)
    # The file's identity: the same file imported again under the same source resumes the same run.
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    file_format = models.CharField(max_length=8, choices=Format.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_label = models.CharField(max_length=150)
    # The area the import was made for: that of the starter's police unit when the run began (None for the
    # ministry and for an import run on the server). Who may see the run and its rejected rows, and which
    # unit its events count toward, follow it, not the starter's unit of the day: an officer moved to
    # another province takes neither the run's personal data there nor it away from the first province.
    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    # The heartbeat: it moves with every committed batch of staging and every promoted row, so a run whose
    # process died is told from a slow one (`services.imports_mark_interrupted`).
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Counters of committed rows only: they move in the transaction that writes the rows, so after a
    # crash they say exactly where to resume.
    rows_read = models.PositiveIntegerField(default=0)
    # The data rows the file holds, counted from its line breaks (CSV) or its sheet's dimension (XLSX)
    # when the file is identified, so the progress is a fraction from the first row on; an upper bound
    # (blank lines, line breaks inside quotes) made exact when the staging ends. None: not known.
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # Where the current session of work (staging, then promotion) started, in time and in rows done:
    # the rate since then gives the estimate of the time left.
    session_started_at = models.DateTimeField(null=True, blank=True)
    session_start_count = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_review = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_with_warnings = models.PositiveIntegerField(default=0)
    rows_repaired = models.PositiveIntegerField(default=0)
    # After the rows are staged they are promoted one by one: approved rows written to the registry,
    # rows for an officer filed as DC01 forms in their commune's review queue.
    rows_applied = models.PositiveIntegerField(default=0)
    rows_queued = models.PositiveIntegerField(default=0)
    promoted_at = models.DateTimeField(null=True, blank=True)
    # {"rule.code": count} of issues, and {"repair.code": count} of repairs, over committed rows; the issues
    # include what the DC01 a row was filed as found besides (`services._filed_issue_counters`), and
    # `rows_with_warnings` the rows it warned about, so that every row for review is explained by a rule.
    issue_counts = models.JSONField(default=dict)
    # The same counts field by field, {"rule.code": {"field": count}} ("" for an issue of no field), moved
    # with `issue_counts` in the same transactions: the report names the field of a rule that is about its
    # field alone ("Chưa điền «Quê quán»", not "Chưa điền «…»"). Empty: a run made before they were kept.
    issue_fields = models.JSONField(default=dict, blank=True)
    repair_counts = models.JSONField(default=dict)
    columns = models.JSONField(default=list)
    # The header's cells as the file wrote them, one for each of `columns` ("Họ và tên" where `columns`
    # says full_name): the rejected rows' workbook is titled with them. Empty: a run made before they were
    # kept, whose workbook is titled with `columns`.
    header = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # Where an uploaded file is kept (its name under VAR_DIR/imports) until its run is finished: what an
    # interrupted run is resumed from. Blank for a file imported on the server with `dancu import`, whose
    # operator resumes it by running the command again.
    stored_file = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            # A discarded run leaves its file and source free for a new run.
            models.UniqueConstraint(
                fields=["source", "file_sha256"],
                condition=~models.Q(status="discarded"),
                name="import_run_one_per_file_and_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.file_name}"


# A staged row sent to the review and not written to the registry (its form neither applied nor rejected:
# applying writes its citizen, rejecting rejects the row too). The condition of the partial indexes on the
# waiting rows' numbers, which a query must repeat for the database to use them.
IN_REVIEW = models.Q(status="review", citizen__isnull=True)


class StagingRecordQuerySet(models.QuerySet["StagingRecord"]):
    def waiting_for_an_officer(self) -> StagingRecordQuerySet:
        """The rows that wait for an officer: in the review (`IN_REVIEW`), in a run not discarded (a
        discarded run's rows wait for no one: `services.import_discard`). What a later import warns of
        (`pin.waiting_in_import`) and what a form made from such a warning says still waits."""
        return self.filter(IN_REVIEW).exclude(run__status=ImportRun.Status.DISCARDED)


class StagingRecord(models.Model):
    class Status(models.TextChoices):
        APPROVED = "approved", _("Đạt, tự động duyệt")
        REVIEW = "review", _("Chờ cán bộ xem xét")
        REJECTED = "rejected", _("Bị từ chối")

    # No index of its own: the unique (run, row_number) index leads with the run and serves every look-up by
    # run. A second one cost each staged row its own index entry (bench/RESULTS.md, session 32).
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="records", db_index=False)
    # 1 = the first data row after the header, blank rows left out: what the import counts its rows
    # and resumes by (`ImportRun.rows_read`), and orders them by.
    row_number = models.PositiveIntegerField()
    # The row's own number in the file, as whoever opens it finds it: the spreadsheet's row number (XLSX),
    # the physical line the record starts on (CSV), title rows, header and blank rows counted. What the
    # rejected rows and the duplicates' messages cite. None: staged before it was recorded.
    source_row = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    # The row as read, its issues and its repairs are read whole and never searched inside: `json` on
    # PostgreSQL, which the server only checks, where `jsonb` is parsed into its binary form on every one of
    # the millions of rows an import writes (`JSONDocumentField`). The normalized row is searched (a run's
    # record ids, the matcher's units by area) and stays `jsonb`.
    raw = JSONDocumentField()  # the row exactly as read, extra columns included
    normalized = models.JSONField(default=dict)
    issues = JSONDocumentField(default=list)  # [{"field", "code", "severity", "message_vi", "message_en"}]
    repairs = JSONDocumentField(default=list)  # [{"field", "code", "before", "after"}]
    # The normalized identifiers again, as columns: a later batch of the same run looks them up to find a
    # number repeated anywhere in the file, also after a crash split the file between two sessions.
    id_number = models.CharField(max_length=12, blank=True)
    old_id_number = models.CharField(max_length=9, blank=True)
    # When the row left staging: written to the registry (`citizen`), or filed as a form for review (the
    # form's `staging_record`), or refused on the way (status rejected). None: not promoted yet.
    promoted_at = models.DateTimeField(null=True, blank=True)
    # Indexed where set only (`staging_citizen`): a row is staged without one, and a full index took an entry
    # for every row an import stages.
    citizen = models.ForeignKey(
        "registry.Citizen", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = StagingRecordQuerySet.as_manager()

    class Meta:
        constraints = [
            # A resumed import can never write a row twice.
            models.UniqueConstraint(fields=["run", "row_number"], name="staging_row_once_per_run")
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="staging_run_status"),
            # The rows a citizen came from (a merge, a citizen's deletion refused while they are referred to).
            models.Index(
                fields=["citizen"], name="staging_citizen", condition=models.Q(citizen__isnull=False)
            ),
            models.Index(
                fields=["run", "id_number"], name="staging_run_pin", condition=~models.Q(id_number="")
            ),
            models.Index(
                fields=["run", "old_id_number"],
                name="staging_run_cmnd",
                condition=~models.Q(old_id_number=""),
            ),
            # The rows still waiting for an officer, by their numbers: a later import of the same book
            # (under another source name) looks up a chunk's numbers among them, to warn that the person
            # already waits in another run (`pin.waiting_in_import`, `cmnd.waiting_in_import`).
            models.Index(
                fields=["id_number"],
                name="staging_waiting_pin",
                condition=IN_REVIEW & ~models.Q(id_number=""),
            ),
            models.Index(
                fields=["old_id_number"],
                name="staging_waiting_cmnd",
                condition=IN_REVIEW & ~models.Q(old_id_number=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.row_number} {self.status}"

    @property
    def file_row(self) -> int:
        """The row's number in the file, as a person opening it finds it (the data row's number for a
        row staged before the file's own was recorded)."""
        return self.source_row if self.source_row is not None else self.row_number

    @property
    def label(self) -> str:
        """How the registry's history and the forms cite the row: "nhập #12, dòng 345", by its number in the
        file, as the rejected rows' workbook gives it, so that an officer finds it in the original."""
        return f"nhập #{self.run_id}, dòng {self.file_row}"


class CollectionForm(models.Model):
    """Phiếu thu thập: a DC01 (a new person) or a DC02 (an update or correction of a record), filled in
    by a collector door to door and carried through the review before it reaches the registry.

    The lifecycle is draft -> submitted -> checked (kiểm tra, a commune reviewer) -> rechecked (phúc tra,
    a district or province supervisor) -> applied; at any step before applied a reviewer may return it
    to its author with a reason, and the author edits and submits again. `data` holds the values as the
    officer typed them; the registry's rules judge them on every save and again when the form is applied.
    """

    class Kind(models.TextChoices):
        DC01 = "DC01", _("DC01 — thu thập thông tin dân cư")
        DC02 = "DC02", _("DC02 — cập nhật, chỉnh sửa thông tin dân cư")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Bản nháp")
        SUBMITTED = "submitted", _("Chờ kiểm tra")
        CHECKED = "checked", _("Đã kiểm tra, chờ phúc tra")
        RECHECKED = "rechecked", _("Đã phúc tra, chờ cập nhật")
        APPLIED = "applied", _("Đã cập nhật vào CSDL")
        RETURNED = "returned", _("Trả lại để bổ sung")
        # Only a form made from an imported row can be rejected: it has no author to return it to.
        REJECTED = "rejected", _("Bị từ chối")

    kind = models.CharField(max_length=4, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # When the form entered its current status: queues are ordered by it, oldest first, and show its age.
    status_since = models.DateTimeField()
    # The 2025 commune the form belongs to (where the person was collected; for a DC02, where the record
    # lives) and, for a record declared in the old units, the legacy commune: they decide which reviewers
    # see the form, exactly as a citizen's area decides who sees the record.
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+")
    legacy_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A DC02's record from the start; a DC01's record once the form is applied.
    citizen = models.ForeignKey(
        "registry.Citizen", null=True, blank=True, on_delete=models.PROTECT, related_name="collection_forms"
    )
    data = models.JSONField(default=dict)
    # Giấy tờ làm căn cứ: the supporting document (mandatory for a DC02) and the reason of the change.
    document = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # What the rules said at the last save or step: [{"field", "code", "message_vi", "message_en"}].
    errors = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    # Codes of the warnings a reviewer looked at and accepted.
    acknowledged_warnings = models.JSONField(default=list)
    # Why the registry refused the last attempt to apply the form (the form then stays rechecked).
    apply_errors = models.JSONField(default=list)

    # The collector who wrote the form; None for a form made by an import from a row of a legacy file,
    # whose author is the import (`staging_record`).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    staging_record = models.OneToOneField(
        StagingRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="form"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The key of the page that sent the new form: a second press of its button (or a resent post) sends
    # the same key and finds this form instead of making a second one (workflow.form_create_draft).
    submission_key = models.UUIDField(null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    rechecked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rechecked_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_from = models.CharField(max_length=16, choices=Status.choices, blank=True)
    return_reason = models.CharField(max_length=500, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            # Nobody checks or re-checks their own form, and the check and the re-check are two people.
            models.CheckConstraint(
                name="form_checker_not_author",
                condition=models.Q(checked_by__isnull=True) | ~models.Q(checked_by=models.F("created_by")),
            ),
            models.CheckConstraint(
                name="form_rechecker_not_author_or_checker",
                condition=models.Q(rechecked_by__isnull=True)
                | (
                    ~models.Q(rechecked_by=models.F("created_by"))
                    & ~models.Q(rechecked_by=models.F("checked_by"))
                ),
            ),
            models.CheckConstraint(
                name="form_has_an_author",
                condition=models.Q(created_by__isnull=False) | models.Q(staging_record__isnull=False),
            ),
            models.CheckConstraint(
                name="form_dc02_names_a_citizen",
                condition=~models.Q(kind="DC02") | models.Q(citizen__isnull=False),
            ),
            models.UniqueConstraint(fields=["created_by", "submission_key"], name="form_submitted_once"),
            models.CheckConstraint(
                name="form_applied_names_a_citizen",
                condition=~models.Q(status="applied")
                | models.Q(citizen__isnull=False, applied_at__isnull=False),
            ),
        ]
        indexes = [
            # The reviewers' queues: one status in a commune (or under a province), oldest first.
            models.Index(fields=["status", "commune", "status_since"], name="form_queue"),
            # The collector's queue: their own drafts and returned forms.
            models.Index(fields=["created_by", "status", "status_since"], name="form_author_queue"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How the registry's history cites the form: "DC01 #123"."""
        return f"{self.kind} #{self.pk}"

    @property
    def from_import(self) -> bool:
        return self.staging_record_id is not None

    @property
    def author_label(self) -> str:
        """Who wrote the form: the collector's account, or the import and row it came from."""
        if self.created_by is not None:
            return self.created_by.username
        assert self.staging_record is not None  # a database constraint: a form has an author
        return self.staging_record.label


# The quality scorecard's tables live with the code that computes them (collection/quality/); importing
# them here is what registers them with the collection app.
from dancu.collection.quality.models import QualityAssessment, QualityPass, QualitySnapshot  # noqa: E402, F401
