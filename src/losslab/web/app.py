"""The Dash application: `create_app()` builds it, registers every page's callbacks and the
router, and returns it. Nothing happens at import.

    from losslab.web import create_app
    create_app().run(host="127.0.0.1", port=8050, debug=False)

Offline by construction: plotly.js, Dash's renderer and the lab's CSS/JS are served from this
server (`serve_locally=True`, no external scripts or stylesheets); run it with `debug=False`,
since Dash's dev tools would call out to a version-check host.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dash import Dash, Input, Output, dcc, html

from losslab._version import __version__
from losslab.web.page import Page
from losslab.web.prime import remember_openings
from losslab.web.quiz import register_quiz

ASSETS = Path(__file__).parent / "assets"
MAX_REQUEST_BYTES = 2 * 1024 * 1024  # a callback request carries a few controls, never more
HOME = "/"


def create_app(pages: Sequence[Page] | None = None) -> Dash:
    """A new, independent lab app with `pages` (default: `losslab.web.pages.PAGES`)."""
    if pages is None:
        from losslab.web.pages import PAGES

        pages = PAGES
    pages = tuple(pages)
    _check(pages)
    app = Dash(
        "losslab.web",
        assets_folder=str(ASSETS),
        # assets/vendor holds the lab's plotly.js, which assets/plotly-loader.js loads in
        # parallel with the page (served on request, not a blocking <script> on every page).
        assets_path_ignore=["^vendor$"],
        serve_locally=True,
        title="losslab",
        update_title=None,
        suppress_callback_exceptions=False,
        external_scripts=[],
        external_stylesheets=[],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # Dev tools off however the app is served (app.run, or app.server under a WSGI server): the
    # version check would call plotly's servers.
    app.enable_dev_tools(
        debug=False,
        dev_tools_ui=False,
        dev_tools_props_check=False,
        dev_tools_serve_dev_bundles=False,
        dev_tools_hot_reload=False,
        dev_tools_disable_version_check=True,
    )
    app.layout = html.Div(
        [
            dcc.Location(id="ll-url", refresh=False),
            html.Div(id="ll-nav-holder", children=navigation(pages, HOME)),
            html.Main(id="ll-content"),
        ]
    )
    # Every page's components, so Dash can check each callback against a full layout.
    app.validation_layout = html.Div([app.layout, home(pages), *(page.layout() for page in pages)])

    @app.callback(
        Output("ll-content", "children"),
        Output("ll-nav-holder", "children"),
        Input("ll-url", "pathname"),
    )
    def _route(pathname):
        return render(pathname, pages), navigation(pages, pathname)

    register_quiz(app, pages)
    for page in pages:
        page.register(app)
    remember_openings(app)  # pages' opening answers, once primed (prime.py)
    return app


def _check(pages: Sequence[Page]) -> None:
    keys = [page.key for page in pages]
    paths = [page.path for page in pages]
    if len(set(keys)) != len(keys) or len(set(paths)) != len(paths):
        raise ValueError(f"page keys and paths must be unique: keys {keys}, paths {paths}.")
    if HOME in paths:
        raise ValueError(f"the path {HOME!r} is the home page; give the page another path.")


def render(pathname, pages: Sequence[Page]):
    """The page for a path: home at '/', a short 'not found' page for anything unknown."""
    if not isinstance(pathname, str) or pathname in ("", HOME):
        return home(pages)
    path = pathname.rstrip("/") or HOME
    for page in pages:
        if page.path == path:
            return page.layout()
    return html.Div(
        [
            html.H1("Page not found"),
            html.P(["There is no page at this address. ", dcc.Link("Back to the lab", href=HOME)]),
        ],
        className="ll-page ll-home",
    )


def navigation(pages: Sequence[Page], pathname) -> html.Nav:
    current = pathname.rstrip("/") if isinstance(pathname, str) else ""
    links = [
        dcc.Link(
            page.title,
            href=page.path,
            className="ll-navlink ll-active" if page.path == current else "ll-navlink",
        )
        for page in pages
    ]
    brand = dcc.Link(["loss", html.Span("lab")], href=HOME, className="ll-brand")
    return html.Nav([brand, *links], className="ll-nav", **{"aria-label": "pages"})


THUMBNAILS = ASSETS / "thumbnails"  # <page key>.png, drawn by scripts/thumbnails.py
THUMBNAIL_SIZE = (240, 150)


def home(pages: Sequence[Page]):
    """The pages as a numbered path through the lessons (the order of `pages`: one weight, two,
    optimizers, curvature, noise, real networks, symmetry), each card with its thumbnail."""
    steps = [html.Li(_step(number, page)) for number, page in enumerate(pages, start=1)]
    return html.Div(
        [
            html.H1("A laboratory for loss landscapes"),
            html.P(
                "Training a model means walking downhill on its loss. Each page below lets you "
                "click and drag your way through one idea, with the same library that the "
                "losslab command line uses.",
                className="ll-lede",
            ),
            html.P(
                "A suggested path: each lesson uses what the one before showed. Start at 1, or "
                "jump to any page.",
                className="ll-path-hint",
            ),
            html.Ol(steps, className="ll-cards ll-path", **{"aria-label": "lessons in order"}),
            html.P(f"losslab {__version__}", className="ll-hint", style={"marginTop": "24px"}),
        ],
        className="ll-page ll-home",
        id="home-page",
    )


def _step(number: int, page: Page):
    """One lesson's card: its number, its thumbnail (loaded lazily, if there is one), its title
    and what it teaches."""
    parts = [html.Span(str(number), className="ll-step-number", **{"aria-hidden": "true"})]
    if (THUMBNAILS / f"{page.key}.png").exists():
        width, height = THUMBNAIL_SIZE
        parts.append(
            html.Img(
                # src once it scrolls into view (assets/losslab_thumbs.js): html.Img has no
                # `loading` attribute
                **{"data-src": f"/assets/thumbnails/{page.key}.png"},
                alt="",  # decorative: the title beside it says what the page is
                width=width,
                height=height,
                className="ll-thumb",
            )
        )
    parts.append(
        html.Div(
            [
                html.H2([html.Span(f"{number}. ", className="ll-sr"), page.title]),
                html.P(page.teaches),
            ],
            className="ll-card-text",
        )
    )
    return dcc.Link(parts, href=page.path, className="ll-card ll-step")
