// Shows whether the server answering this page is healthy (GET /health).
(function () {
  "use strict";

  function show(text, state) {
    var badge = document.getElementById("health");
    if (!badge) {
      return;
    }
    badge.textContent = text;
    badge.className = "badge badge-" + state;
  }

  document.addEventListener("DOMContentLoaded", function () {
    fetch("/health", { cache: "no-store" })
      .then(function (response) {
        if (response.ok) {
          show("healthy", "ok");
        } else {
          show("unhealthy (HTTP " + response.status + ")", "bad");
        }
      })
      .catch(function () {
        show("unreachable", "bad");
      });
  });
})();
