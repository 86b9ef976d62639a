"""`dancu demo`: the platform with a demo population, one account per role and unit, and a little work in
every domain (a legacy import, forms, a quality pass, a match run, card applications, a campaign), then
serve.

Run by `make demo`. A second run reuses the database, the population, the accounts and the work it finds.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.management.commands.otp_code import DEMO_DEVICE_NAME
from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.services import officer_create
from dancu.audit.services import Actor
from dancu.campaigns.models import Campaign
from dancu.collection.models import ImportRun
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen
from dancu.web import demo_content
from dancu.web.management.commands.serve import check_address

# Four wards of central Hà Nội placed with 2025 addresses, and the old province of Hải Dương (merged
# into Hải Phòng on 1 July 2025) placed with legacy-only addresses, to show the mapping.
HANOI_COMMUNES = ("00070", "00097", "00004", "00008")
LEGACY_PROVINCE = "30"
LEGACY_SHARE = 0.35
# The demo is a public sandbox with synthetic people: its password is printed on purpose.
DEMO_PASSWORD = "dancu-demo-2025"  # noqa: S105
# The demo citizen's TOTP secret, known for the same reason (`dancu otp_code PIN` prints the code).
CITIZEN_OTP_SECRET = (b"dancu-demo-citizen" * 2)[:20].hex()


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    full_name: str
    unit_code: str  # PoliceUnit.code


class Command(BaseCommand):
    help = (
        "Chạy thử: chuẩn bị cơ sở dữ liệu, sinh dân cư mẫu, tạo tài khoản mẫu và phục vụ tại 127.0.0.1:8000. "
        "Demo: prepare the database, generate a demo population, create demo accounts and serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=22_000, help="size of the demo population")
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--no-serve", action="store_true", help="prepare everything but do not serve")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_serve"]:
            # An address the server cannot listen on (`make demo` beside another server on port 8000) was
            # refused only after the minute or more of preparation; it is said at once now.
            check_address(options["addrport"])
        call_command("setup", stdout=self.stdout, stderr=self.stderr)
        if Citizen.objects.exists():
            self.stdout.write(f"Population already there: {Citizen.objects.count():,} citizens (reused).")
        else:
            call_command(
                "generate",
                people=options["people"],
                seed=options["seed"],
                communes=",".join(HANOI_COMMUNES),
                legacy_province=LEGACY_PROVINCE,
                # Without a share, households spread evenly over the communes and the four Hà Nội wards
                # would hold barely 2% of the people next to Hải Dương's 260 communes.
                legacy_share=LEGACY_SHARE,
                stdout=self.stdout,
                stderr=self.stderr,
            )
        accounts = self._accounts()
        self._content(seed=options["seed"], accounts=accounts)
        citizen = demo_content.citizen_account(
            password=DEMO_PASSWORD,
            otp_secret_hex=CITIZEN_OTP_SECRET,
            otp_device_name=DEMO_DEVICE_NAME,
            say=self.stdout.write,
        )
        self._print_logins(accounts, citizen)
        self._print_pages(options["addrport"])
        if not options["no_serve"]:
            call_command("serve", options["addrport"])

    def _accounts(self) -> list[DemoAccount]:
        hanoi = [f"CA-commune-{code}" for code in HANOI_COMMUNES[:2]]
        # The 2025 commune and the legacy district holding most of the legacy-only demo records.
        busiest_commune = (
            Citizen.objects.filter(area_legacy_commune__isnull=False)
            .values("area_commune__code")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()
        )
        busiest_district = (
            Citizen.objects.filter(area_legacy_commune__isnull=False)
            .values("area_legacy_commune__parent__code")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()
        )
        accounts = [
            DemoAccount("canbo.hoankiem", User.Role.COLLECTOR, "Trần Thị Lan", hanoi[0]),
            DemoAccount("kiemtra.hoankiem", User.Role.COMMUNE_REVIEWER, "Lê Văn Khánh", hanoi[0]),
            DemoAccount("canbo.hongha", User.Role.COLLECTOR, "Lê Văn Bình", hanoi[1]),
            DemoAccount("phuctra.hanoi", User.Role.SUPERVISOR, "Phạm Quốc Cường", "CA-province-01"),
            DemoAccount("phuctra.haiphong", User.Role.SUPERVISOR, "Vũ Thị Hạnh", "CA-province-31"),
            DemoAccount("quantri.c06", User.Role.MINISTRY_ADMIN, "Nguyễn Văn Minh", "C06"),
            DemoAccount("kiemtoan.c06", User.Role.AUDITOR, "Hoàng Thị An", "C06"),
        ]
        if busiest_commune:
            code = busiest_commune["area_commune__code"]
            accounts.append(
                DemoAccount("canbo.haiphong", User.Role.COLLECTOR, "Đỗ Văn Hải", f"CA-commune-{code}")
            )
        if busiest_district:
            # A legacy district's police reads the records still declared in its old units; its account is
            # a supervisor's (phúc tra), the role that works at a district's level (ROLE_LEVELS), where a
            # collector works in a commune's police.
            code = busiest_district["area_legacy_commune__parent__code"]
            accounts.append(
                DemoAccount("phuctra.huyencu", User.Role.SUPERVISOR, "Bùi Thị Hoa", f"CA-cu-district-{code}")
            )
        for account in accounts:
            if User.objects.filter(username=account.username).exists():
                continue
            # A fixed, per-account secret lets `dancu otp_code` answer for the demo without a phone.
            secret = (account.username.encode() * 3)[:20].hex()
            officer_create(
                actor=Actor(system="demo"),
                username=account.username,
                password=DEMO_PASSWORD,
                role=account.role,
                police_unit=PoliceUnit.objects.get(code=account.unit_code),
                full_name=account.full_name,
                otp_secret_hex=secret,
                otp_device_name=DEMO_DEVICE_NAME,
            )
        return accounts

    def _content(self, *, seed: int, accounts: list[DemoAccount]) -> None:
        """The work of every domain, each step through the domain's services (see `web.demo_content`)."""
        started = time.monotonic()

        def say(text: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:5.1f} s] {text}")
            self.stdout.flush()

        run = demo_content.legacy_import(seed=seed, say=say)
        # The matcher looks at the staged rows before they move on: once a row is in the registry it would
        # be proposed as a duplicate of the very citizen it became.
        demo_content.match_run(say=say)
        demo_content.legacy_import_promote(run=run, say=say)
        demo_content.collection_forms(say=say)
        demo_content.card_applications(say=say)
        # After everything else, so that the scorecard counts the imported people and the forms too.
        demo_content.quality_pass(say=say)
        communes = [*HANOI_COMMUNES, *self._busiest_communes(accounts)]
        demo_content.campaign(communes=communes, say=say)

    @staticmethod
    def _busiest_communes(accounts: list[DemoAccount]) -> list[str]:
        """The 2025 commune of the Hải Phòng demo collector, when the population placed one."""
        prefix = "CA-commune-"
        return [
            account.unit_code.removeprefix(prefix)
            for account in accounts
            if account.username == "canbo.haiphong" and account.unit_code.startswith(prefix)
        ]

    def _print_pages(self, addrport: str) -> None:
        base = f"http://{addrport}"
        run = ImportRun.objects.filter(source=demo_content.IMPORT_SOURCE).order_by("pk").first()
        found = Campaign.objects.filter(name=demo_content.CAMPAIGN_NAME).order_by("pk").first()
        pages = [
            ("Hồ sơ dân cư / registry (canbo.hoankiem)", "/"),
            ("Phiếu DC01/DC02 / forms (canbo.hoankiem, kiemtra.hoankiem)", reverse("collection:queue")),
            (
                "Báo cáo nhập tệp / import report (phuctra.hanoi)",
                reverse("collection:import_run", args=[run.pk]) if run else reverse("collection:imports"),
            ),
            ("Chất lượng / quality scorecard", reverse("quality:scorecard")),
            ("Trùng lặp / duplicates queue (kiemtra.hoankiem)", reverse("matching:queue")),
            ("Thẻ căn cước / card applications (canbo.hoankiem, phuctra.hanoi)", reverse("cards:queue")),
            ("Lô sản xuất / production batches (phuctra.hanoi)", reverse("cards:batches")),
            ("Cổng công dân / citizen's portal (the citizen's PIN)", reverse("eid:home")),
            (
                "Chiến dịch / campaign dashboard (quantri.c06)",
                reverse("campaigns:dashboard", args=[found.pk, "vn"]) if found else reverse("campaigns:list"),
            ),
        ]
        self.stdout.write(self.style.SUCCESS("Demo pages / Trang chạy thử"))
        for label, path in pages:
            self.stdout.write(f"  {base}{path:<28} {label}")
        self.stdout.write("")

    def _print_logins(self, accounts: list[DemoAccount], citizen: User | None) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo accounts / Tài khoản chạy thử"))
        self.stdout.write(f"  password / mật khẩu: {DEMO_PASSWORD}")
        self.stdout.write(
            "  second factor / mã xác thực: `.venv/bin/dancu otp_code USERNAME`, "
            "or add the secret below to an authenticator app"
        )
        for account in accounts:
            user = User.objects.select_related("police_unit").get(username=account.username)
            device = TOTPDevice.objects.get(user=user, name=DEMO_DEVICE_NAME)
            secret = base64.b32encode(device.bin_key).decode()
            unit = user.police_unit
            area = unit.admin_unit if unit and unit.admin_unit else None
            where = str(area) if isinstance(area, AdminUnit) else "toàn quốc / whole country"
            self.stdout.write(
                f"  {account.username:<18} {user.get_role_display():<36} {where}  (TOTP secret {secret})"
            )
        if citizen is not None:
            device = TOTPDevice.objects.get(user=citizen, name=DEMO_DEVICE_NAME)
            secret = base64.b32encode(device.bin_key).decode()
            self.stdout.write(
                f"  {citizen.username:<18} {citizen.get_role_display():<36} "
                f"http://127.0.0.1:8000/me/login/  (TOTP secret {secret})"
            )
        self.stdout.write("")
        self.stdout.write(
            "Open http://127.0.0.1:8000/ and sign in. API docs: http://127.0.0.1:8000/api/v1/docs"
        )
