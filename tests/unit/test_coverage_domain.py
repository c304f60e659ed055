"""The coverage projection as pure functions: views, contributions, order independence, the planner."""

from __future__ import annotations

import datetime as dt
import json
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from services.coverage import domain, planner
from services.coverage.domain import ResidentView
from services.coverage.store import decode_delta, encode_delta
from shared.clock import WIB
from shared.topics import STOCK
from tests.support.events import make, moment
from tests.support.ledger_outcomes import with_ledger_outcomes

RID = "r-test-1"


def journey() -> list[object]:
    """One resident's events: enrolled, corrected, failed once, recorded, PRR, queued, printed, handed over."""
    return [
        make("resident.enrolled", at=moment(1), resident_id=RID, school_npsn=None, birth_date=dt.date(1950, 2, 1),
             wajib_ktp_from=dt.date(1967, 2, 1), nik="1702060102500001", sex="L"),
        make("resident.updated", at=moment(2), resident_id=RID, school_npsn=None, birth_date=dt.date(1950, 2, 1),
             wajib_ktp_from=dt.date(1967, 2, 1), nik="1702060102500001", sex="L", desa_code="17.02.06.2002"),
        make("recording.failed", at=moment(3), resident_id=RID),
        make("recording.captured", at=moment(4), resident_id=RID),
        make("recording.siak_status", at=moment(6), resident_id=RID, status="SFE", status_at=moment(5)),
        make("recording.siak_status", at=moment(8), resident_id=RID, status="PRR", status_at=moment(7)),
        make("print.job_queued", at=moment(9), resident_id=RID, job_id="job-1"),
    ]


def fold(events: list[object], owners: dict[str, str] | None = None) -> ResidentView | None:
    def step(view: ResidentView | None, event: object) -> ResidentView | None:
        job = getattr(getattr(event, "payload", None), "job_id", None)
        return domain.evolve(view, event, job_id=job)
    return reduce(step, events, None)


def test_a_full_journey_counts_in_every_area_once() -> None:
    printed = make("print.printed", at=moment(10), job_id="job-1")
    handed = make("print.handed_over", at=moment(11), resident_id=RID, job_id="job-1")
    view = fold([*journey(), printed, handed])
    assert view is not None and view.desa_code == "17.02.06.2002"
    change = domain.contributions(view)
    areas = {"kab:17.02", "kec:17.02.06", "desa:17.02.06.2002"}
    assert set(change) == areas | {domain.series_id(area) for area in areas}
    kec = change["kec:17.02.06"]
    assert kec["terdaftar"] == kec["direkam"] == kec["prr"] == kec["dicetak"] == kec["diserahkan"] == 1
    assert "belum_rekam" not in kec and "gagal" not in kec and "antre_cetak" not in kec
    assert kec["direkam_minggu.w20240304"] == 1


def test_unrecorded_elderly_resident_counts_by_birth_year_and_failure_is_outstanding() -> None:
    view = fold(journey()[:3])
    change = domain.contributions(view)["desa:17.02.06.2002"]
    assert change["belum_rekam"] == 1 and change["belum_rekam_lahir.y1950"] == 1 and change["gagal"] == 1
    assert domain.lansia_not_recorded({"y1950": 1, "y2000": 4}, dt.date(2024, 3, 1)) == 1


def test_waiting_print_job_counts_in_the_backlog_until_printed() -> None:
    view = fold(journey())
    assert view is not None and view.waiting_since is not None
    assert domain.contributions(view)["kab:17.02"]["antre_cetak"] == 1
    done = domain.evolve(view, make("print.printed", at=moment(12), job_id="job-1"), job_id="job-1")
    assert "antre_cetak" not in domain.contributions(done)["kab:17.02"]


