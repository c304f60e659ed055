// A "Cetak" button prints the page (the navigation and forms are left out by the print style).
document.querySelectorAll("[data-print]").forEach(function (button) {
  "use strict";
  button.addEventListener("click", function () { window.print(); });
});
