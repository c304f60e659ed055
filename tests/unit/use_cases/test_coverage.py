"""Use cases of the coverage service on an in-memory projection: no Kafka, no MongoDB."""

from __future__ import annotations

import datetime as dt

import pytest

from services.coverage import handlers
from services.coverage.dashboard import TEMPLATES, TILES
from services.coverage.planner import PlannerSettings
from services.coverage.views import ResidentStage
from shared.contracts.envelope import Role
from shared.pseudonym import resident_pseudonym
from tests.fakes.coverage import PSEUDONYM_KEY, FakeProjection, coverage_deps

KEC, DESA, OTHER_KEC = "17.02.06", "17.02.06.2001", "17.02.19"
ADMIN = handlers.Reader("dinas", Role.DINAS_ADMIN)
OWN = handlers.Reader("kec-06", Role.KECAMATAN_OFFICE, KEC)
OTHER = handlers.Reader("kec-19", Role.KECAMATAN_OFFICE, OTHER_KEC)


def projection() -> FakeProjection:
    fake = FakeProjection()
    counters = {"terdaftar": 4, "direkam": 1, "belum_rekam": 3, "antre_cetak": 1,
                "weekly": {"wajib_ktp": {"lama": 4}, "direkam": {"w20260223": 1}},
                "antre_cetak_per_jam": {"2026022000": 1, "2026021500": 0}}
    fake.put_area("kab", "17.02", **counters)
    fake.put_area("kec", KEC, **counters)
    fake.put_area("desa", DESA, **counters, belum_rekam_luar_sekolah=3)
    fake.put_location("dinas", stok=120, dipesan=2, used_by_day={dt.date(2026, 3, 1): 7})
    fake.put_resident("r1", desa=DESA, kecamatan=KEC, birth_year=1950, waiting_since="2026-02-20T00:00:00+00:00")
    fake.put_resident("r2", desa=DESA, kecamatan=KEC, disabilitas=True)
    fake.put_resident("r3", desa=DESA, kecamatan=KEC, recorded=True)
    return fake


async def test_coverage_per_kecamatan_counts_the_projection_and_every_kecamatan_has_a_row() -> None:
    answer = await handlers.coverage_summary(None, deps=coverage_deps(projection()))
    row = next(r for r in answer["baris"] if r["kode"] == KEC)
    assert (row["wajib_ktp"], row["direkam"], row["cakupan_rekam"]["persen"]) == (4, 1, 25.0)
    assert len(answer["baris"]) == 15 and answer["kabupaten"]["terdaftar"] == 4


async def test_coverage_by_area_refuses_an_unknown_kecamatan_and_a_cohort_date_before_the_day() -> None:
    deps = coverage_deps(projection())
    table = await handlers.coverage_by_area(handlers.AreaQuery("desa", KEC), deps=deps)
    assert [r["kode"] for r in table.rows if r["terdaftar"]] == [DESA]
    with pytest.raises(handlers.AreaNotFound):
        await handlers.coverage_by_area(handlers.AreaQuery("desa", "17.02.99"), deps=deps)
    with pytest.raises(handlers.QueryRefused):
        await handlers.coverage_by_area(handlers.AreaQuery(day=dt.date(2026, 3, 2), cohort_until=dt.date(2026, 1, 1)),
                                        deps=deps)


async def test_coverage_on_a_past_day_is_refused_since_the_recorded_counts_are_todays() -> None:
    deps = coverage_deps(projection())
    yesterday = dt.date(2026, 3, 1)
    with pytest.raises(handlers.QueryRefused, match="sebelum hari ini.*coverage/series"):
        await handlers.coverage_summary(yesterday, deps=deps)
    with pytest.raises(handlers.QueryRefused, match="sebelum hari ini"):
        await handlers.coverage_by_area(handlers.AreaQuery("desa", KEC, day=yesterday), deps=deps)
    later = await handlers.coverage_summary(dt.date(2027, 3, 2), deps=deps)
    assert later["tanggal"] == "2027-03-02"


async def test_the_weekly_series_is_cumulative_and_an_unknown_area_is_not_found() -> None:
    deps = coverage_deps(projection())
    table = await handlers.weekly_series(handlers.SeriesQuery(KEC, 2), deps=deps)
    assert [(w["minggu_mulai"], w["direkam"]) for w in table.rows] == [("2026-02-23", 1), ("2026-03-02", 1)]
    with pytest.raises(handlers.AreaNotFound):
        await handlers.weekly_series(handlers.SeriesQuery("99.99"), deps=deps)


async def test_the_backlog_reports_the_oldest_waiting_card_per_kecamatan() -> None:
    table = await handlers.print_backlog(deps=coverage_deps(projection()))
    row = next(r for r in table.rows if r["kode"] == KEC)
    assert (row["antre_cetak"], row["sejak"]) == (1, "2026-02-20T00:00:00+00:00")
    assert table.body["tertua_sejak"] == "2026-02-20T00:00:00+00:00" and table.body["umur_tertua_hari"] > 10