def test_moving_desa_moves_the_count_and_leaves_the_kecamatan_alone() -> None:
    before = fold(journey()[:1])
    after = fold(journey()[:2])
    change = domain.delta(before, after)
    desa = ("desa:17.02.06.2001", "desa:17.02.06.2002")
    assert set(change) == {*desa, *map(domain.series_id, desa), domain.PLANNER_AREA}
    assert change[desa[0]]["terdaftar"] == -1 and change[desa[1]]["terdaftar"] == 1
    # Its wajib KTP week moves between the desa's series documents.
    assert set(change[domain.series_id(desa[0])].values()) == {-1}
    assert change[domain.series_id(desa[1])] == {name: 1 for name in change[domain.series_id(desa[0])]}
    # The planner's document moves the unrecorded resident from one desa to the other as well.
    assert change[domain.PLANNER_AREA] == {"desa_belum_rekam.d1702062001": -1, "desa_belum_rekam.d1702062002": 1}


def test_the_planners_document_counts_unrecorded_residents_per_desa_and_school_and_students_per_kecamatan() -> None:
    resident = fold(journey()[:1])
    assert domain.contributions(resident)[domain.PLANNER_AREA] == {"desa_belum_rekam.d1702062001": 1}
    student = domain.replace(resident, school_npsn="10700123")
    assert domain.contributions(student)[domain.PLANNER_AREA] == {
        "sekolah_siswa.n10700123.k170206": 1, "sekolah_belum_rekam.n10700123": 1}
    recorded = domain.replace(student, captured_at="2026-03-02T02:00:00Z")
    assert recorded.recorded
    # Recorded: still a student of the school, no longer outstanding anywhere.
    assert domain.delta(student, recorded)[domain.PLANNER_AREA] == {"sekolah_belum_rekam.n10700123": -1}


def test_leaving_removes_every_contribution_in_any_order() -> None:
    left = make("resident.left", at=moment(20), resident_id=RID)
    gone = fold([*journey(), left])
    assert domain.contributions(gone) == {}
    assert domain.contributions(fold([left, *journey()])) == {}


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(9))))
def test_any_arrival_order_gives_the_same_view(order: list[int]) -> None:
    events = [*journey(), make("print.printed", at=moment(10), job_id="job-1"),
              make("print.handed_over", at=moment(11), resident_id=RID, job_id="job-1")]
    expected = fold(events)
    arrived = [events[i] for i in order]
    # print.printed needs its job queued first (same partition); every other order is free.
    if arrived.index(events[7]) < arrived.index(events[6]):
        arrived.remove(events[7])
        arrived.insert(arrived.index(events[6]) + 1, events[7])
    assert fold(arrived) == expected


def _views_along(events: list[object]) -> list[ResidentView | None]:
    views: list[ResidentView | None] = [None]
    for event in events:
        job = getattr(getattr(event, "payload", None), "job_id", None)
        views.append(domain.evolve(views[-1], event, job_id=job))
    return views


def _plain_difference(new: ResidentView | None, old: ResidentView | None) -> dict[str, dict[str, int]]:
    """The change computed the long way: every area's counters, subtracted name by name."""
    plus, minus = domain.contributions(new), domain.contributions(old)
    change: dict[str, dict[str, int]] = {}
    for area in {*plus, *minus}:
        fields = {name: plus.get(area, {}).get(name, 0) - minus.get(area, {}).get(name, 0)
                  for name in {*plus.get(area, {}), *minus.get(area, {})}}
        if any(fields.values()):
            change[area] = {name: n for name, n in fields.items() if n}
    return change


def test_the_change_between_any_two_views_of_a_journey_is_the_plain_difference() -> None:
    moved_school = make("resident.updated", at=moment(12), resident_id=RID, school_npsn="10700001",
                        birth_date=dt.date(1950, 2, 1), wajib_ktp_from=dt.date(1967, 2, 1), nik="1702060102500001",
                        sex="L", kecamatan_code="17.02.01", desa_code="17.02.01.2001")
    events = [*journey(), make("print.printed", at=moment(10), job_id="job-1"),
              make("print.handed_over", at=moment(11), resident_id=RID, job_id="job-1"), moved_school,
              make("resident.left", at=moment(20), resident_id=RID)]
    views = _views_along(events)
    pairs = 0
    for old in views:
        for new in views:
            assert domain.delta(old, new) == _plain_difference(new, old)
            pairs += 1
    assert pairs == len(views) ** 2 and any(v is not None and v.school_npsn for v in views)


