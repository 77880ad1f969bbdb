/* Dashboard charts (Chart.js, served by Goodwill). Data comes from a data attribute; clicking a
   point opens the mentions behind it. No inline script anywhere: the CSP forbids it. */
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || typeof Chart === "undefined") return;
  var d = JSON.parse(holder.getAttribute("data-charts"));
  var palette = ["#e8713c", "#2f6fde", "#23734a", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4a017"];
  var sentimentColours = { negative: "#d64545", neutral: "#98a2b3", positive: "#2e9e5b", unknown: "#e4e7ec" };
  function nextDay(day) {
    var t = new Date(day + "T00:00:00Z");
    t.setUTCDate(t.getUTCDate() + 1);
    return t.toISOString().slice(0, 10);
  }
  function open(params) {
    var q = new URLSearchParams(params);
    window.location.href = d.mentions_url + "?" + q.toString();
  }
  var common = {
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "nearest", intersect: false },
    plugins: { legend: { position: "bottom" } }
  };
  var volume = document.getElementById("chart-volume");
  if (volume) {
    var vChart = new Chart(volume, {
      type: "line",
      data: {
        labels: d.days,
        datasets: d.volume.map(function (t, i) {
          return {
            label: t.topic, topicId: t.topic_id, tension: 0.25, pointRadius: 2,
            borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
            data: d.days.map(function (day) { return t.by_day[day] || 0; })
          };
        })
      },
      options: Object.assign({}, common, {
        onClick: function (evt) {
          var pts = vChart.getElementsAtEventForMode(evt, "nearest", { intersect: false }, true);
          if (!pts.length) return;
          var ds = vChart.data.datasets[pts[0].datasetIndex], day = d.days[pts[0].index];
          open({ topic: ds.topicId, since: day, until: day });
        }
      })
    });
    volume.dataset.ready = "1";
  }
  var sentiment = document.getElementById("chart-sentiment");
  if (sentiment) {
    var sChart = new Chart(sentiment, {
      type: "bar",
      data: {
        labels: d.days,
        datasets: d.sentiment.map(function (s) {
          return {
            label: s.label, backgroundColor: sentimentColours[s.label] || "#ccc",
            data: d.days.map(function (day) { return s.by_day[day] || 0; })
          };
        })
      },
      options: Object.assign({}, common, {
        scales: { x: { stacked: true }, y: { stacked: true } },
        onClick: function (evt) {
          var pts = sChart.getElementsAtEventForMode(evt, "nearest", { intersect: true }, true);
          if (!pts.length) return;
          var label = sChart.data.datasets[pts[0].datasetIndex].label, day = d.days[pts[0].index];
          var params = { since: day, until: day };
          if (label !== "unknown") params.sentiment = label;
          open(params);
        }
      })
    });
    sentiment.dataset.ready = "1";
  }
  var voice = document.getElementById("chart-voice");
  if (voice && d.share_of_voice.length) {
    var pChart = new Chart(voice, {
      type: "doughnut",
      data: {
        labels: d.share_of_voice.map(function (t) { return t.name; }),
        datasets: [{
          data: d.share_of_voice.map(function (t) { return t.mentions; }),
          backgroundColor: d.share_of_voice.map(function (_, i) { return palette[i % palette.length]; })
        }]
      },
      options: Object.assign({}, common, {
        onClick: function (evt) {
          var pts = pChart.getElementsAtEventForMode(evt, "nearest", { intersect: true }, true);
          if (!pts.length) return;
          open({ topic: d.share_of_voice[pts[0].index].id, since: d.days[0] });
        }
      })
    });
    voice.dataset.ready = "1";
  }
})();
