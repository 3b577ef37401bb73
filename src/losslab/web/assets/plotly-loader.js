/* plotly.js for the lab: assets/vendor/plotly-lab.min.js, a partial bundle with only the trace
 * types the lab draws (1.7 MB against 4.8 MB; scripts/build_plotly_bundle.sh builds it).
 *
 * Dash's graph component loads plotly.js itself, late (once the first graph renders) and in
 * full, unless window.Plotly is already set; when it is a promise, the graph waits for it. So
 * this script, which runs before Dash's renderer, starts the small bundle downloading at once,
 * in parallel with the page's first requests, and sets window.Plotly to a promise that the
 * bundle then replaces with plotly itself (it declares the global `Plotly`). The full bundle is
 * never requested.
 */
(function () {
  "use strict";
  if (window.Plotly) return;
  var config = document.getElementById("_dash-config");
  var prefix = (config && JSON.parse(config.textContent).requests_pathname_prefix) || "/";
  var script = document.createElement("script");
  script.src = prefix + "assets/vendor/plotly-lab.min.js";
  script.async = true;
  window.Plotly = new Promise(function (resolve, reject) {
    script.onload = function () {
      resolve(window.Plotly);
    };
    script.onerror = function () {
      reject(new Error("plotly.js did not load from " + script.src));
    };
  });
  function load() {
    if (!script.parentNode) document.head.appendChild(script);
  }
  // The home page has no graph: its cards first, then plotly.js while the visitor reads (by
  // 1 s at the latest, so a lesson opened at once waits little). Every other page: now.
  if (location.pathname === prefix) {
    var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 200); };
    idle(load, { timeout: 1000 });
  } else {
    load();
  }
})();