def test_wajib_ktp_on_a_date_uses_whole_weeks_and_the_days_of_the_current_week() -> None:
    buckets = {"lama": 100, "w20240101": 5, "w20240108": 7, "w20240115": 9}
    assert domain.wajib_ktp_on(buckets, dt.date(2024, 1, 10), turning_this_week=3) == 108
    assert domain.wajib_ktp_on(buckets, dt.date(2024, 1, 22), turning_this_week=0) == 121
    assert domain.week_bucket(dt.date(1990, 5, 1)) == domain.BEFORE_WEEKLY
    assert domain.week_bucket(dt.date(2024, 1, 10)) == "w20240108"


def test_stock_counters_follow_what_the_ledger_applied_never_the_commands() -> None:
    received = make("stock.received", location_id="gudang", quantity=10)
    sent = make("stock.transfer_sent", from_location="gudang", to_location="dinas-curup", quantity=4)
    arrived = make("stock.transfer_received", from_location="gudang", to_location="dinas-curup", quantity=4)
    again = make("stock.transfer_received", from_location="gudang", to_location="dinas-curup", quantity=4)
    counted = make("stock.count_corrected", location_id="dinas-curup", counted=3)
    events = with_ledger_outcomes([(STOCK.name, "gudang", e) for e in (received, sent, arrived, again, counted)])
    assert all(domain.stock_delta(e, {}) == {} for _, _, e in events if e.event_type != "stock.ledger_outcome")
    outcomes = [e for _, _, e in events if e.event_type == "stock.ledger_outcome"]
    with_days = [domain.stock_delta(e, {}) for e in outcomes]
    for event, delta in zip(outcomes, with_days, strict=True):  # each change of stok also in its day's bucket
        day = f"stok_hari.d{event.occurred_at.astimezone(WIB):%Y%m%d}"
        assert all(fields.get(day) == fields["stok"] for fields in delta.values() if "stok" in fields), delta
    deltas = [{area: {k: v for k, v in fields.items() if not k.startswith("stok_hari.")}
               for area, fields in delta.items()} for delta in with_days]
    assert deltas == [
        {"lokasi:gudang": {"diterima": 10, "stok": 10}},
        {"lokasi:gudang": {"stok": -4, "dikirim": 4}, "lokasi:dinas-curup": {"dalam_perjalanan": 4}},
        {"lokasi:dinas-curup": {"stok": 4, "masuk_transfer": 4, "dalam_perjalanan": -4}},
        {},  # the second receipt of one transfer: refused by the ledger, nothing counted
        {"lokasi:dinas-curup": {"stok": -1, "rusak": 1}},  # one blank found missing at the count
    ]


def places() -> list[planner.Place]:
    return [
        planner.Place("desa", "A", "Desa A", "17.02.06", 120),
        planner.Place("desa", "B", "Desa B", "17.02.06", 10, visits=1, last_visit=dt.date(2024, 2, 27)),
        planner.Place("desa", "C", "Desa C", "17.02.07", 45),
        planner.Place("sekolah", "10700001", "SMA 1", "17.02.09", 80, visits=2, last_visit=dt.date(2023, 11, 1)),
        planner.Place("desa", "D", "Desa D", "17.02.06", 0),
    ]


def test_ranking_prefers_many_outstanding_and_places_not_visited_lately() -> None:
    ranked = planner.rank(places(), dt.date(2024, 3, 1))
    assert [r.place.code for r in ranked] == ["A", "10700001", "C", "B"]
    assert ranked[-1].reason.startswith("dikunjungi 3 hari")


def test_proposal_three_visits_a_week_within_the_bounds() -> None:
    settings_ = planner.PlannerSettings(visits_per_week=3, min_per_visit=30, max_per_visit=50, weeks=2)
    visits = planner.propose(planner.rank(places(), dt.date(2024, 3, 1)), start=dt.date(2024, 3, 1),
                             settings=settings_)
    assert [v.date.isoformat() for v in visits][:3] == ["2024-03-04", "2024-03-06", "2024-03-08"]
    assert all(v.residents <= 50 for v in visits)
    assert sum(n for v in visits for p, n in v.places if p.code == "A") == 120
    small = [v for v in visits if any(p.code == "B" for p, _ in v.places)]
    assert small and all(len(v.places) > 1 or v.residents >= 10 for v in small)
    assert sum(v.residents for v in visits) == 120 + 10 + 45 + 80


