/* Small progressive enhancements; every page works without them. No inline script (CSP). */
(function () {
  "use strict";
  // Live stream: server-sent events announce new mentions; the reader chooses when to reload.
  var live = document.getElementById("live");
  if (live && window.EventSource) {
    var count = 0;
    var source = new EventSource(live.getAttribute("data-src"));
    source.addEventListener("mention", function () {
      count += 1;
      live.querySelector(".n").textContent = String(count);
      live.hidden = false;
    });
  }
})();
