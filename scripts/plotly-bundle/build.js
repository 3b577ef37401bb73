// esbuild settings of plotly.js's own build (its esbuild-config.js), minified, as one script
// that sets window.Plotly. The maplibre CSS that the core pulls in only for map traces is left
// out (the lab has none); plotly's own CSS is injected by its core at run time.
'use strict';

const path = require('path');
const esbuild = require('esbuild');

const version = require('plotly.js/package.json').version;
const out = process.argv[2];
const banner = `/**
* plotly.js v${version}, partial bundle for losslab: scatter, bar, contour, heatmap, scatter3d,
* surface (built by scripts/build_plotly_bundle.sh from scripts/plotly-bundle/entry.js)
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license (LICENSE.plotly.txt beside this file)
*/`;

esbuild
    .build({
        entryPoints: [path.join(__dirname, 'entry.js')],
        outfile: out,
        format: 'iife',
        globalName: 'Plotly',
        bundle: true,
        minify: true,
        sourcemap: false,
        banner: { js: banner },
        loader: { '.css': 'empty' },
        alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
        define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
        target: 'es2016',
        logLevel: 'warning',
    })
    .catch(() => process.exit(1));
