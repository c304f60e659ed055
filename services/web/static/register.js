// The registration form checks the NIK while the clerk types, through the web app (intake's own rules),
// and shows the reason beside the field it concerns. Without JavaScript the form still works: the
// same reasons come back when it is submitted.
(function () {
  "use strict";
  var script = document.getElementById("register-script");
  var csrf = script ? script.getAttribute("data-csrf") : "";
  var form = document.getElementById("form-penduduk");
  if (!form) { return; }
  var nik = document.getElementById("nik");
  var birth = document.getElementById("birth_date");
  var region = document.getElementById("wilayah-nik");
  var timer = null;
  var asked = 0;
  var CHECKED = ["nik", "birth_date", "sex"];

  function sex() {
    var chosen = form.querySelector("input[name=sex]:checked");
    return chosen ? chosen.value : null;
  }

  function show(answer) {
    CHECKED.forEach(function (name) {
      var span = document.getElementById("alasan-" + name);
      if (span) { span.textContent = ""; span.parentElement.classList.remove("invalid"); }
    });
    (answer.errors || []).forEach(function (error) {
      var span = document.getElementById("alasan-" + error.field);
      if (span) { span.textContent = error.reason; span.parentElement.classList.add("invalid"); }
    });
    region.textContent = answer.sah && answer.wilayah_nik ? "NIK diterbitkan di " + answer.wilayah_nik : "";
  }

  function check() {
    var typed = nik.value.trim();
    if (!typed) { show({errors: []}); return; }
    var mine = ++asked;
    fetch("/penduduk/periksa-nik", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({nik: typed, birth_date: birth.value || null, sex: sex()})
    }).then(function (response) { return response.json(); })
      .then(function (answer) { if (mine === asked) { show(answer); } })
      .catch(function () { /* offline or the service away: the form's own submit still checks */ });
  }

  function soon() { clearTimeout(timer); timer = setTimeout(check, 250); }
  nik.addEventListener("input", soon);
  birth.addEventListener("change", soon);
  birth.addEventListener("input", soon);
  form.querySelectorAll("input[name=sex]").forEach(function (radio) { radio.addEventListener("change", soon); });
  if (nik.value) { soon(); }
}());