async def test_stock_lists_each_location_with_its_blanks() -> None:
    table = await handlers.blank_stock(deps=coverage_deps(projection()))
    assert table.body["stok_total"] == 120 and table.rows[0]["lokasi"] == "dinas"


async def test_unrecorded_residents_are_listed_for_the_own_kecamatan_and_the_read_is_audited() -> None:
    fake = projection()
    deps = coverage_deps(fake)
    table = await handlers.unrecorded(handlers.UnrecordedQuery(OWN, desa=DESA), deps=deps)
    assert [r["resident_id"] for r in table.rows] == ["r1", "r2"]
    with pytest.raises(handlers.Forbidden):
        await handlers.unrecorded(handlers.UnrecordedQuery(OTHER, desa=DESA), deps=deps)
    with pytest.raises(handlers.QueryRefused):
        await handlers.unrecorded(handlers.UnrecordedQuery(ADMIN), deps=deps)
    assert fake.audit == [{"office_id": "kec-06", "action": "baca_belum_rekam", "scope": f"desa:{DESA}", "count": 2,
                           "resident_ids": ["r1", "r2"]}]


async def test_the_planner_proposes_visits_and_refuses_settings_out_of_range() -> None:
    deps = coverage_deps(projection())
    table = await handlers.plan_visits(handlers.PlanQuery(PlannerSettings(3, 1, 50, 1)), deps=deps)
    assert table.rows and table.rows[0]["kecamatan"] == KEC and table.body["peringkat"][0]["kode"] == DESA
    with pytest.raises(handlers.QueryRefused):
        await handlers.plan_visits(handlers.PlanQuery(PlannerSettings(3, 60, 50, 1)), deps=deps)
    with pytest.raises(handlers.QueryRefused):
        await handlers.plan_visits(handlers.PlanQuery(PlannerSettings(), start=dt.date(2030, 1, 1)), deps=deps)


async def test_home_visits_list_elderly_and_disabled_residents_and_the_read_is_audited() -> None:
    fake = projection()
    deps = coverage_deps(fake)
    table = await handlers.home_visits(handlers.HomeVisitQuery(OWN), deps=deps)
    assert [(r["resident_id"], r["lansia"], r["disabilitas"]) for r in table.rows] == [
        ("r1", True, False), ("r2", False, True)]
    with pytest.raises(handlers.Forbidden):
        await handlers.home_visits(handlers.HomeVisitQuery(OTHER, KEC), deps=deps)
    assert [a["action"] for a in fake.audit] == ["baca_kunjungan_rumah"]


async def test_the_dashboard_pages_render_escaped_from_their_templates() -> None:
    fake = projection()
    fake.put_location("<script>", stok=1)
    deps = coverage_deps(fake)
    page = await handlers.overview_page(deps=deps)
    html = TEMPLATES.get_template("overview.html").render(page=page, tiles=TILES, title="Cakupan e-KTP",
                                                          subtitle="uji")
    assert "Akan wajib KTP s.d. 02-03-2027" in html and "&lt;script&gt;" in html and "<script>" not in html
    detail = await handlers.kecamatan_page(KEC, deps=deps)
    assert detail.desa[0]["nama"] == "Jumlah kecamatan"
    html = TEMPLATES.get_template("kecamatan.html").render(page=detail, title="Kecamatan", subtitle="uji")
    assert "Jumlah kecamatan" in html and "Wajib KTP belum rekam" in html
    with pytest.raises(handlers.AreaNotFound):
        await handlers.kecamatan_page("17.02.99", deps=deps)


async def test_a_long_list_of_people_comes_in_pages_and_says_when_more_follow() -> None:
    fake = projection()
    for n in range(3):
        fake.put_resident(f"r9{n}", desa=DESA, kecamatan=KEC, disabilitas=True)
    deps = coverage_deps(fake)
    first = await handlers.unrecorded(handlers.UnrecordedQuery(OWN, desa=DESA, page=handlers.Page(1, 3)), deps=deps)
    second = await handlers.unrecorded(handlers.UnrecordedQuery(OWN, desa=DESA, page=handlers.Page(2, 3)), deps=deps)
    assert (first.body["jumlah"], first.body["ada_halaman_berikutnya"], first.next_page) == (3, True, 2)
    assert "halaman 2" in first.body["catatan"]
    assert (second.body["jumlah"], second.body["ada_halaman_berikutnya"], second.next_page) == (2, False, None)
    listed = {row["resident_id"] for row in first.rows + second.rows}
    assert len(listed) == 5 and "r3" not in listed  # every unrecorded resident once; the recorded one never
    visits = await handlers.home_visits(handlers.HomeVisitQuery(OWN, page=handlers.Page(1, 2)), deps=deps)
    assert visits.body["ada_halaman_berikutnya"] and visits.body["jumlah"] == 2


