// While an import runs, its page shows the progress every second and reloads once it has finished,
// to show the row errors. Without JavaScript the page can be reloaded by hand.
(function () {
  "use strict";
  var box = document.getElementById("kemajuan");
  if (!box || box.getAttribute("data-status") !== "berjalan") { return; }
  var job = box.getAttribute("data-job");
  function poll() {
    fetch("/impor/" + encodeURIComponent(job) + "/kemajuan", {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        document.getElementById("bar").value = state.progress_percent || 0;
        document.getElementById("persen").textContent = Math.round(state.progress_percent || 0);
        document.getElementById("diproses").textContent = state.processed;
        document.getElementById("diimpor").textContent = state.imported;
        if (state.status === "berjalan") { setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
}());
