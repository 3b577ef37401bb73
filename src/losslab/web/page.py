"""What a page of the web lab is: a route, a title, one line on what it teaches, a layout
function, a function that registers its callbacks on an app, and its check-yourself questions.

A page is one module that defines `PAGE = Page(...)`; `losslab.web.pages.PAGES` lists them and
the home page lists whatever is registered there. Nothing here touches an app until
`create_app` calls `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Option:
    """One answer to a question: its text, whether it is right, and why (shown once chosen)."""

    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    prompt: str
    options: tuple[Option, ...]

    def __post_init__(self) -> None:
        if sum(option.correct for option in self.options) != 1:
            raise ValueError(f"question {self.prompt!r} must have exactly one correct option.")


@dataclass(frozen=True)
class Page:
    """A page of the lab.

    key: a short name, unique in the app; every component id on the page starts with it.
    path: the route, e.g. "/explorer". teaches: one line for the home page.
    layout: () -> component tree, cheap and pure (figures are drawn by the initial callback).
    register: (app) -> None, registers the page's callbacks on a Dash app.
    """

    key: str
    path: str
    title: str
    teaches: str
    layout: Callable[[], Any] = field(repr=False)
    register: Callable[[Any], None] = field(repr=False)
    questions: tuple[Question, ...] = ()


class Ids:
    """Component ids of one page: `Ids("explorer").graph == "explorer-graph"`."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self._prefix}-{name.replace('_', '-')}"