async def test_a_school_is_shown_by_its_name_with_its_npsn_and_by_its_npsn_alone_when_unnamed() -> None:
    fake = projection()
    fake.put_area("sekolah", "10700123", terdaftar=2, belum_rekam=2, siswa_per_kecamatan={KEC: 2})
    fake.put_area("sekolah", "10700124", terdaftar=1, belum_rekam=1, siswa_per_kecamatan={KEC: 1})
    fake.schools["10700123"] = "SMA Negeri 1 Curup"
    deps = coverage_deps(fake)
    table = await handlers.coverage_by_area(handlers.AreaQuery("sekolah", KEC), deps=deps)
    assert [r["nama"] for r in table.rows] == ["SMA Negeri 1 Curup (NPSN 10700123)", "NPSN 10700124"]
    plan = await handlers.plan_visits(handlers.PlanQuery(PlannerSettings(3, 1, 50, 2)), deps=deps)
    names = {r["kode"]: r["nama"] for r in plan.body["peringkat"]}
    assert names["10700123"] == "SMA Negeri 1 Curup (NPSN 10700123)" and names["10700124"] == "Sekolah NPSN 10700124"


async def test_the_planner_counts_only_visits_held_by_today_never_a_scheduled_or_future_one() -> None:
    from services.coverage.views import PlaceVisit
    from shared.clock import WIB

    fake = projection()
    held_desa, future_desa = "17.02.06.2002", "17.02.06.2003"
    fake.put_area("desa", held_desa, belum_rekam_luar_sekolah=3)
    fake.put_area("desa", future_desa, belum_rekam_luar_sekolah=3)
    deps = coverage_deps(fake)
    today = deps.clock().astimezone(WIB).date()
    fake.visits += [
        PlaceVisit(held_desa, today - dt.timedelta(days=9), held_on=today - dt.timedelta(days=9)),
        PlaceVisit(future_desa, today + dt.timedelta(days=300)),  # scheduled, not held
        PlaceVisit(future_desa, today + dt.timedelta(days=2), held_on=today + dt.timedelta(days=2)),  # a clock ahead
        PlaceVisit(DESA, today - dt.timedelta(days=3)),  # scheduled in the past, never opened
    ]
    plan = await handlers.plan_visits(handlers.PlanQuery(PlannerSettings(3, 1, 50, 2)), deps=deps)
    rows = {r["kode"]: r for r in plan.body["peringkat"]}
    assert (rows[held_desa]["kunjungan"], rows[held_desa]["alasan"]) == (1, "dikunjungi 9 hari lalu")
    for desa in (future_desa, DESA):
        assert (rows[desa]["kunjungan"], rows[desa]["terakhir"], rows[desa]["alasan"]) == (
            0, None, "belum pernah dikunjungi")
    assert rows[future_desa]["skor"] > rows[held_desa]["skor"]


def _stage(**facts: bool) -> ResidentStage:
    base = {"enrolled": True, "active": True, "recorded": False, "print_ready": False, "printed": False,
            "handed_over": False}
    return ResidentStage(kecamatan_code=KEC, birth_date="2007-07-05", **{**base, **facts})


@pytest.mark.parametrize(("facts", "stage"), [
    ({}, "belum_rekam"), ({"recorded": True}, "sudah_rekam"), ({"recorded": True, "print_ready": True}, "siap_cetak"),
    ({"recorded": True, "print_ready": True, "printed": True}, "dicetak"),
    ({"recorded": True, "printed": True, "handed_over": True}, "diserahkan"),
])
async def test_a_resident_looks_up_their_stage_with_nik_and_birth_date(facts: dict[str, bool], stage: str) -> None:
    fake = projection()
    nik = "1702064507070001"
    fake.stages[resident_pseudonym(nik, key=PSEUDONYM_KEY)] = _stage(**facts)
    found = await handlers.look_up_status(handlers.StatusLookup(nik, dt.date(2007, 7, 5), "web"),
                                          deps=coverage_deps(fake))
    assert found.stage == stage and found.explanation
    assert (found.collect_at is not None) == (stage == "dicetak")
    assert fake.audit[-1] | {"resident_ids": None} == {"office_id": "publik", "action": "cek_status_ktp", "scope": "publik",
                                                      "count": 1, "resident_ids": None}


@pytest.mark.parametrize("birth", [dt.date(2007, 7, 6), None])
async def test_a_wrong_birth_date_answers_like_an_unknown_nik(birth: dt.date | None) -> None:
    """The lookup tells nothing about who is in the roster: a wrong birth date and an unknown NIK look alike."""
    fake = projection()
    nik = "1702064507070001"
    if birth is not None:
        fake.stages[resident_pseudonym(nik, key=PSEUDONYM_KEY)] = _stage(recorded=True)
    found = await handlers.look_up_status(handlers.StatusLookup(nik, birth or dt.date(2007, 7, 5), "api"),
                                          deps=coverage_deps(fake))
    assert (found.stage, found.collect_at) == ("tidak_ditemukan", None)
    assert found.explanation == handlers.NOT_FOUND_TEXT
    assert fake.audit[-1]["count"] == 0
