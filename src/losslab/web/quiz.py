"""Check-yourself questions: radio buttons with instant feedback on every choice.

One pattern-matching callback serves every page: it looks the question up in the pages the
app was built with (immutable data) and says whether the choice is right and why. Each option's
value is its index in the question as written; the browser shows the options in an order
shuffled per visit (`losslab.shuffleOptions`, seeded in the browser), so that the right answer
is not always first, and grading by value does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dash import MATCH, Input, Output, State, ctx, dcc, html

from losslab.web.page import Page, Question

CHOICE = "ll-quiz-choice"
FEEDBACK = "ll-quiz-feedback"


@dataclass(frozen=True)
class Feedback:
    correct: bool | None  # None: nothing chosen yet, or the choice could not be read
    text: str

    @property
    def class_name(self) -> str:
        if self.correct is None:
            return "ll-feedback"
        return "ll-feedback ll-right" if self.correct else "ll-feedback ll-wrong"


def grade(questions: Sequence[Question], index, choice) -> Feedback:
    """Feedback for option `choice` of question `index`; anything unreadable gets a neutral
    message rather than an error (the values come from the browser)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(questions):
        return Feedback(None, "")
    options = questions[index].options
    if choice is None:
        return Feedback(None, "")
    if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(options):
        return Feedback(None, "Pick one of the answers.")
    option = options[choice]
    return Feedback(option.correct, ("Right. " if option.correct else "Not quite. ") + option.why)


def quiz_section(key: str, questions: Sequence[Question]):
    if not questions:
        return html.Div()
    items = []
    for i, question in enumerate(questions):
        items.append(
            html.Div(
                [
                    html.P(f"{i + 1}. {question.prompt}", className="ll-question"),
                    dcc.RadioItems(
                        id={"type": CHOICE, "page": key, "q": i},
                        options=[
                            {"label": option.text, "value": j}
                            for j, option in enumerate(question.options)
                        ],
                        value=None,
                        className="ll-options ll-unshuffled",  # shown once shuffled
                        inputClassName="ll-radio",
                        labelClassName="ll-option",
                    ),
                    html.Div(
                        id={"type": FEEDBACK, "page": key, "q": i},
                        className="ll-feedback",
                        role="status",
                    ),
                ],
                className="ll-card ll-quiz-item",
            )
        )
    return html.Section([html.H2("Check yourself"), *items], className="ll-quiz", id=f"{key}-quiz")


def register_quiz(app, pages: Sequence[Page]) -> None:
    by_key = {page.key: page.questions for page in pages}

    choice = {"type": CHOICE, "page": MATCH, "q": MATCH}
    app.clientside_callback(
        "function(id, options) { return window.losslab.shuffleOptions(id, options); }",
        Output(choice, "options"),
        Output(choice, "className"),
        Input(choice, "id"),
        State(choice, "options"),
    )

    @app.callback(
        Output({"type": FEEDBACK, "page": MATCH, "q": MATCH}, "children"),
        Output({"type": FEEDBACK, "page": MATCH, "q": MATCH}, "className"),
        Input({"type": CHOICE, "page": MATCH, "q": MATCH}, "value"),
        prevent_initial_call=True,
    )
    def _feedback(choice):
        component_id = ctx.triggered_id
        key = component_id.get("page") if isinstance(component_id, dict) else None
        index = component_id.get("q") if isinstance(component_id, dict) else None
        feedback = grade(by_key.get(key, ()), index, choice)
        return feedback.text, feedback.class_name
