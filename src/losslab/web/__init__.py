"""The web lab: `losslab serve` or `create_app().run()`; a thin shell over the library.

Each page parses what the browser sends, calls losslab and renders plotly figures; state lives
in each browser's dcc.Store, never on the server. Importing this package builds nothing.
"""

from losslab.web.app import create_app

__all__ = ["create_app"]
