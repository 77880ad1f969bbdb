/* The inbox's enhancements: the metrics chart (Chart.js, served by Goodwill; data from a data
   attribute) and the saved-reply picker with its "be authentic" hint. No inline script: the
   CSP forbids it. Every action works without this file. */
(function () {
  "use strict";
  var holder = document.getElementById("inbox-data");
  var canvas = document.getElementById("chart-inbox");
  if (holder && canvas && typeof Chart !== "undefined") {
    var d = JSON.parse(holder.getAttribute("data-chart"));
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [{
          label: "conversations",
          data: d.values,
          backgroundColor: ["#e8713c", "#d4a017", "#2e9e5b"]
        }]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.dataset.ready = "1";
  }

  var picker = document.getElementById("template-picker");
  var form = document.getElementById("reply-form");
  if (picker && form) {
    var box = form.querySelector("textarea[name=text]");
    var warning = document.getElementById("template-warning");
    var chosen = null;
    function update() {
      // Warn while the text is the flagged template unchanged; editing it clears the warning.
      var flagged = chosen && chosen.getAttribute("data-flagged") === "1" &&
        box.value.trim() === chosen.getAttribute("data-text").trim();
      warning.hidden = !flagged;
      if (flagged) warning.querySelector(".n").textContent = chosen.getAttribute("data-sent");
    }
    picker.addEventListener("change", function () {
      chosen = picker.selectedOptions[0] && picker.value ? picker.selectedOptions[0] : null;
      if (chosen) box.value = chosen.getAttribute("data-text");
      update();
      box.focus();
    });
    box.addEventListener("input", update);
  }
})();
