"""The trail every officer leaves: change events for writes, access-log entries for reads.

Both tables are append-only. Rows are written in the same transaction as the change they describe
(never from a signal), so a change without its event, or an event for a change that rolled back,
cannot exist.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractHour
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """One enum of event types for the whole platform, named `<app>.<entity>.<action>`."""

    CITIZEN_CREATED = "registry.citizen.created", _("Tạo công dân")
    CITIZEN_UPDATED = "registry.citizen.updated", _("Cập nhật công dân")
    CITIZEN_DECEASED = "registry.citizen.deceased", _("Ghi nhận công dân đã mất")
    PIN_REISSUED = "registry.pin.reissued", _("Cấp lại số định danh")
    HOUSEHOLD_CREATED = "registry.household.created", _("Lập hộ")
    HOUSEHOLD_MEMBER_ADDED = "registry.household.member_added", _("Thêm thành viên hộ")
    HOUSEHOLD_MEMBER_REMOVED = "registry.household.member_removed", _("Xoá thành viên hộ")
    HOUSEHOLD_HEAD_CHANGED = "registry.household.head_changed", _("Thay đổi chủ hộ")
    FAMILY_LINKED = "registry.family.linked", _("Thêm quan hệ gia đình")
    FAMILY_UNLINKED = "registry.family.unlinked", _("Bỏ quan hệ gia đình")
    RESIDENCE_REGISTERED = "registry.residence.registered", _("Đăng ký cư trú")
    RESIDENCE_ENDED = "registry.residence.ended", _("Chấm dứt cư trú")
    RESIDENCE_RENEWED = "registry.residence.renewed", _("Gia hạn tạm trú")
    POPULATION_GENERATED = "registry.population.generated", _("Sinh dân cư tổng hợp")
    OFFICER_CREATED = "accounts.officer.created", _("Tạo tài khoản cán bộ")
    OFFICER_SIGNED_IN = "accounts.officer.signed_in", _("Cán bộ đăng nhập")
    OFFICER_SIGN_IN_FAILED = "accounts.officer.sign_in_failed", _("Đăng nhập thất bại")
    OFFICER_LOCKED_OUT = "accounts.officer.locked_out", _("Khoá tài khoản do đăng nhập sai")
    OFFICER_CHANGED = "accounts.officer.changed", _("Đổi vai trò, đơn vị của cán bộ")
    OFFICER_RENAMED = "accounts.officer.renamed", _("Sửa họ và tên của cán bộ")
    OFFICER_DEACTIVATED = "accounts.officer.deactivated", _("Vô hiệu hoá tài khoản cán bộ")
    OFFICER_REACTIVATED = "accounts.officer.reactivated", _("Kích hoạt lại tài khoản cán bộ")
    OFFICER_PASSWORD_SET = "accounts.officer.password_set", _("Đặt mật khẩu mới cho cán bộ")
    OTP_DEVICE_CONFIRMED = "accounts.otp.confirmed", _("Xác nhận mã OTP")
    OTP_DEVICES_RESET = "accounts.otp.reset", _("Đặt lại ứng dụng xác thực")
    API_TOKEN_CREATED = "accounts.api_token.created", _("Tạo mã truy cập API")
    API_TOKEN_REVOKED = "accounts.api_token.revoked", _("Thu hồi mã truy cập API")
    UNITS_LOADED = "geo.units.loaded", _("Nạp đơn vị hành chính")
    IMPORT_STARTED = "collection.import.started", _("Bắt đầu nhập tệp dữ liệu")
    IMPORT_FINISHED = "collection.import.finished", _("Hoàn tất nhập tệp dữ liệu")
    IMPORT_FAILED = "collection.import.failed", _("Nhập tệp dữ liệu thất bại")
    POLICE_UNITS_SYNCED = "accounts.police_units.synced", _("Đồng bộ đơn vị công an")
    FORM_CREATED = "collection.form.created", _("Lập phiếu thu thập")
    FORM_UPDATED = "collection.form.updated", _("Sửa phiếu thu thập")
    FORM_SUBMITTED = "collection.form.submitted", _("Gửi phiếu để kiểm tra")
    FORM_CHECKED = "collection.form.checked", _("Kiểm tra phiếu")
    FORM_RECHECKED = "collection.form.rechecked", _("Phúc tra phiếu")
    FORM_RETURNED = "collection.form.returned", _("Phiếu bị trả lại")
    FORM_APPLIED = "collection.form.applied", _("Cập nhật phiếu vào CSDL")
    FORM_APPLY_FAILED = "collection.form.apply_failed", _("Cập nhật phiếu bị từ chối")
    # --- registry (more) ---
    CITIZEN_MERGED = "registry.citizen.merged", _("Hợp nhất hồ sơ trùng")
    CITIZEN_MERGE_UNDONE = "registry.citizen.merge_undone", _("Huỷ hợp nhất hồ sơ")
    HOUSEHOLD_SPLIT = "registry.household.split", _("Tách hộ")
    # Khai báo tạm vắng (Luật Cư trú 2020, art. 31), and the person's return before its end.
    ABSENCE_DECLARED = "registry.absence.declared", _("Khai báo tạm vắng")
    ABSENCE_RETURNED = "registry.absence.returned", _("Trở về sau tạm vắng")
    ABSENCE_CORRECTED = "registry.absence.corrected", _("Sửa khai báo tạm vắng")
    ABSENCE_WITHDRAWN = "registry.absence.withdrawn", _("Huỷ khai báo tạm vắng")

    # --- collection (more) ---
    # An import whose worker went silent (killed, machine restarted), and the same import started again.
    IMPORT_INTERRUPTED = "collection.import.interrupted", _("Nhập tệp dữ liệu bị ngắt")
    IMPORT_RESUMED = "collection.import.resumed", _("Tiếp tục nhập tệp dữ liệu")
    IMPORT_DISCARDED = "collection.import.discarded", _("Huỷ lần nhập tệp dữ liệu")
    # Imported rows leaving staging: into the registry, into a commune's review queue, or refused there.
    STAGING_APPLIED = "collection.staging.applied", _("Bản ghi nhập được tự động duyệt vào CSDL")
    STAGING_QUEUED = "collection.staging.queued", _("Bản ghi nhập chờ cán bộ xem xét")
    STAGING_REJECTED = "collection.staging.rejected", _("Bản ghi nhập bị từ chối")
    IMPORT_PROMOTED = "collection.import.promoted", _("Đã chuyển các bản ghi nhập vào CSDL và hàng chờ")
    # The rejected rows of an import, the people of the file with their data, handed out as a workbook.
    IMPORT_REJECTED_EXPORTED = "collection.import.rejected_exported", _("Đã tải các dòng nhập bị từ chối")
    FORM_REJECTED = "collection.form.rejected", _("Từ chối phiếu từ tệp nhập")
    # A record that failed a đúng/đủ/sạch/sống rule and now passes them all; campaigns count it.
    RECORD_CLEANED = "collection.record.cleaned", _("Hồ sơ đạt chuẩn đúng, đủ, sạch, sống")
    # A pass of the quality assessment (all records, those changed since the last pass, or one unit's).
    QUALITY_ASSESSED = "collection.quality.assessed", _("Đánh giá chất lượng hồ sơ")

    # --- matching ---
    PAIR_DECIDED = "matching.pair.decided", _("Quyết định về cặp hồ sơ nghi trùng")
    PAIR_DECISION_UNDONE = "matching.pair.decision_undone", _("Huỷ quyết định về cặp hồ sơ")
    # A run of the matcher over the registry and the staged rows (`dancu match --registry`).
    MATCH_RUN_FINISHED = "matching.run.finished", _("Hoàn tất lần chạy tìm bản ghi trùng")
    MATCH_RUN_FAILED = "matching.run.failed", _("Lần chạy tìm bản ghi trùng thất bại")

    # --- campaigns ---
    METRIC_CREATED = "campaigns.metric.created", _("Tạo chỉ số chiến dịch")
    CAMPAIGN_CREATED = "campaigns.campaign.created", _("Tạo chiến dịch")
    TARGET_SET = "campaigns.target.set", _("Giao, điều chỉnh chỉ tiêu")
    POPULATION_COUNTED = "campaigns.population.counted", _("Đếm dân số thuộc diện")
    DAILY_REPORT_MADE = "campaigns.report.made", _("Lập báo cáo ngày của chiến dịch")

    # --- cards ---
    INTAKE_POINT_CREATED = "cards.intake_point.created", _("Lập điểm thu nhận hồ sơ thẻ")
    INTAKE_DEVICE_REGISTERED = "cards.intake_device.registered", _("Đăng ký bộ thiết bị thu nhận")
    CARD_APPLICATION_RESUMED = "cards.application.resumed", _("Hồ sơ cấp thẻ tiếp tục sau điều chỉnh")
    CARD_BATCH_EXPORTED = "cards.batch.exported", _("Gửi lô sản xuất thẻ")
    CARD_BATCH_IMPORTED = "cards.batch.imported", _("Nhận kết quả sản xuất thẻ")
    CARD_PRODUCTION_FAILED = "cards.card.production_failed", _("Trung tâm sản xuất từ chối thẻ")
    CARD_STATE_CHANGED = "cards.card.state_changed", _("Thay đổi trạng thái thẻ")
    CARD_APPLICATION_CANCELLED = "cards.application.cancelled", _("Huỷ hồ sơ cấp thẻ")
    CARD_ISSUER_KEY_CREATED = "cards.issuer_key.created", _("Tạo khoá ký dữ liệu chip")

    # The card workflow's milestones; campaign metrics count them, so their names are a contract.
    CARD_APPLICATION_TAKEN = "cards.application.taken", _("Thu nhận hồ sơ cấp thẻ")
    CARD_APPLICATION_APPROVED = "cards.application.approved", _("Duyệt hồ sơ cấp thẻ")
    CARD_APPLICATION_REJECTED = "cards.application.rejected", _("Từ chối hồ sơ cấp thẻ")
    CARD_PRODUCED = "cards.card.produced", _("Sản xuất thẻ")
    CARD_DELIVERED = "cards.card.delivered", _("Trả thẻ cho công dân")

    # --- audit ---
    # A run of access-log rows sealed into the chain of digests (audit/seals.py).
    ACCESS_LOG_SEALED = "audit.access_log.sealed", _("Niêm phong nhật ký truy cập")

    # --- admin ---
    # What a system administrator changed in the Django admin (config/admin.py), beside Django's own
    # LogEntry: the admin writes to the database without the services, and the trail must show it too.
    ADMIN_OBJECT_ADDED = "admin.object.added", _("Thêm trong trang quản trị")
    ADMIN_OBJECT_CHANGED = "admin.object.changed", _("Sửa trong trang quản trị")
    ADMIN_OBJECT_DELETED = "admin.object.deleted", _("Xoá trong trang quản trị")

    # --- eid ---
    # Level-2 registration in person; campaigns may count it by the citizen's commune.
    EID_ACCOUNT_REGISTERED = "eid.account.registered", _("Đăng ký tài khoản định danh điện tử mức độ 2")
    EID_ACCOUNT_CODE_REISSUED = (
        "eid.account.code_reissued",
        _("Cấp lại mã kích hoạt tài khoản định danh điện tử"),
    )
    EID_ACCOUNT_ACTIVATED = "eid.account.activated", _("Kích hoạt tài khoản định danh điện tử")
    EID_ACCOUNT_LOCKED = "eid.account.locked", _("Khoá tài khoản định danh điện tử")
    EID_ACCOUNT_REOPENED = "eid.account.reopened", _("Mở lại tài khoản định danh điện tử đã khoá")
    EID_SIGNED_IN = "eid.account.signed_in", _("Công dân đăng nhập")
    EID_SIGN_IN_FAILED = "eid.account.sign_in_failed", _("Công dân đăng nhập thất bại")
    EID_LOCKED_OUT = "eid.account.locked_out", _("Tạm khoá tài khoản công dân do đăng nhập sai")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept as text as well so the trail stays readable if an account is renamed; system jobs have no
    # account and name themselves here ("system:generate").
    actor_label = models.CharField(max_length=150)
    # Not a choices field: each domain adds event types as it grows, and a list of choices in the schema
    # would need a migration for every one. EventType is the single source of the names.
    event_type = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    source_document = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The administrative unit the work counts toward (the commune of a form, the commune of an intake
    # point), so campaign figures can be tallied and rolled up the unit tree from the trail alone. Null
    # for events that belong to no area (sign-ins, unit loads). A legacy unit is kept as it was recorded;
    # figures map it to its 2025 successor when they are counted.
    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.event_type} {self.subject_id}"

    @property
    def event_label(self) -> str:
        try:
            return str(EventType(self.event_type).label)
        except ValueError:
            return self.event_type


# A read at night, when an officer's work seldom needs the registry: from NIGHT_STARTS to NIGHT_ENDS, the
# hour in Vietnam's time whatever the server's (Vietnam keeps no summer time). The auditor's filter
# (audit.selectors) and the index of such reads (below) are the same expression, so that PostgreSQL
# knows the index holds every row the filter asks for.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT_STARTS, NIGHT_ENDS = 22, 6
_LOCAL_HOUR = ExtractHour("accessed_at", tzinfo=VIETNAM)
AT_NIGHT = Q(GreaterThanOrEqual(_LOCAL_HOUR, NIGHT_STARTS)) | Q(LessThan(_LOCAL_HOUR, NIGHT_ENDS))


class AccessLog(models.Model):
    """Who read whose personal data, when, what and why (NĐ 13/2023: the citizen may see this).

    An officer's read names the account; a system job's read (the matcher reading the whole registry)
    has no account and names the job in `actor_label` ("system:dancu match --registry"), as audit events
    do. Either way the row says who read.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Xem hồ sơ")
        SEARCH = "search", _("Tìm kiếm")
        EXPORT = "export", _("Xuất dữ liệu")
        HISTORY = "history", _("Xem lịch sử")
        # Read by a system job that shows the data to no one (matching, quality checks); what it finds
        # reaches officers through scoped selectors, which log their own reads.
        PROCESS = "process", _("Xử lý tự động")
        # The rules compared what an officer typed on a form with this record (a relative named by PIN:
        # is the name the holder's, is the parent old enough); only their verdict reached the officer.
        VERIFY = "verify", _("Đối chiếu")

    class Channel(models.TextChoices):
        WEB = "web", _("Trang web")
        API = "api", _("API")
        CLI = "cli", _("Dòng lệnh")
        # A system job (the matcher's run, the quality pass), whether a command or the scheduler started
        # it: the data went to no screen. `actor_label` names the job.
        JOB = "job", _("Tác vụ hệ thống")

    accessed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Indexed with the id below, not alone: an auditor asks for a reader's rows newest first.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The account's name at the time, or the system job's ("system:<job>"): readable whatever happens
    # to the account later.
    actor_label = models.CharField(max_length=150, blank=True)
    citizen = models.ForeignKey("registry.Citizen", on_delete=models.PROTECT, related_name="access_logs")
    action = models.CharField(max_length=16, choices=Action.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=200)
    detail = models.CharField(max_length=200, blank=True)
    # The reader's police unit when they read: the body answerable for the read, which the citizen is
    # shown (eid "who read my data") and would complain to. Copied from the account when the row is
    # written, since an officer moved to another unit later must not take their past reads along. Empty
    # for a system job and an account without a unit (a citizen, the emergency superuser). Rows written
    # before the column existed were given the reader's unit at the time of the migration, the best
    # that could be known (audit/migrations/0012). Covered by the seals made since (version 2).
    reader_unit = models.ForeignKey(
        "accounts.PoliceUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The area of the citizen read, as on the citizen's record (registry.Citizen.area_*): copied when the
    # row is written and kept equal to the record's when the citizen moves (registry.services
    # ._refresh_area). An auditor reads the log of their area newest first; with the area here, that is
    # one index range read from its end, where a join to every row's citizen walked the whole log back
    # for an area that is read seldom (bench/RESULTS.md, session 9). The seals' digests (audit/seals.py)
    # cannot cover these columns, which change when the citizen moves; the verification checks instead
    # that they are the citizen's area now.
    area_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    area_province = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    area_legacy_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["citizen", "accessed_at"]),
            models.Index(fields=["area_commune", "id"], name="accesslog_commune_id"),
            models.Index(fields=["area_province", "id"], name="accesslog_province_id"),
            models.Index(fields=["area_legacy_commune", "id"], name="accesslog_legacy_commune_id"),
            # A reader's rows newest first (audit/selectors.py, `_Readers`): an account's by its id over
            # the accounts' rows, a system job's by its label over the jobs' rows, which also give the
            # list of the jobs that have read, one probe each. Each row is in one of the two, and a
            # query for the jobs' rows cannot take the accounts' index (SQLite did, for `actor IS NULL`).
            models.Index(
                fields=["actor", "id"], name="accesslog_actor_id", condition=models.Q(actor__isnull=False)
            ),
            models.Index(
                fields=["actor_label", "id"], name="accesslog_job_id", condition=models.Q(actor__isnull=True)
            ),
            # The reads at night, newest first: without it a page of them walked back every read since
            # the last night ended, 16 hours of the country's reads at 21:59 (bench/RESULTS.md, session
            # 25). An area's reads at night are read from the area's index, or from this one filtered by
            # the area when the area is large, whichever the database finds the shorter.
            models.Index(fields=["id"], name="accesslog_night_id", condition=AT_NIGHT),
        ]
        constraints = [
            # No anonymous read: a row without an account names the system job that read.
            models.CheckConstraint(
                name="accesslog_names_its_reader",
                condition=models.Q(actor__isnull=False) | ~models.Q(actor_label=""),
            )
        ]

    def __str__(self) -> str:
        reader = self.actor_label or self.actor_id
        return f"{self.accessed_at:%Y-%m-%d %H:%M} {reader} {self.action} {self.citizen_id}"


