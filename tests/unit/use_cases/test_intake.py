"""Use cases of the intake service with in-memory ports: no Kafka, no MongoDB."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import pytest

from services.intake import handlers
from services.intake.dapodik import DapodikFileError
from services.intake.domain import RosterRuleError, normalise_nik
from services.intake.ports import DONE, FAILED, ImportLimits, IntakeDeps
from services.intake.requests import RequestKey
from shared.areas import load_areas
from shared.contracts import Actor, ResidentEnrolled, ResidentLeft, ResidentUpdated, Role
from shared.contracts.resident import LeaveReason, ResidentData
from shared.idempotency import KeyReusedForOtherData
from shared.pseudonym import resident_pseudonym
from tests.fakes.intake import FakeAudit, InlineBackground, RecordingPublisher, intake_deps, today

KEC, DESA, OTHER_KEC = "17.02.06", "17.02.06.2001", "17.02.19"
ADMIN = handlers.Office(Actor(office_id="dinas", role=Role.DINAS_ADMIN, operator="dinas"))
OWN = handlers.Office(Actor(office_id="kec-06", role=Role.KECAMATAN_OFFICE, operator="kec-06"), KEC)
OTHER = handlers.Office(Actor(office_id="kec-19", role=Role.KECAMATAN_OFFICE, operator="kec-19"), OTHER_KEC)


def resident(serial: int = 1, *, name: str = "Penduduk Sintetis", birth: dt.date = dt.date(2009, 5, 12),
             **changes: Any) -> ResidentData:
    nik = f"{KEC.replace('.', '')}{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    data = {"nik": nik, "name": name, "sex": "L", "birth_date": birth, "marital_status": "belum_kawin",
            "kecamatan_code": KEC, "desa_code": DESA, **changes}
    return ResidentData(**data)


def key(route: str = "/residents", idem: str | None = None, body: dict[str, Any] | None = None) -> RequestKey:
    return RequestKey(office_id="kec-06", route=route, key=idem, body=body or {})


async def register(deps: IntakeDeps, data: ResidentData, *, office: handlers.Office = OWN,
                   idem: str | None = None) -> dict[str, Any]:
    answer = await handlers.register_resident(
        handlers.RegisterResident(office=office, data=data, request=key(idem=idem, body=data.model_dump(mode="json"))),
        deps=deps)
    return dict(answer.answer.body)


def published(deps: IntakeDeps) -> list[Any]:
    publisher = deps.publisher
    assert isinstance(publisher, RecordingPublisher)
    return publisher.events


async def test_registering_publishes_enrolled_and_puts_the_resident_in_the_roster() -> None:
    deps = intake_deps()
    body = await register(deps, resident())
    assert body["status"] == "diterima" and body["wajib_ktp_from"] == "2026-05-12"
    [event] = published(deps)
    assert isinstance(event, ResidentEnrolled) and event.payload.resident_id == body["resident_id"]
    stored = await deps.roster.get(body["resident_id"])
    assert stored is not None and stored.active and stored.desa_code == DESA


async def test_the_same_nik_twice_is_refused_but_a_retry_with_the_key_gets_the_first_answer() -> None:
    deps = intake_deps()
    first = await register(deps, resident(), idem="k1")
    assert await register(deps, resident(), idem="k1") == first
    with pytest.raises(handlers.AlreadyRegistered):
        await register(deps, resident(), idem="k2")
    with pytest.raises(KeyReusedForOtherData):
        await register(deps, resident(name="Nama Lain"), idem="k1")
    assert len(published(deps)) == 1


async def test_an_office_cannot_register_in_another_kecamatan_and_a_bad_nik_is_refused() -> None:
    deps = intake_deps()
    with pytest.raises(handlers.Forbidden):
        await register(deps, resident(), office=OTHER)
    with pytest.raises(RosterRuleError) as refused:
        await register(deps, resident(sex="P"))
    assert refused.value.field == "sex" and published(deps) == []


async def test_same_name_birth_and_desa_under_another_nik_is_flagged_for_review() -> None:
    deps = intake_deps()
    first = await register(deps, resident(1))
    second = await register(deps, resident(2))
    assert second["perlu_tinjauan"] == [first["resident_id"]]
    reviews = await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps)
    assert [r.resident_id for r in reviews] == [second["resident_id"]]
    assert await handlers.open_reviews(handlers.ListReviews(OTHER), deps=deps) == []


async def test_a_clerk_settles_possible_duplicates_as_other_people_and_they_are_not_flagged_again() -> None:
    deps = intake_deps()
    first = await register(deps, resident(1))
    second = await register(deps, resident(2))
    settle = handlers.SettleDuplicates(OWN, second["resident_id"], "KK dan foto dibandingkan")
    with pytest.raises(handlers.Forbidden):
        await handlers.settle_possible_duplicates(handlers.SettleDuplicates(OTHER, second["resident_id"], "x" * 5),
                                                  deps=deps)
    with pytest.raises(handlers.NoDuplicatesToSettle):
        await handlers.settle_possible_duplicates(handlers.SettleDuplicates(OWN, first["resident_id"], "x" * 5),
                                                  deps=deps)
    settled = await handlers.settle_possible_duplicates(settle, deps=deps)
    assert settled.possible_duplicates == () and settled.settled_duplicates == (first["resident_id"],)
    assert await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps) == []
    assert await handlers.settle_possible_duplicates(settle, deps=deps) == settled
    # The same twin registered again from a file does not reopen the settled review.
    await deps.reviews.flag(resident_id=second["resident_id"], others=[first["resident_id"]], kecamatan_code=KEC,
                            now=deps.clock())
    assert await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps) == []


async def test_correction_moves_the_resident_but_cannot_change_the_nik() -> None:
    deps = intake_deps()
    rid = (await register(deps, resident()))["resident_id"]
    moved = resident(desa_code="17.02.06.2002")
    answer = await handlers.correct_resident(handlers.CorrectResident(
        office=OWN, resident_id=rid, data=moved, reason="salah desa", request=key(f"/residents/{rid}")), deps=deps)
    assert answer.answer.status == 200 and isinstance(published(deps)[-1], ResidentUpdated)
    stored = await deps.roster.get(rid)
    assert stored is not None and stored.desa_code == "17.02.06.2002"
    with pytest.raises(RosterRuleError) as refused:
        await handlers.correct_resident(handlers.CorrectResident(
            office=OWN, resident_id=rid, data=resident(2), reason="ganti NIK", request=key()), deps=deps)
    assert refused.value.field == "nik"
    with pytest.raises(handlers.Forbidden):
        await handlers.correct_resident(handlers.CorrectResident(
            office=OTHER, resident_id=rid, data=moved, reason="bukan miliknya", request=key()), deps=deps)


async def test_marking_left_removes_the_resident_and_a_second_time_finds_nobody() -> None:
    deps = intake_deps()
    rid = (await register(deps, resident()))["resident_id"]

    def leave(effective: dt.date) -> handlers.MarkResidentLeft:
        return handlers.MarkResidentLeft(office=OWN, resident_id=rid, reason=LeaveReason.PINDAH,
                                         effective_date=effective, request=key(f"/residents/{rid}/keluar"))

    with pytest.raises(RosterRuleError):
        await handlers.mark_resident_left(leave(today() + dt.timedelta(days=5)), deps=deps)
    answer = await handlers.mark_resident_left(leave(today()), deps=deps)
    assert answer.answer.status == 200 and isinstance(published(deps)[-1], ResidentLeft)
    stored = await deps.roster.get(rid)
    assert stored is not None and stored.status == "pindah"
    with pytest.raises(handlers.NotInRoster):
        await handlers.mark_resident_left(leave(today()), deps=deps)


async def test_a_deceased_resident_is_not_registered_again_but_one_who_moved_out_may_come_back() -> None:
    deps = intake_deps()
    dead = (await register(deps, resident(1)))["resident_id"]
    moved = (await register(deps, resident(2, name="Penduduk Lain")))["resident_id"]
    for rid, reason in ((dead, LeaveReason.MENINGGAL), (moved, LeaveReason.PINDAH)):
        await handlers.mark_resident_left(handlers.MarkResidentLeft(
            office=OWN, resident_id=rid, reason=reason, effective_date=today(),
            request=key(f"/residents/{rid}/keluar")), deps=deps)
    elsewhere = resident(1, kecamatan_code=OTHER_KEC, desa_code="17.02.19.1001")
    for office, data in ((OWN, resident(1)), (ADMIN, resident(1)), (OTHER, elsewhere)):
        with pytest.raises(handlers.AlreadyRegistered) as refused:
            await register(deps, data, office=office)
        assert refused.value.deceased
    assert (await register(deps, resident(2, name="Penduduk Lain")))["resident_id"] == moved
    stored = await deps.roster.get(dead)
    assert stored is not None and stored.status == "meninggal"


async def test_a_refused_registration_names_the_resident_only_to_its_kecamatan_or_the_dinas() -> None:
    deps = intake_deps()
    rid = (await register(deps, resident()))["resident_id"]
    elsewhere = resident(kecamatan_code=OTHER_KEC, desa_code="17.02.19.1001")
    seen = {}
    for name, office, data in (("own", OWN, resident()), ("dinas", ADMIN, resident()), ("other", OTHER, elsewhere)):
        with pytest.raises(handlers.AlreadyRegistered) as refused:
            await register(deps, data, office=office)
        seen[name] = refused.value.resident_id
    assert seen == {"own": rid, "dinas": rid, "other": None}


@pytest.mark.parametrize("typed", ["1702064507070001", "1702.0645.0707.0001", "1702 0645 0707 0001",
                                   "1702-0645-0707-0001", " 1702.0645 0707-0001 "])
def test_a_nik_typed_with_dots_spaces_or_dashes_is_its_sixteen_digits(typed: str) -> None:
    assert normalise_nik(typed) == "1702064507070001"


@pytest.mark.parametrize(("typed", "reason"), [("1702.0645.0707.000A", "angka"), ("1702/0645/0707/0001", "angka"),
                                               ("17020645070700011", "16 digit"), ("", "16 digit"),
                                               ("\uff11702064507070001", "angka")])
def test_any_other_malformed_nik_is_refused_in_indonesian_naming_the_nik(typed: str, reason: str) -> None:
    with pytest.raises(RosterRuleError) as refused:
        normalise_nik(typed)
    assert refused.value.field == "nik" and reason in refused.value.reason


async def test_reading_a_resident_is_audited_and_only_for_the_own_kecamatan() -> None:
    deps = intake_deps()
    rid = (await register(deps, resident()))["resident_id"]
    found = await handlers.read_resident(handlers.ReadResident(OWN, rid), deps=deps)
    assert found.nik == resident().nik
    with pytest.raises(handlers.Forbidden, match=f"hanya berwenang untuk kecamatan {OTHER_KEC}, bukan kecamatan {KEC}"):
        await handlers.read_resident(handlers.ReadResident(OTHER, rid), deps=deps)
    field_team = handlers.Office(Actor(office_id="tim-06", role=Role.FIELD_TEAM, operator="tim-06"), KEC)
    with pytest.raises(handlers.Forbidden, match="berperan tim lapangan") as refused:
        await handlers.read_resident(handlers.ReadResident(field_team, rid), deps=deps)
    assert "bukan kecamatan" not in str(refused.value)
    with pytest.raises(handlers.NotInRoster):
        await handlers.read_resident(handlers.ReadResident(ADMIN, "r" + "0" * 32), deps=deps)
    audit = deps.audit
    assert isinstance(audit, FakeAudit)
    assert [(r["action"], r["office_id"]) for r in audit.records] == [("baca_penduduk", "kec-06")]


async def test_the_cohort_lists_who_turns_seventeen_by_the_date_and_is_audited() -> None:
    deps = intake_deps()
    turning = await register(deps, resident(1, birth=dt.date(2009, 6, 1)))
    await register(deps, resident(2, name="Sudah Dewasa", birth=dt.date(1990, 1, 1)))
    found = await handlers.read_cohort(handlers.ReadCohort(OWN, dt.date(2026, 12, 31), KEC), deps=deps)
    assert [r.resident_id for r in found.newly] == [turning["resident_id"]]
    assert (found.wajib_today, found.wajib_on_target) == (1, 2)
    with pytest.raises(handlers.DateRefused):
        await handlers.read_cohort(handlers.ReadCohort(ADMIN, today() - dt.timedelta(days=1)), deps=deps)
    with pytest.raises(handlers.Forbidden):
        await handlers.read_cohort(handlers.ReadCohort(OWN, dt.date(2026, 12, 31), None), deps=deps)
    audit = deps.audit
    assert isinstance(audit, FakeAudit) and audit.records[0]["residents"] == 1


def dapodik(*rows: tuple[str, str, dt.date, str]) -> bytes:
    lines = ["NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"]
    areas = load_areas()
    for nik, name, birth, kec in rows:
        kecamatan = areas.kecamatan[kec]
        lines.append(f"0012345678;{nik};{name};Laki-laki;Curup;{birth:%d/%m/%Y};10700123;SMA Sintetis;"
                     f"{kecamatan.name};{kecamatan.villages[0].name}")
    return ("\n".join(lines) + "\n").encode()


async def test_an_import_registers_valid_rows_in_the_background_and_a_reupload_adds_nothing() -> None:
    deps = intake_deps()
    birth = dt.date(2009, 5, 12)
    nik = resident(7, birth=birth).nik
    other = f"170219{birth:%d%m%y}0008"
    content = dapodik((nik, "Siswa Satu", birth, KEC), (other, "Siswa Lain", birth, OTHER_KEC))
    started = await handlers.start_import(handlers.StartImport(OWN, content), deps=deps)
    assert started.job.valid_rows == 1 and [e.column for e in started.job.errors] == ["kecamatan"]
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=deps)).job
    assert (job.status, job.imported, job.progress_percent) == (DONE, 1, 100.0)
    again = await handlers.start_import(handlers.StartImport(OWN, content), deps=deps)
    assert again.replay and again.job.imported == 1 and len(published(deps)) == 1
    with pytest.raises(DapodikFileError):
        await handlers.start_import(handlers.StartImport(OWN, b""), deps=deps)


async def test_an_import_job_is_seen_only_by_its_office_and_dinas() -> None:
    deps = intake_deps()
    birth = dt.date(2009, 5, 12)
    content = dapodik((resident(9, birth=birth).nik, "Siswa", birth, KEC))
    started = await handlers.start_import(handlers.StartImport(OWN, content), deps=deps)
    assert (await handlers.read_import(handlers.ReadImport(ADMIN, started.job.job_id), deps=deps)).job.job_id
    with pytest.raises(handlers.ImportNotFound):
        await handlers.read_import(handlers.ReadImport(OTHER, started.job.job_id), deps=deps)
    field_team = dataclasses.replace(OWN, actor=Actor(office_id="t", role=Role.FIELD_TEAM, operator="t"))
    with pytest.raises(handlers.Forbidden):
        await handlers.start_import(handlers.StartImport(field_team, content), deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()


async def test_an_import_keeps_the_first_errors_counts_them_per_reason_and_stops_past_the_threshold() -> None:
    deps = dataclasses.replace(intake_deps(), import_limits=ImportLimits(errors_kept=2, stop_after_refused=4))
    birth = dt.date(2009, 5, 12)
    good = (resident(11, birth=birth).nik, "Siswa", birth, KEC)
    bad = [(resident(20 + i, birth=birth).nik, "", birth, KEC) for i in range(3)]
    started = await handlers.start_import(handlers.StartImport(OWN, dapodik(good, *bad)), deps=deps)
    job = started.job
    assert (job.total_rows, job.valid_rows, job.refused_rows, job.error_count) == (4, 1, 3, 3)
    assert [e.line for e in job.errors] == [3, 4]
    assert [(r.column, r.reason, r.count) for r in job.reasons] == [("Nama Peserta Didik", "nama kosong", 3)]
    page = await handlers.read_import(handlers.ReadImport(OWN, job.job_id, handlers.ErrorsPage(2, 1)), deps=deps)
    assert [e.line for e in page.errors] == [4] and not page.more
    too_bad = [(resident(40 + i, birth=birth).nik, "", birth, KEC) for i in range(6)]
    stopped = (await handlers.start_import(handlers.StartImport(OWN, dapodik(*too_bad)), deps=deps)).job
    assert (stopped.status, stopped.total_rows, stopped.stopped_at_line) == (FAILED, 4, 6)
    assert stopped.message and "unggah ulang" in stopped.message
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    assert not [e for e in published(deps) if e.payload.name == ""]


ONE_AM_WIB = dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)  # 01:30 WIB on 2 March: still 1 March in UTC


def roster_file(*rows: tuple[str, dt.date, str]) -> bytes:
    lines = ["NIK;Nama;Jenis Kelamin;Tanggal Lahir;Status Perkawinan;Kecamatan;Desa/Kelurahan"]
    village = load_areas().kecamatan[KEC].villages[0].name
    lines += [f"{nik};Penduduk Sintetis;L;{birth:%d/%m/%Y};{marital};{load_areas().kecamatan[KEC].name};{village}"
              for nik, birth, marital in rows]
    return ("\n".join(lines) + "\n").encode()


async def test_an_import_between_midnight_and_seven_wib_judges_every_row_on_the_wib_day() -> None:
    deps = intake_deps(ONE_AM_WIB)
    today_wib = dt.date(2026, 3, 2)
    born_today = resident(31, birth=today_wib).nik
    started = await handlers.start_import(handlers.StartImport(OWN, roster_file((born_today, today_wib, ""))),
                                          deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=deps)).job
    assert (job.status, job.imported, job.message) == (DONE, 1, None)


async def test_a_married_resident_imported_at_one_am_wib_is_wajib_ktp_from_the_wib_day() -> None:
    deps = intake_deps(ONE_AM_WIB)
    birth = dt.date(2010, 6, 15)
    nik = resident(32, birth=birth).nik
    await handlers.start_import(handlers.StartImport(OWN, roster_file((nik, birth, "Kawin"))), deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    [event] = published(deps)
    assert event.payload.wajib_ktp_from == dt.date(2026, 3, 2)


async def test_an_implausible_age_is_flagged_for_review_until_an_office_confirms_or_corrects_it() -> None:
    deps = intake_deps()
    typo = resident(41, birth=dt.date(1907, 8, 17), school_npsn="10700123")
    answer = await register(deps, typo)
    assert "118 tahun" in answer["tinjauan_umur"] and "2007" in answer["tinjauan_umur"]
    [event] = published(deps)
    assert event.payload.age_under_review
    [review] = await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps)
    assert review.age_reason == answer["tinjauan_umur"] and review.possible_duplicates == ()
    student = await register(deps, resident(42, birth=dt.date(1961, 1, 5), school_npsn="10700123"))
    assert "siswa" in student["tinjauan_umur"]
    assert (await register(deps, resident(43, birth=dt.date(1950, 1, 5))))["tinjauan_umur"] is None
    confirmed = await handlers.correct_resident(handlers.CorrectResident(
        OWN, answer["resident_id"], typo, "umur diperiksa", key(f"/residents/{answer['resident_id']}"),
        age_confirmed=True), deps=deps)
    assert confirmed.answer.body["tinjauan_umur"] is None and not published(deps)[-1].payload.age_under_review
    assert [r.resident_id for r in await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps)] == [
        student["resident_id"]]


async def test_an_imported_row_with_an_implausible_age_is_flagged_for_review() -> None:
    deps = intake_deps()
    birth = dt.date(1907, 8, 17)
    started = await handlers.start_import(handlers.StartImport(OWN, dapodik((resident(44, birth=birth).nik, "Siswa",
                                                                             birth, KEC))), deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=deps)).job
    assert (job.imported, job.flagged_for_review) == (1, 1)
    [event] = published(deps)
    assert event.payload.age_under_review
    [review] = await handlers.open_reviews(handlers.ListReviews(OWN), deps=deps)
    assert review.age_reason and "tahun lahir" in review.age_reason


async def test_a_dapodik_import_carries_the_school_name_with_its_npsn() -> None:
    deps = intake_deps()
    birth = dt.date(2009, 5, 12)
    await handlers.start_import(handlers.StartImport(OWN, dapodik((resident(45, birth=birth).nik, "Siswa", birth,
                                                                   KEC))), deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    [event] = published(deps)
    assert (event.payload.school_npsn, event.payload.school_name) == ("10700123", "SMA Sintetis")


# -- one NIK registered at the same moment, residents who left, occurred_at in the future -----------------

async def test_registrations_of_one_nik_at_the_same_moment_publish_one_event_and_refuse_the_others() -> None:
    deps = dataclasses.replace(intake_deps(), publisher=RecordingPublisher(yields=True))
    names = ["Penduduk A" if i % 2 else "Penduduk B" for i in range(10)]
    outcomes = await asyncio.gather(*(register(deps, resident(name=name)) for name in names), return_exceptions=True)
    accepted = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, handlers.BeingRegistered | handlers.AlreadyRegistered)]
    assert len(accepted) == 1 and len(refused) == 9
    [event] = published(deps)
    winner = names[outcomes.index(accepted[0])]
    stored = await deps.roster.get(accepted[0]["resident_id"])
    assert stored is not None and stored.name == winner == event.payload.name


async def test_a_registration_whose_publishing_fails_releases_its_claim_and_a_retry_registers() -> None:
    deps = dataclasses.replace(intake_deps(), publisher=RecordingPublisher(failures=1))
    with pytest.raises(TimeoutError):
        await register(deps, resident())
    assert (await register(deps, resident()))["status"] == "diterima"
    assert len(published(deps)) == 1


async def test_a_claim_held_by_another_registration_refuses_until_it_is_stale() -> None:
    deps = intake_deps()
    rid = resident_pseudonym(resident().nik, key=deps.pseudonym_key)
    held_at = deps.clock()
    assert await deps.roster.claim_registration(rid, "import-event", now=held_at, stale_after=dt.timedelta(minutes=5))
    with pytest.raises(handlers.BeingRegistered):
        await register(deps, resident())
    later = dataclasses.replace(deps, clock=lambda: held_at + dt.timedelta(minutes=6))
    assert (await register(later, resident()))["resident_id"] == rid


async def test_an_import_leaves_a_resident_a_clerk_is_registering_to_the_clerk() -> None:
    deps = intake_deps()
    birth = dt.date(2009, 5, 12)
    claimed, free = resident(7, birth=birth).nik, resident(8, birth=birth).nik
    rid = resident_pseudonym(claimed, key=deps.pseudonym_key)
    await deps.roster.claim_registration(rid, "clerk-event", now=deps.clock(), stale_after=dt.timedelta(minutes=5))
    started = await handlers.start_import(handlers.StartImport(OWN, dapodik(
        (claimed, "Siswa Satu", birth, KEC), (free, "Siswa Dua", birth, KEC))), deps=deps)
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=deps)).job
    assert (job.imported, job.already_registered) == (1, 1)
    assert [e.payload.resident_id for e in published(deps)] == [resident_pseudonym(free, key=deps.pseudonym_key)]


@pytest.mark.parametrize("reason", [LeaveReason.PINDAH, LeaveReason.MENINGGAL])
async def test_an_import_refuses_the_row_of_a_resident_who_left_with_its_line(reason: LeaveReason) -> None:
    deps = intake_deps()
    birth = dt.date(2009, 5, 12)
    data = resident(7, birth=birth)
    rid = (await register(deps, data))["resident_id"]
    await handlers.mark_resident_left(handlers.MarkResidentLeft(
        office=OWN, resident_id=rid, reason=reason, effective_date=today(),
        request=key(f"/residents/{rid}/keluar")), deps=deps)
    other = resident(8, birth=birth).nik
    started = await handlers.start_import(handlers.StartImport(OWN, dapodik(
        (other, "Siswa Dua", birth, KEC), (data.nik, "Siswa Satu", birth, KEC))), deps=deps)
    [error] = started.job.errors
    assert (error.line, error.column) == (3, "NIK") and "Dinas Dukcapil" in error.reason
    assert started.job.valid_rows == 1 and started.job.refused_rows == 1
    background = deps.background
    assert isinstance(background, InlineBackground)
    await background.run_all()
    stored = await deps.roster.get(rid)
    assert stored is not None and stored.status == reason.value and stored.left_on == today()
    assert len([e for e in published(deps) if isinstance(e, ResidentEnrolled)]) == 2


async def test_an_occurred_at_beyond_the_clock_skew_is_refused_for_registration_and_correction() -> None:
    deps = intake_deps()
    future = deps.clock() + dt.timedelta(minutes=11)
    with pytest.raises(RosterRuleError) as refused:
        await handlers.register_resident(handlers.RegisterResident(
            office=OWN, data=resident(), request=key(), occurred_at=future), deps=deps)
    assert refused.value.field == "occurred_at" and "masa depan" in refused.value.reason
    rid = (await register(deps, resident()))["resident_id"]

    def correction(moment: dt.datetime) -> handlers.CorrectResident:
        return handlers.CorrectResident(office=OWN, resident_id=rid, data=resident(name="Nama Koreksi"),
                                        reason="salah ketik", request=key(f"/residents/{rid}"), occurred_at=moment)

    with pytest.raises(RosterRuleError):
        await handlers.correct_resident(correction(future), deps=deps)
    skewed = deps.clock() + dt.timedelta(minutes=9)
    assert (await handlers.correct_resident(correction(skewed), deps=deps)).answer.status == 200
