"""The pages of the web lab, in the order of the lessons.

To add a page: write a module with `PAGE = Page(...)` (see `losslab.web.page`) and add it to
`PAGES`. The navigation bar and the home page list whatever is here.
"""

from losslab.web.pages import (
    curvature,
    descent_1d,
    explorer,
    neural,
    noise,
    race,
    symmetry,
    viewer,
)

PAGES = (
    descent_1d.PAGE,
    explorer.PAGE,
    race.PAGE,
    curvature.PAGE,
    noise.PAGE,
    neural.PAGE,
    symmetry.PAGE,
    viewer.PAGE,
)

__all__ = ["PAGES"]