class AccessLogSeal(models.Model):
    """A link of the chain that makes the access log tamper-evident (audit/seals.py).

    It covers every access-log row after the previous seal's `last_id` up to its own `last_id`: `digest`
    is the SHA-256 of the previous seal's digest followed by those rows, each written out in a fixed
    form. Changing, removing or slipping in a row of a sealed range changes the digest that recomputing
    gives; changing a seal breaks the link to the next one.
    """

    sealed_at = models.DateTimeField(auto_now_add=True)
    first_id = models.BigIntegerField(unique=True)
    last_id = models.BigIntegerField(unique=True)
    rows = models.PositiveIntegerField()
    previous_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    # Which fixed form of a row the digest was made of (audit/seals.py, `FORMS`): 1 for the seals made
    # before the reader's police unit was sealed too, 2 since. Old seals keep verifying by their own form.
    version = models.PositiveSmallIntegerField(default=1)
    # A locator, not a proof: per row, its id's distance from the row before (4 bytes) and the first 4
    # bytes of the SHA-256 of its line, so that a verification that finds the digest changed can name
    # the rows changed, removed or slipped in. Empty for version 1 seals.
    fingerprints = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="seal_covers_its_rows", condition=models.Q(first_id__lte=F("last_id"))
            ),
        ]

    def __str__(self) -> str:
        return f"seal {self.first_id}-{self.last_id} {self.digest[:12]}"
