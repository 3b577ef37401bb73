/* losslab web lab: figures on a phone. Below 700 px (the CSS's phone width) a figure that
 * carries a plan in layout.meta.narrow (made by losslab/web/figures.py: its panels top to
 * bottom, each with its axes or 3-D scene, a share of the height, the traces whose colour bar
 * it owns and its title) is drawn with its panels stacked full width, its colour bars lying
 * flat under their panels and small side margins. Dash hands every figure to Plotly.react;
 * this wraps Plotly.react so that the figure Dash keeps is never changed, only what is drawn,
 * and redraws every graph when the window crosses the phone width.
 */
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 700px)");
  // Pixels under a panel: its tick labels and axis title; a flat colour bar with its title; the
  // next panel's title.
  var AXIS_PX = 56;
  var SCENE_PX = 8;
  var BAR_PX = 74;
  var TITLE_PX = 28;
  var MARGIN = { l: 56, r: 8 };
  var FONT_PX = 11;
  var TITLE_FONT_PX = 13;
  // A panel of lines (losses per step) starts this far right of a map's left edge: room for its
  // own tick labels and title, which would otherwise widen the left margin of every panel.
  var LINES_INSET_PX = 44;

  function copy(value) {
    return value && typeof value === "object" ? Object.assign(Array.isArray(value) ? [] : {}, value) : {};
  }

  function measuredTop(gd) {
    var size = gd._fullLayout && gd._fullLayout._size;
    return size && gd.__llStacked ? size.t : 0;
  }

  // A legend above the plot: about two entries a row on a phone, 25 px a row.
  function legendPx(layout, data) {
    var legend = layout.legend || {};
    if (layout.showlegend === false || (legend.y !== undefined && legend.y < 0)) return 0;
    var entries = data.filter(function (t) { return t.showlegend !== false && t.name; }).length;
    return Math.ceil(entries / 2) * 25;
  }

  // Height/width of a map drawn one unit as long on both axes (null for any other panel).
  function aspect(layout, p) {
    if (p.scene) return null;
    var xa = layout[p.x] || {};
    var ya = layout[p.y] || {};
    if (!ya.scaleanchor || !xa.range || !ya.range) return null;
    var dx = Math.abs(xa.range[1] - xa.range[0]);
    var dy = Math.abs(ya.range[1] - ya.range[0]);
    return dx > 0 ? (dy / dx) * (ya.scaleratio || 1) : null;
  }

  // Each panel's px height: a map in a stack just its own (full width, one unit as long on both
  // axes: no blank band above and below it), the rest shared by the others; by share otherwise.
  function panelHeights(layout, panels, free, shares, gd) {
    var byShare = panels.map(function (p) { return (free * p.share) / shares; });
    if (panels.length < 2) return byShare;
    var width = Math.max((gd.clientWidth || 360) - MARGIN.l - MARGIN.r, 100);
    // 4% over: the paper may come out a little shorter than estimated (the legend's rows)
    var own = panels.map(function (p) {
      var a = aspect(layout, p);
      return a ? a * width * 1.04 : null;
    });
    var fixed = 0;
    var rest = 0;
    panels.forEach(function (p, i) {
      if (own[i] !== null) fixed += own[i];
      else rest += p.share;
    });
    if (fixed > free || rest === 0) return byShare; // maps only: each as tall as it may be
    return panels.map(function (p, i) {
      return own[i] !== null ? own[i] : ((free - fixed) * p.share) / rest;
    });
  }

  // The figure as a phone draws it: a new spec; `spec` is not touched.
  function stacked(gd, spec) {
    var plan = spec.layout.meta.narrow;
    var layout = copy(spec.layout);
    var data = (spec.data || []).slice();
    var height = gd.clientHeight || (gd.parentElement && gd.parentElement.clientHeight) || 600;
    var margin = copy(layout.margin);
    var panels = plan.panels;
    // The first panel's title sits below the mode bar (about 25 px at the top right).
    var top = Math.max(margin.t === undefined ? 56 : margin.t, panels[0].title !== null ? 56 : 0);
    var last = panels[panels.length - 1];
    var bottom = (last.scene ? SCENE_PX : AXIS_PX) + (last.bars.length ? BAR_PX : 0);
    var gaps = 0;
    panels.forEach(function (p, i) {
      if (i === panels.length - 1) return;
      gaps += (p.scene ? SCENE_PX : AXIS_PX) + (p.bars.length ? BAR_PX : 0);
      gaps += panels[i + 1].title !== null ? TITLE_PX : 8;
    });
    // The legend above widens the top margin once drawn: as it did last time, or as estimated.
    var pushed = Math.max(measuredTop(gd), top + legendPx(layout, data));
    var plot = Math.max(height - pushed - bottom, 100); // the paper's height in px
    var shares = panels.reduce(function (s, p) { return s + p.share; }, 0);
    var free = Math.max(plot - gaps, 60);
    var heights = panelHeights(layout, panels, free, shares, gd);
    var annotations = (layout.annotations || []).slice();
    var y = plot; // px from the paper's bottom, walking down
    panels.forEach(function (p, i) {
      if (i > 0) y -= p.title !== null ? TITLE_PX : 8;
      var h = heights[i];
      var domain = [Math.max((y - h) / plot, 0), Math.min(y / plot, 1)];
      if (p.scene) {
        var scene = copy(layout[p.scene]);
        scene.domain = { x: [0, 1], y: domain };
        layout[p.scene] = scene;
      } else {
        var xa = copy(layout[p.x]);
        var ya = copy(layout[p.y]);
        var width = Math.max((gd.clientWidth || 360) - MARGIN.l - MARGIN.r, 100);
        var lines = p.share < 1 && panels.length > 1;
        // Fixed margins (no automargin): the map keeps its width; smaller labels fit them.
        xa.automargin = false;
        ya.automargin = false;
        xa.domain = lines ? [Math.min(LINES_INSET_PX / width, 0.3), 1 - Math.min(18 / width, 0.1)] : [0, 1];
        ya.domain = domain;
        layout[p.x] = xa;
        layout[p.y] = ya;
      }
      if (p.title !== null && annotations[p.title]) {
        var note = copy(annotations[p.title]);
        note.x = 0.5;
        note.y = domain[1];
        note.yanchor = "bottom";
        note.font = Object.assign({}, note.font, { size: TITLE_FONT_PX }); // fits 370 px
        annotations[p.title] = note;
      }
      var below = (y - h - (p.scene ? SCENE_PX : AXIS_PX)) / plot;
      p.bars.forEach(function (index) {
        if (!data[index]) return;
        var trace = copy(data[index]);
        var bar = copy(trace.colorbar);
        var title = copy(bar.title);
        title.side = "top";
        bar.title = title;
        bar.orientation = "h";
        bar.x = 0.5;
        bar.xanchor = "center";
        bar.xref = "paper";
        bar.y = below;
        bar.yanchor = "top";
        bar.yref = "paper";
        bar.len = 0.9;
        bar.lenmode = "fraction";
        bar.thickness = 10;
        bar.ypad = 4;
        trace.colorbar = bar;
        data[index] = trace;
      });
      y -= h + (p.scene ? SCENE_PX : AXIS_PX) + (p.bars.length ? BAR_PX : 0);
    });
    if (annotations.length) layout.annotations = annotations;
    var legend = copy(layout.legend);
    if (legend.y !== undefined && legend.y < 0) {
      // A legend below the figure goes under the last flat colour bar (plotly widens the
      // bottom margin to hold it).
      legend.y = -bottom / plot;
      legend.yanchor = "top";
      layout.legend = legend;
    }
    var font = copy(layout.font);
    font.size = Math.min(font.size || 13, FONT_PX);
    layout.font = font;
    margin.l = MARGIN.l;
    margin.r = MARGIN.r;
    margin.t = top;
    margin.b = bottom;
    layout.margin = margin;
    layout.height = null; // the graph's box (its phone height in the CSS) decides
    layout.width = null;
    layout.autosize = true;
    return Object.assign({}, spec, { data: data, layout: layout });
  }

  function adapt(gd, spec) {
    var meta = spec && spec.layout && spec.layout.meta;
    if (!PHONE.matches || !meta || !meta.narrow || !meta.narrow.panels) return spec;
    try {
      return stacked(gd, spec);
    } catch (err) {
      return spec; // a plan that does not fit this figure: draw it as it came
    }
  }

  function wrap(Plotly) {
    if (!Plotly || Plotly.__llNarrow || typeof Plotly.react !== "function") return;
    var react = Plotly.react;
    Plotly.react = function (gd, spec) {
      if (arguments.length === 2 && spec && spec.data !== undefined && gd && gd.nodeType === 1) {
        gd.__llSpec = spec; // what Dash gave: redrawn as it is when the window widens again
        var drawn = adapt(gd, spec);
        var result = react.call(this, gd, drawn);
        gd.__llStacked = drawn !== spec; // its margins now say how tall the legend is
        return result;
      }
      return react.apply(this, arguments);
    };
    Plotly.__llNarrow = true;
  }

  if (window.Plotly) {
    wrap(window.Plotly);
  } else {
    // plotly.js arrives later (loaded on demand): wrap it the moment it is set.
    var held;
    Object.defineProperty(window, "Plotly", {
      configurable: true,
      enumerable: true,
      get: function () { return held; },
      set: function (value) { held = value; wrap(value); },
    });
  }

  function redrawAll() {
    var plots = document.querySelectorAll(".js-plotly-plot");
    Array.prototype.forEach.call(plots, function (gd) {
      if (gd.__llSpec && window.Plotly) window.Plotly.react(gd, gd.__llSpec);
    });
  }
  // After the new CSS has sized the graphs (next frame), so each is laid out in its new box.
  function redrawSoon() { window.requestAnimationFrame(redrawAll); }
  if (PHONE.addEventListener) PHONE.addEventListener("change", redrawSoon);
  else if (PHONE.addListener) PHONE.addListener(redrawSoon);
})();
