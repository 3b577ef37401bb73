/* losslab web lab: 3-D graphs that turn together (the neural page's bowl and mountains).
 *
 * The server sends the figures once; here a requestAnimationFrame loop turns every graph's
 * camera about the vertical axis (at most 20 times a second, and not while both graphs are
 * scrolled out of sight), so no frame asks the server anything. A frame moves the WebGL view
 * only (plotly's gl3d scene.setViewport); Plotly.relayout on every frame made Dash re-render
 * the graphs each time and slowed a whole page to a few frames a second in headless chromium.
 * On pause, one relayout tells the layout where each camera is. One group of
 * graphs shares one state: both turn, both stop.
 * - The button (its Dash callback calls `spin`) pauses and plays; its label says which.
 * - A visitor who prefers reduced motion gets the graphs paused until they press Play.
 * - While the tab is hidden nothing runs; on return the turn goes on from where it was.
 * - A pointer, touch or wheel on a graph pauses the group (the visitor turns it their way);
 *   Play resumes from each graph's camera as the visitor left it.
 * Loaded after losslab.js (assets load in name order), whose window.losslab it extends.
 */
(function () {
  "use strict";

  var TURN_MS = 24000; // one full turn
  var FRAME_MS = 50; // the fastest camera update: 20 a second, each turn under a degree
  var MAX_STEP_MS = 100; // a late frame turns as if 100 ms had passed, never more
  var reduced = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  var groups = {}; // button id -> {ids, playing, raf, last, pauseText, playText}

  function plotDiv(id) {
    var host = document.getElementById(id);
    if (!host) return null;
    if (host.classList && host.classList.contains("js-plotly-plot")) return host;
    return host.querySelector(".js-plotly-plot");
  }

  // The scene's WebGL view (plotly.js's gl3d Scene), whose camera is the one on screen: a
  // visitor's drag moves it before the layout hears of it.
  function view(gd) {
    var scene = gd && gd._fullLayout && gd._fullLayout.scene;
    var gl = scene && scene._scene;
    return gl && typeof gl.getCamera === "function" && typeof gl.setViewport === "function"
      ? gl
      : null;
  }

  function camera(gd) {
    var gl = view(gd);
    return gl ? gl.getCamera().eye : null;
  }

  function setLabel(group) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(group.button, {
        children: group.playing ? group.pauseText : group.playText,
      });
    }
  }

  // The visitor's own hand on a graph: pause the group so the drag is theirs, not ours.
  function hook(gd, group) {
    if (gd.__llSpin === group) return;
    gd.__llSpin = group;
    var pause = function () {
      if (!group.playing) return;
      group.playing = false;
      halt(group);
      setLabel(group);
    };
    ["pointerdown", "touchstart", "wheel"].forEach(function (name) {
      gd.addEventListener(name, pause, { capture: true, passive: true });
    });
  }

  function inSight(gd) {
    var box = gd.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight && box.width > 0;
  }

  function halt(group) {
    if (group.raf) cancelAnimationFrame(group.raf);
    group.raf = 0;
    // The layout learns where the turning left each camera (one relayout per pause), so that
    // a redraw keeps it and a drag starts from it.
    group.ids.map(plotDiv).forEach(function (gd) {
      var gl = view(gd);
      if (!gl || !gd.__llTurned || !window.Plotly || !window.Plotly.relayout) return;
      gd.__llTurned = false;
      window.Plotly.relayout(gd, { "scene.camera": gl.getCamera() });
    });
  }

  function run(group) {
    if (group.raf || !group.playing || document.hidden) return;
    group.last = 0;
    group.raf = requestAnimationFrame(function (now) { tick(group, now); });
  }

  function tick(group, now) {
    group.raf = 0;
    if (!group.playing || document.hidden) return; // visibilitychange starts it again
    // The graphs' hosts gone: the visitor left the page, stop. Hosts without a plot yet
    // (plotly.js still loading, figures on their way): wait for them.
    if (group.ids.every(function (id) { return !document.getElementById(id); })) return;
    var gds = group.ids.map(plotDiv);
    var ready = gds.every(function (gd) { return gd && view(gd); });
    var again = function () {
      if (!group.raf) group.raf = requestAnimationFrame(function (t) { tick(group, t); });
    };
    if (!ready || (group.last && now - group.last < FRAME_MS)) {
      again(); // figures not drawn yet, or too soon
      return;
    }
    if (!gds.some(inSight)) {
      group.last = 0; // scrolled away: draw nothing, and turn on from here when back
      again();
      return;
    }
    var step = group.last ? (2 * Math.PI * Math.min(now - group.last, MAX_STEP_MS)) / TURN_MS : 0;
    group.last = now;
    gds.forEach(function (gd) {
      hook(gd, group);
      var gl = view(gd);
      var cam = gl.getCamera();
      var eye = cam.eye;
      var radius = Math.hypot(eye.x, eye.y);
      var angle = Math.atan2(eye.y, eye.x) + step;
      cam.eye = { x: radius * Math.cos(angle), y: radius * Math.sin(angle), z: eye.z };
      // The view alone, redrawn by the plot's own loop: no relayout (whose event would make
      // Dash re-render the graph on every frame); the layout hears of it on pause.
      gl.setViewport({ camera: cam, aspectratio: gl.glplot.getAspectratio() });
      gd.__llTurned = true;
    });
    again();
  }

  document.addEventListener("visibilitychange", function () {
    Object.keys(groups).forEach(function (key) {
      if (document.hidden) halt(groups[key]);
      else run(groups[key]);
    });
  });

  // Dash callback (figures arrived, or the button pressed): start, toggle, keep; returns the
  // button's label.
  function spin(ids, button, pauseText, playText) {
    var ctx = window.dash_clientside.callback_context;
    var triggered = (ctx && ctx.triggered) || [];
    var pressed = triggered.some(function (t) { return t.prop_id === button + ".n_clicks"; });
    var group = groups[button];
    if (!group) {
      group = groups[button] = {
        button: button,
        playing: !(reduced && reduced.matches),
        raf: 0,
        last: 0,
      };
    }
    group.ids = ids;
    group.pauseText = pauseText;
    group.playText = playText;
    if (pressed) group.playing = !group.playing;
    if (group.playing) run(group);
    else halt(group);
    return group.playing ? pauseText : playText;
  }

  window.losslab = window.losslab || {};
  window.losslab.spin = spin;
  window.losslab.spinning = function (button) {
    var group = groups[button];
    return !!(group && group.playing);
  };
})();