def test_planner_settings_are_checked() -> None:
    assert planner.PlannerSettings(visits_per_week=7).check()
    assert planner.PlannerSettings(min_per_visit=60, max_per_visit=50).check()
    assert not planner.PlannerSettings().check()


def _plain_subtract(plus: domain.Delta, minus: domain.Delta) -> domain.Delta:
    """The definition: every counter of every area, plus minus minus, zeros and empty areas dropped."""
    out: domain.Delta = {}
    for area in set(plus) | set(minus):
        names = set(plus.get(area, {})) | set(minus.get(area, {}))
        fields = {n: plus.get(area, {}).get(n, 0) - minus.get(area, {}).get(n, 0) for n in names}
        fields = {n: v for n, v in fields.items() if v}
        if fields:
            out[area] = fields
    return out


_counters = st.dictionaries(st.sampled_from(["terdaftar", "belum_rekam", "direkam", "gagal", "x.w1"]),
                            st.integers(-2, 2), max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["kab:1", "kec:1", "desa:1", "desa:2", "sekolah:1"]), st.integers(0, 2)),
                max_size=5),
       st.lists(st.tuples(st.sampled_from(["kab:1", "kec:1", "desa:1", "desa:2", "sekolah:1"]), st.integers(0, 2)),
                max_size=5),
       st.lists(_counters, min_size=3, max_size=3))
def test_subtract_is_the_plain_difference_also_when_areas_share_one_counters_dict(
        plus_areas: list[tuple[str, int]], minus_areas: list[tuple[str, int]], shared: list[dict[str, int]]) -> None:
    # Areas pointing at the same dict, as `contributions` builds them, on either side.
    plus = {area: shared[i] for area, i in plus_areas}
    minus = {area: shared[i] for area, i in minus_areas}
    result = domain.subtract(plus, minus)
    assert result == _plain_subtract(plus, minus)
    assert not any(fields is counters for fields in result.values() for counters in shared)


def test_contributions_of_a_journey_are_the_ones_counted_one_event_at_a_time() -> None:
    views = [None, *(fold(journey()[:n]) for n in range(1, len(journey()) + 1))]
    total: domain.Delta = {}
    for before, after in zip(views, views[1:], strict=False):
        # total + change, written as total - (0 - change)
        total = _plain_subtract(total, _plain_subtract({}, domain.delta(before, after)))
    assert total == _plain_subtract(domain.contributions(views[-1]), {})


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["kab:17.02", "kec:17.02.06", "desa:17.02.06.2001", "sekolah:10700001"]),
                       st.integers(0, 2), max_size=4),
       st.lists(_counters, min_size=3, max_size=3))
def test_a_stored_delta_decodes_to_the_delta_with_shared_changes_stored_once(
        areas: dict[str, int], shared: list[dict[str, int]]) -> None:
    delta = {area: shared[i] for area, i in areas.items()}
    stored = encode_delta(delta)
    assert isinstance(stored, str) and decode_delta(stored) == delta
    assert len(json.loads(stored)) == len({id(fields) for fields in delta.values()})
    # Documents written by earlier versions hold the delta as a list of groups, or as JSON text of the delta.
    groups = [{"a": areas, "n": names, "v": values} for areas, names, values in json.loads(stored)]
    assert decode_delta(groups) == delta
    assert decode_delta(json.dumps(delta)) == delta


