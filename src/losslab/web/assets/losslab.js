/* losslab web lab: exact click coordinates and the trajectory animation player.
 *
 * Nothing here computes a loss: the server sends the full data of an animation (a "spec",
 * see losslab/web/animation.py) and the player only reveals it frame by frame with
 * Plotly.animate(..., {redraw: false}) in a requestAnimationFrame loop, updating the live
 * scoreboard as it goes. Served from /assets by Dash; no request leaves the page's origin.
 */
(function () {
  "use strict";

  var players = {}; // graph id -> the player now running on it

  function plotDiv(graphId) {
    var host = document.getElementById(graphId);
    if (!host) return null;
    if (host.classList && host.classList.contains("js-plotly-plot")) return host;
    return host.querySelector(".js-plotly-plot");
  }

  /* -- exact clicks ---------------------------------------------------------------------- */
  // Plotly reports a click on a heatmap at the centre of the cell under the pointer. The
  // start of a descent should be where the user clicked, so the pointer position is recorded
  // at pointerdown and converted with the axes of the subplot it fell in.

  function pointerToData(gd, event) {
    var layout = gd._fullLayout;
    var now = Date.now();
    if (!layout || !layout._plots) return { subplot: null, t: now };
    var rect = gd.getBoundingClientRect();
    var px = event.clientX - rect.left;
    var py = event.clientY - rect.top;
    for (var id in layout._plots) {
      var sp = layout._plots[id];
      var xa = sp.xaxis;
      var ya = sp.yaxis;
      if (!xa || !ya || !xa.p2d || !ya.p2d) continue;
      var u = px - xa._offset;
      var v = py - ya._offset;
      if (u >= 0 && u <= xa._length && v >= 0 && v <= ya._length) {
        return { subplot: id, x: xa.p2d(u), y: ya.p2d(v), t: now };
      }
    }
    return { subplot: null, t: now };
  }

  document.addEventListener(
    "pointerdown",
    function (event) {
      var target = event.target;
      var gd = target && target.closest ? target.closest(".js-plotly-plot") : null;
      if (gd) gd.__llPointer = pointerToData(gd, event);
    },
    true
  );

  function click(clickData, graphId, subplot) {
    var none = window.dash_clientside.no_update;
    if (!clickData || !clickData.points || !clickData.points.length) return none;
    var gd = plotDiv(graphId);
    var rec = gd ? gd.__llPointer : null;
    if (gd) gd.__llPointer = null;
    if (rec && Date.now() - rec.t < 10000 && rec.subplot !== null) {
      // A click on another panel (e.g. the losses) is not a start; "*" takes any panel.
      if (subplot !== "*" && rec.subplot !== subplot) return none;
      if (typeof rec.x !== "number" || typeof rec.y !== "number") return none;
      return { x: rec.x, y: rec.y, at: Date.now() };
    }
    var pt = clickData.points[0]; // 3-D surfaces: the vertex that was clicked
    if (typeof pt.x !== "number" || typeof pt.y !== "number") return none;
    return { x: pt.x, y: pt.y, at: Date.now() };
  }

  /* -- the animation player -------------------------------------------------------------- */

  function pick(track, f) {
    var role = track.role;
    var out;
    if (role === "segment") {
      var s = Math.max(0, Math.min(f, track.x0.length - 1));
      return { x: [track.x0[s], track.x1[s]], y: [track.y0[s], track.y1[s]] };
    }
    var n = track.x.length;
    if (role === "path") {
      var m = Math.max(1, Math.min(f + 1, n));
      out = { x: track.x.slice(0, m), y: track.y.slice(0, m) };
      if (track.z) out.z = track.z.slice(0, m);
    } else if (role === "end") {
      // Hidden as one missing point: animate ignores a change to an empty array.
      var shown = f >= (track.n || n) - 1;
      out = { x: shown ? track.x : [null], y: shown ? track.y : [null] };
      if (track.z) out.z = shown ? track.z : [null];
    } else {
      var i = Math.max(0, Math.min(f, n - 1));
      out = { x: [track.x[i]], y: [track.y[i]] };
      if (track.z) out.z = [track.z[i]];
    }
    return out;
  }

  function drawFrame(gd, spec, f) {
    var traces = spec.tracks.map(function (t) { return t.index; });
    var data = spec.tracks.map(function (t) { return pick(t, f); });
    if (spec.mode === "3d") {
      var update = {
        x: data.map(function (d) { return d.x; }),
        y: data.map(function (d) { return d.y; }),
        z: data.map(function (d) { return d.z || []; }),
      };
      return window.Plotly.restyle(gd, update, traces);
    }
    return window.Plotly.animate(
      gd,
      { data: data, traces: traces },
      { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" }
    );
  }

  function fmt(v) {
    if (v === null || v === undefined || typeof v !== "number" || !isFinite(v)) return "\u2013";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Build the board once per board object, then only change texts. Two layouts: a table
  // (one row per run, for races) or cards (one block per run, for a side panel).
  function buildBoard(host, board) {
    host.textContent = "";
    var fields = ["step"].concat(board.titles, ["status"]);
    var cells;
    if (board.layout === "cards") {
      cells = board.rows.map(function (row) {
        var card = el("div", "ll-runcard");
        var title = el("div", "ll-run");
        var swatch = el("span", "ll-swatch");
        swatch.style.background = row.colour;
        title.appendChild(swatch);
        title.appendChild(el("span", null, row.label));
        card.appendChild(title);
        var dl = el("dl", "ll-readout");
        var tds = fields.map(function (name, c) {
          dl.appendChild(el("dt", null, name));
          var dd = el("dd", c === fields.length - 1 ? "ll-status" : "ll-num");
          dl.appendChild(dd);
          return dd;
        });
        card.appendChild(dl);
        host.appendChild(card);
        return tds;
      });
    } else {
      var table = el("table", "ll-table");
      var head = el("tr");
      ["run"].concat(fields).forEach(function (t) { head.appendChild(el("th", null, t)); });
      var thead = el("thead");
      thead.appendChild(head);
      table.appendChild(thead);
      var body = el("tbody");
      cells = board.rows.map(function (row) {
        var tr = el("tr");
        var name = el("td", "ll-run");
        var swatch = el("span", "ll-swatch");
        swatch.style.background = row.colour;
        name.appendChild(swatch);
        name.appendChild(el("span", null, row.label));
        tr.appendChild(name);
        var tds = fields.map(function (_, c) {
          var td = el("td", c === fields.length - 1 ? "ll-status" : "ll-num");
          tr.appendChild(td);
          return td;
        });
        body.appendChild(tr);
        return tds;
      });
      table.appendChild(body);
      host.appendChild(table);
    }
    var banner = el("div", "ll-banner");
    host.appendChild(banner);
    host.__llBoard = board;
    host.__llCells = cells;
    host.__llBanner = banner;
  }

  function renderBoard(board, f, playing) {
    if (!board) return;
    var host = document.getElementById(board.id);
    if (!host) return;
    if (host.__llBoard !== board) buildBoard(host, board);
    var last = 0;
    board.rows.forEach(function (row, r) {
      var tds = host.__llCells[r];
      var s = Math.max(0, Math.min(f, row.n - 1));
      last = Math.max(last, row.n - 1);
      tds[0].textContent = String(s);
      row.values.forEach(function (column, c) {
        tds[c + 1].textContent = fmt(column[s]);
      });
      var status = f >= row.n - 1 ? row.final : playing ? "running\u2026" : "paused";
      if (row.reached !== null && row.reached !== undefined && f >= row.reached) {
        status = "reached the minimum at step " + row.reached;
      }
      var cell = tds[tds.length - 1];
      cell.textContent = status;
      cell.className = "ll-status" + (row.diverged && f >= row.n - 1 ? " ll-bad" : "");
    });
    var b = board.banner;
    var show = b && f >= (b.step === null || b.step === undefined ? last : b.step);
    host.__llBanner.textContent = show ? b.text : "";
    host.__llBanner.style.display = show ? "block" : "none";
  }

  function stop(graphId) {
    var player = players[graphId];
    if (player) player.alive = false;
    delete players[graphId];
  }

  function start(spec, from) {
    stop(spec.graph);
    var player = { alive: true };
    players[spec.graph] = player;
    var last = spec.n_frames - 1;
    var waitedSince = performance.now();

    function finish() {
      if (!player.alive) return;
      delete players[spec.graph];
      if (spec.on_done && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(spec.on_done.store, { data: spec.on_done.data });
      }
    }

    function begin() {
      if (!player.alive) return;
      var gd = plotDiv(spec.graph);
      var ready =
        gd && gd._fullLayout && gd.layout && gd.layout.datarevision === spec.token;
      if (!ready && performance.now() - waitedSince < 3000) {
        window.requestAnimationFrame(begin);
        return;
      }
      if (!gd) return;
      var t0 = null;
      var shown = -1;
      var busy = false;
      var span = Math.max(1, last - from);
      function tick(now) {
        if (!player.alive || !gd.isConnected) return;
        if (t0 === null) t0 = now;
        var f = Math.min(last, from + Math.floor(((now - t0) / spec.duration_ms) * span));
        if (f !== shown && !busy) {
          busy = true;
          shown = f;
          renderBoard(spec.board, f, f < last);
          Promise.resolve(drawFrame(gd, spec, f)).then(
            function () { busy = false; },
            function () { busy = false; }
          );
        }
        if (shown < last || busy) window.requestAnimationFrame(tick);
        else finish();
      }
      window.requestAnimationFrame(tick);
    }
    begin();
  }

  function play(nClicks, spec) {
    var none = window.dash_clientside.no_update;
    if (!spec || !spec.graph || !spec.tracks) return none;
    var ctx = window.dash_clientside.callback_context;
    var triggered = (ctx && ctx.triggered) || [];
    var byButton = triggered.some(function (t) {
      return t.prop_id && t.prop_id.slice(-9) === ".n_clicks";
    });
    if (byButton) {
      if (spec.on_start && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(spec.on_start.id, spec.on_start.props);
      }
      start(spec, spec.run_from || 0);
    } else if (spec.autoplay) {
      start(spec, 0);
    } else {
      stop(spec.graph);
      renderBoard(spec.board, spec.frame, false);
    }
    return none;
  }

  function rateText(exponent, name) {
    if (typeof exponent !== "number" || !isFinite(exponent)) return "";
    return (name || "lr") + " = " + String(Number(Math.pow(10, exponent).toPrecision(3)));
  }

  /* -- inputs that never get stuck ------------------------------------------------------- */

  // A field's - / + buttons: step from what is typed (or from `fallback` when that is not a
  // number), round to a whole number and clamp to [low, high]. Never returns an empty field.
  function step(typed, delta, low, high, fallback) {
    var n = Number(String(typed === null || typed === undefined ? "" : typed).trim());
    if (String(typed).trim() === "" || !isFinite(n)) n = fallback;
    n = Math.round(n) + delta;
    return String(Math.max(low, Math.min(high, n)));
  }

  // A slider's settled value: every move (a drag, each arrow-key press) restarts a short
  // timer; only the value that stays put for `waitMs` reaches the store that drives the server
  // callback. A value equal to the store's (set by the server itself) is not sent back.
  var timers = {};
  function settle(value, current, storeId, waitMs) {
    var none = window.dash_clientside.no_update;
    clearTimeout(timers[storeId]);
    if (value === current || value === null || value === undefined) return none;
    timers[storeId] = setTimeout(function () {
      window.dash_clientside.set_props(storeId, { data: value });
    }, waitMs);
    return none;
  }

  // The race's per-optimizer rates: {name: exponent} from a pattern-matched list of sliders.
  function settleRates(values, current, storeId, waitMs) {
    var ctx = window.dash_clientside.callback_context;
    var ids = (ctx.inputs_list && ctx.inputs_list[0]) || [];
    var rates = {};
    ids.forEach(function (item, i) { rates[item.id.name] = values[i]; });
    var same = current && Object.keys(rates).every(function (k) { return current[k] === rates[k]; });
    return settle(same ? current : rates, current, storeId, waitMs);
  }

  // The server's rates (a new surface resets them) into the sliders; a slider already there
  // is left alone, so settleRates sees no change and sends nothing back.
  function ratesToSliders(rates) {
    var none = window.dash_clientside.no_update;
    var ctx = window.dash_clientside.callback_context;
    var ids = (ctx.outputs_list || []).map(function (o) { return o.id.name; });
    return ids.map(function (name) {
      return rates && typeof rates[name] === "number" ? rates[name] : none;
    });
  }

  // Show a rate's row only while its optimizer is ticked.
  function shownRows(chosen) {
    var ctx = window.dash_clientside.callback_context;
    var ids = (ctx.outputs_list || []).map(function (o) { return o.id.name; });
    var ticked = chosen || [];
    return ids.map(function (name) {
      return ticked.indexOf(name) >= 0 ? { display: "block" } : { display: "none" };
    });
  }

  // A typed expression: a live "n / limit characters" count under the field, and a warning
  // when a paste was longer than the field takes (the browser cuts it at maxLength).
  function countFor(input) {
    var row = input.closest(".ll-control, .ll-expression");
    return row ? row.querySelector(".ll-count") : null;
  }
  function showCount(input, pastedTooLong) {
    var count = countFor(input);
    if (!count) return;
    var limit = input.maxLength > 0 ? input.maxLength : 0;
    if (pastedTooLong) {
      count.textContent =
        "The pasted text had " + pastedTooLong + " characters; the field takes at most " +
        limit + ", so its end was cut off. Shorten the formula.";
      count.className = "ll-count ll-too-long";
    } else {
      count.textContent = input.value.length + " / " + limit + " characters";
      count.className = "ll-count";
    }
  }
  // dcc.Input puts its className on a wrapper of the <input>.
  function counted(t) {
    return !!(t && t.tagName === "INPUT" && t.closest && t.closest(".ll-counted"));
  }
  document.addEventListener("input", function (event) {
    if (counted(event.target)) showCount(event.target, 0);
  }, true);
  document.addEventListener("paste", function (event) {
    var t = event.target;
    if (!counted(t)) return;
    var text = (event.clipboardData && event.clipboardData.getData("text")) || "";
    var kept = t.value.length - (t.selectionEnd - t.selectionStart);
    var total = kept + text.length;
    if (t.maxLength > 0 && total > t.maxLength) {
      setTimeout(function () { showCount(t, total); }, 0);
    }
  }, true);

  /* -- quiz answers in a per-visit order --------------------------------------------------- */
  // The server sends each question's options in their written order, value = the option's
  // index (what grading uses). The browser shuffles the order it shows, from one seed per
  // visit (window.__llQuizSeed when a test sets it), so that the right answer is not always
  // in the same place; the values, and so the grading and the explanations, do not change.

  var quizSeed =
    typeof window.__llQuizSeed === "number"
      ? window.__llQuizSeed
      : Math.floor(Math.random() * 4294967296);

  function mulberry32(a) {
    return function () {
      a = (a + 0x6d2b79f5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function hashText(text) {
    var h = 2166136261;
    for (var i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h >>> 0;
  }

  // Returns [options, className]: the options are hidden (ll-unshuffled) until shuffled, so
  // that no click lands on an answer that moves under the pointer a moment later.
  function shuffleOptions(id, options) {
    if (!Array.isArray(options) || !id) return [window.dash_clientside.no_update, "ll-options"];
    var random = mulberry32((quizSeed ^ hashText(String(id.page) + "/" + String(id.q))) >>> 0);
    var order = options.slice();
    for (var i = order.length - 1; i > 0; i--) {
      var j = Math.floor(random() * (i + 1));
      var swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return [order, "ll-options"];
  }

  window.losslab = {
    click: click,
    play: play,
    rateText: rateText,
    plotDiv: plotDiv,
    step: step,
    settle: settle,
    settleRates: settleRates,
    ratesToSliders: ratesToSliders,
    shownRows: shownRows,
    shuffleOptions: shuffleOptions,
  };
})();
