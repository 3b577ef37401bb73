// plotly.js with only the trace types the web lab draws (src/losslab/web, src/losslab/plot:
// go.Scatter, go.Bar, go.Contour, go.Heatmap, go.Scatter3d, go.Surface). scatter is in the
// core. tests/web/test_server.py checks this list against the figures' code.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/contour'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/scatter3d'),
    require('plotly.js/lib/surface'),
]);

module.exports = Plotly;