def test_a_wajib_ktp_date_from_a_week_before_the_roster_event_on_is_counted_per_day() -> None:
    from services.coverage.domain.counters import counted

    def names(wajib: dt.date) -> frozenset[str]:
        view = ResidentView("17.02.06", "17.02.06.2001", wajib_ktp_from=wajib, enrolled=True, active=True,
                            roster_at="2026-03-10T03:00:00+00:00")
        result = counted(view)
        assert result is not None
        assert not any(name.startswith("wajib_ktp_") for name in result.names)  # kept in the series document
        return result.series

    assert "wajib_ktp_hari.20270105" in names(dt.date(2027, 1, 5))
    assert "wajib_ktp_hari.20260303" in names(dt.date(2026, 3, 3))
    # Earlier than a week before the event: no question from the event's day on can ask for it.
    assert not any(n.startswith("wajib_ktp_hari") for n in names(dt.date(2026, 3, 2)))
    assert "wajib_ktp_minggu.w20260302" in names(dt.date(2026, 3, 2))


def test_this_weeks_turning_and_the_oldest_waiting_hour_come_from_the_buckets() -> None:
    days = {"20260302": 2, "20260304": 5, "20260309": 7, "20260228": 11}
    assert domain.sum_of_days(days, dt.date(2026, 3, 2), dt.date(2026, 3, 4)) == 7
    assert domain.sum_of_days(days, dt.date(2026, 3, 2), dt.date(2026, 3, 3)) == 2
    assert domain.oldest_hour({"2026022013": 0, "2026022107": 3, "2026030100": 1}) == "2026-02-21T07:00:00+00:00"
    assert domain.oldest_hour({"2026022013": 0}) is None
    view = ResidentView("17.02.06", "17.02.06.2001", wajib_ktp_from=dt.date(2000, 1, 1), enrolled=True, active=True,
                        roster_at="2026-03-10T03:00:00+00:00", prr_at="2026-03-11T00:00:00+00:00",
                        jobs={"j1": {"q": "2026-03-11T08:15:00+00:00"}})
    from services.coverage.domain.counters import counted

    result = counted(view)
    assert result is not None and "antre_cetak_jam.2026031108" in result.names


def test_a_school_is_named_by_its_latest_enrolment_that_names_it_and_kept_when_none_does() -> None:
    from services.coverage.projector import _schools

    def doc(npsn: str | None, name: str | None, at: str) -> dict[str, object]:
        return {"view": {"school_npsn": npsn, "school_name": name, "roster_at": at}}

    found = _schools([doc("101", "SMA A", "2026-03-01"), doc("101", "SMAN A", "2026-03-02"),
                      doc("101", None, "2026-03-03"), doc("202", None, "2026-03-01"), doc(None, "x", "2026-03-01")])
    assert found == {"101": ("2026-03-02", "SMAN A"), "202": None}


def test_the_stock_of_each_past_day_is_todays_less_the_changes_since() -> None:
    today = dt.date(2026, 3, 10)
    changes = {dt.date(2026, 3, 8): 50, dt.date(2026, 3, 9): -3, dt.date(2026, 3, 10): -2}
    days = [today - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
    assert domain.stock_by_day(45, changes, days) == [0, 50, 47, 45]


def test_an_areas_wajib_ktp_buckets_add_up_from_its_counter_and_its_series_document() -> None:
    from services.coverage.store import area_counters

    # A projection made before the series documents kept the buckets in the counter document.
    counters = {"_id": "kec:17.02.06", "kind": "kec", "code": "17.02.06", "terdaftar": 5,
                "wajib_ktp_minggu": {"w20260302": 3, "lama": 2}, "wajib_ktp_hari": {"20260303": 3},
                "direkam_minggu": {"w20260302": 1}}
    series = {"_id": domain.series_id("kec:17.02.06"), "kind": "wajib", "code": "kec:17.02.06",
              "wajib_ktp_minggu": {"w20260302": 1, "w20260309": 4}, "wajib_ktp_hari": {"20260303": -1}}
    area = area_counters(counters, series)
    assert area.weeks("wajib_ktp") == {"w20260302": 4, "lama": 2, "w20260309": 4}
    assert area.wajib_ktp_per_hari == {"20260303": 2}
    assert area.weeks("direkam") == {"w20260302": 1} and area.terdaftar == 5
    assert area_counters(counters).weeks("wajib_ktp") == {"w20260302": 3, "lama": 2}
