// Jemput bola in the field: visits and outcomes live in IndexedDB on the device, so the page works with
// no connection, survives a reload or a closed tab, and sends each outcome once when the connection is
// back. Ids are made on the device (crypto.randomUUID), so a repeated send is answered "duplikat".
(function () {
  "use strict";
  var root = document.getElementById("lapangan");
  if (!root) { return; }
  var DB_NAME = "ektp-lapangan";
  var OPERATOR = root.getAttribute("data-pengguna");
  var WIPE_DAYS = Number(root.getAttribute("data-hapus-hari")) || 7;
  var BIOMETRICS = ["foto", "sidik_jari", "iris", "tanda_tangan"];
  var FAILURES = ["sidik jari tidak terbaca", "iris tidak terbaca", "alat perekaman rusak", "listrik padam"];
  var MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
                "November", "Desember"];
  var OUTCOME_NAMES = {captured: "direkam", failed: "gagal", absent: "tidak hadir"};
  var CHUNK = 500;
  var db = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function open() {
    var req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = function () {
      var d = req.result;
      d.createObjectStore("kunjungan", {keyPath: "visit_id"});
      var events = d.createObjectStore("kejadian", {keyPath: "event_id"});
      events.createIndex("visit_id", "visit_id");
      d.createObjectStore("perangkat");
    };
    return request(req);
  }
  function store(name, mode) { return db.transaction(name, mode || "readonly").objectStore(name); }
  function all(name) { return request(store(name).getAll()); }
  function put(name, value, key) { return request(key === undefined ? store(name, "readwrite").put(value) : store(name, "readwrite").put(value, key)); }
  function remove(name, key) { return request(store(name, "readwrite").delete(key)); }

  function say(text) { document.getElementById("pesan-lapangan").textContent = text; }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function deviceId() {
    return request(store("perangkat").get("device_id")).then(function (found) {
      if (found) { return found; }
      var made = "perangkat-" + crypto.randomUUID().slice(0, 12);
      return put("perangkat", made, "device_id").then(function () { return made; });
    });
  }

  function showNetwork() {
    var pill = document.getElementById("jaringan");
    pill.textContent = navigator.onLine ? "daring" : "luring (tanpa sinyal)";
    pill.className = "pill " + (navigator.onLine ? "on" : "off");
  }

  function pendingEvents() {
    return all("kejadian").then(function (events) { return events.filter(function (e) { return !e.hasil; }); });
  }

  function render() {
    return Promise.all([all("kunjungan"), all("kejadian")]).then(function (found) {
      var visits = found[0], events = found[1];
      document.getElementById("menunggu").textContent = events.filter(function (e) { return !e.hasil; }).length;
      var box = document.getElementById("kunjungan-perangkat");
      box.textContent = "";
      visits.forEach(function (visit) { box.appendChild(visitPanel(visit, events)); });
    });
  }

  function latestFor(events, visitId, residentId) {
    var mine = events.filter(function (e) { return e.visit_id === visitId && e.payload.resident_id === residentId; });
    mine.sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    return mine[mine.length - 1];
  }

  function answerText(event) {
    if (!event) { return ""; }
    if (!event.hasil) { return "menunggu dikirim"; }
    return event.hasil + (event.alasan ? ": " + event.alasan : "");
  }

  function visitPanel(visit, events) {
    var panel = document.getElementById("tpl-kunjungan").content.firstElementChild.cloneNode(true);
    panel.setAttribute("data-visit", visit.visit_id);
    panel.querySelector(".judul").textContent = "Kunjungan " + visit.visit_id + " · " + placeName(visit) + " · " + longDate(visit.date);
    var body = panel.querySelector(".targets tbody");
    visit.target_rinci.forEach(function (target) {
      var last = latestFor(events, visit.visit_id, target.resident_id);
      var row = el("tr");
      row.setAttribute("data-resident", target.resident_id);
      row.appendChild(el("td", target.nama || target.resident_id, "l"));
      row.appendChild(el("td", target.desa_nama || "-", "l"));
      row.appendChild(el("td", last ? OUTCOME_NAMES[last.payload.kind] : "-", "l hasil"));
      row.appendChild(el("td", answerText(last), "l jawaban"));
      var actions = el("td", null, "l");
      if (!last || !last.hasil) {
        actions.appendChild(button("Rekam", "rekam", function () { record(visit, target, "captured"); }));
        var reason = el("select", null, "alasan-gagal");
        FAILURES.forEach(function (text) { var o = el("option", text); o.value = text; reason.appendChild(o); });
        actions.appendChild(reason);
        actions.appendChild(button("Gagal", "gagal", function () { record(visit, target, "failed", reason.value); }));
        actions.appendChild(button("Tidak hadir", "absen", function () { record(visit, target, "absent"); }));
      }
      row.appendChild(actions);
      body.appendChild(row);
    });
    var walkIns = panel.querySelector(".walk-ins tbody");
    events.filter(function (e) { return e.visit_id === visit.visit_id && e.payload.walk_in; }).forEach(function (e) {
      var row = el("tr");
      row.appendChild(el("td", e.payload.walk_in.name, "l"));
      row.appendChild(el("td", answerText(e), "l jawaban"));
      walkIns.appendChild(row);
    });
    panel.querySelector(".form-walk-in").addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      var form = submitted.target;
      var nik = form.nik.value.replace(/[\s.-]/g, "");
      if (!/^\d{16}$/.test(nik)) { say("NIK walk-in harus 16 angka."); return; }
      save(visit, {kind: "captured", walk_in: {nik: nik, name: form.name.value.trim(), desa_code: form.desa_code.value},
                   biometrics: BIOMETRICS}).then(function () { form.reset(); say("Walk-in disimpan di perangkat."); });
    });
    panel.querySelector(".tutup").addEventListener("click", function () { closeVisit(visit); });
    return panel;
  }

  function longDate(iso) {
    var parts = String(iso).split("-");
    return parts.length === 3 ? Number(parts[2]) + " " + MONTHS[Number(parts[1]) - 1] + " " + parts[0] : iso;
  }

  function placeName(visit) {
    var option = document.querySelector("#tpl-kunjungan");
    var found = option && option.content.querySelector("option[value='" + visit.place_code + "']");
    var kind = {desa: "desa", rumah: "kunjungan rumah", sekolah: "sekolah NPSN", kantor_kecamatan: "kantor kecamatan"};
    return found ? found.textContent : (kind[visit.kind] || visit.kind) + " " + visit.place_code;
  }

  function button(text, cls, action) {
    var b = el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", action);
    return b;
  }

  function save(visit, fields) {
    var event = {event_id: crypto.randomUUID(), visit_id: visit.visit_id, created_at: new Date().toISOString(),
                 hasil: null, alasan: null,
                 payload: Object.assign({visit_id: visit.visit_id, device_time: new Date().toISOString(),
                                         operator: OPERATOR}, fields)};
    event.payload.event_id = event.event_id;
    return put("kejadian", event).then(render);
  }

  function record(visit, target, kind, reason) {
    return all("kejadian").then(function (events) {
      var last = latestFor(events, visit.visit_id, target.resident_id);
      var replaced = last && !last.hasil ? remove("kejadian", last.event_id) : Promise.resolve();
      var fields = {kind: kind, resident_id: target.resident_id};
      if (kind === "captured") { fields.biometrics = BIOMETRICS; }
      if (kind === "failed") { fields.reason = reason; }
      return replaced.then(function () { return save(visit, fields); });
    });
  }

  function csrf() {
    return fetch("/lapangan/api/sesi", {credentials: "same-origin"}).then(function (response) {
      if (response.status === 401 || response.redirected) { throw new Error("sesi"); }
      return response.json();
    }).then(function (body) { return body.csrf; });
  }

  function sync() {
    return pendingEvents().then(function (waiting) {
      if (!waiting.length) { say("Tidak ada yang perlu dikirim."); return null; }
      if (!navigator.onLine) { say("Tidak ada sinyal: " + waiting.length + " kejadian tetap tersimpan di perangkat."); return null; }
      return Promise.all([csrf(), deviceId()]).then(function (got) {
        var chunks = [];
        for (var i = 0; i < waiting.length; i += CHUNK) { chunks.push(waiting.slice(i, i + CHUNK)); }
        return chunks.reduce(function (done, chunk) {
          return done.then(function () { return send(chunk, got[0], got[1]); });
        }, Promise.resolve());
      }).then(function () { say("Terkirim. Jawaban server ada di setiap baris."); });
    }).catch(function (error) {
      say(error && error.message === "sesi" ? "Sesi berakhir: masuk lagi untuk mengirim (data tetap di perangkat)."
                                             : "Gagal mengirim; data tetap di perangkat. Coba lagi.");
    }).then(render);
  }

  function send(chunk, token, device) {
    return fetch("/lapangan/api/kirim", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
      body: JSON.stringify({device_id: device, events: chunk.map(function (e) { return e.payload; })})
    }).then(function (response) {
      if (!response.ok) { return response.json().then(function (b) { throw new Error(b.detail || "gagal"); }); }
      return response.json();
    }).then(function (answer) {
      var byId = {};
      chunk.forEach(function (e) { byId[e.event_id] = e; });
      return Promise.all(answer.hasil.map(function (result) {
        var event = byId[result.event_id];
        if (!event) { return null; }
        event.hasil = result.hasil;
        event.alasan = result.alasan;
        return put("kejadian", event);
      }));
    });
  }

  function closeVisit(visit) {
    return pendingEvents().then(function (waiting) {
      if (waiting.some(function (e) { return e.visit_id === visit.visit_id; })) {
        say("Kirim dulu kejadian yang menunggu, lalu tutup kunjungan.");
        return null;
      }
      return csrf().then(function (token) {
        return fetch("/lapangan/api/kunjungan/" + encodeURIComponent(visit.visit_id) + "/tutup", {
          method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": token}});
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { say("Kunjungan belum ditutup: " + (body.detail || response.status)); return null; }
          return wipe(visit.visit_id).then(function () {
            say("Kunjungan ditutup; " + (body.no_shows || []).length + " target pindah ke kunjungan berikutnya. " +
                "Data kunjungan ini sudah dihapus dari perangkat.");
          });
        });
      });
    }).catch(function () { say("Kunjungan hanya bisa ditutup saat daring."); }).then(render);
  }

  function wipe(visitId) {
    return all("kejadian").then(function (events) {
      return Promise.all(events.filter(function (e) { return e.visit_id === visitId; })
        .map(function (e) { return remove("kejadian", e.event_id); }));
    }).then(function () { return remove("kunjungan", visitId); });
  }

  function wipeOld() {
    var limit = Date.now() - WIPE_DAYS * 86400000;
    return Promise.all([all("kunjungan"), pendingEvents()]).then(function (found) {
      return Promise.all(found[0].filter(function (v) {
        var waiting = found[1].some(function (e) { return e.visit_id === v.visit_id; });
        return Date.parse(v.downloaded_at) < limit && !waiting;
      }).map(function (v) { return wipe(v.visit_id); }));
    });
  }

  function loadServerVisits() {
    var list = document.getElementById("daftar-server");
    if (!navigator.onLine) { list.textContent = ""; list.appendChild(el("li", "Luring: daftar kunjungan dimuat saat ada sinyal.", "help")); return; }
    fetch("/lapangan/api/kunjungan", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (body) {
      list.textContent = "";
      (body.kunjungan || []).forEach(function (visit) {
        var item = el("li", visit.visit_id + " · " + placeName(visit) + " · " + longDate(visit.date) + " · " + visit.state + " ");
        item.setAttribute("data-visit", visit.visit_id);
        item.appendChild(button("Unduh", "unduh", function () { download(visit.visit_id); }));
        list.appendChild(item);
      });
      if (!list.children.length) { list.appendChild(el("li", "Belum ada kunjungan terjadwal.", "help")); }
    }).catch(function () { list.textContent = ""; list.appendChild(el("li", "Daftar kunjungan tidak dapat dimuat.", "help")); });
  }

  function download(visitId) {
    fetch("/lapangan/api/kunjungan/" + encodeURIComponent(visitId), {credentials: "same-origin"}).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { say("Kunjungan tidak dapat diunduh: " + (body.detail || response.status)); return null; }
        body.downloaded_at = new Date().toISOString();
        return put("kunjungan", body).then(function () { say("Kunjungan " + visitId + " tersimpan di perangkat."); });
      });
    }).catch(function () { say("Kunjungan tidak dapat diunduh: periksa sinyal."); }).then(render);
  }

  window.addEventListener("online", function () { showNetwork(); loadServerVisits(); });
  window.addEventListener("offline", showNetwork);
  document.getElementById("kirim").addEventListener("click", sync);
  if ("serviceWorker" in navigator) { navigator.serviceWorker.register("/lapangan/sw.js", {scope: "/lapangan/"}); }
  open().then(function (opened) { db = opened; return wipeOld(); }).then(function () {
    showNetwork();
    loadServerVisits();
    return render();
  }).then(function () { root.setAttribute("data-siap", "1"); });
}());
