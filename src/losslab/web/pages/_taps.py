"""The rules of the symmetry page's swapping game: the state the browser keeps (the swaps made
and the neuron picked for the next one) and what one tap on the diagram does to it.

A tap picks a hidden neuron; a second tap in the same hidden layer swaps the two (a position
swap, `losslab.web.swaps.Swaps`); the picked neuron again lets it go; a tap on an input, an
output or a neuron of another layer is refused, with the reason in full (the page's message)
and in a few words (the diagram's headline). Pure functions of plain data; the browser's
values are checked again here, as anything from a client is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from losslab.errors import LosslabError
from losslab.web import diagram, swaps
from losslab.web.pages._shared import OK, WARN, Message

DAMAGED = "the page state is damaged: press Reset or reload the page."


@dataclass(frozen=True)
class SwapState:
    """The browser's part-1 state, validated: the swaps so far and the picked neuron."""

    swaps: swaps.Swaps = swaps.Swaps()
    picked: tuple[int, int] | None = None  # (hidden layer, position)

    @classmethod
    def from_json(cls, data) -> SwapState:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise LosslabError(DAMAGED)
        moves = swaps.Swaps.from_json(data.get("swaps"))
        picked = data.get("picked")
        if picked is not None:
            if not (
                isinstance(picked, list)
                and len(picked) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in picked)
                and 1 <= picked[0] <= swaps.N_HIDDEN
                and 0 <= picked[1] < moves.width
            ):
                raise LosslabError(DAMAGED)
            picked = (picked[0], picked[1])
        return cls(moves, picked)

    def to_json(self) -> dict:
        return {"swaps": self.swaps.to_json(), "picked": list(self.picked) if self.picked else None}


def clicked_node(click) -> tuple[int, int] | None:
    """(column, position) of the node under a tap: `click` is where the pointer really was,
    {"x", "y"} in the diagram's data units (shared.register_click: plotly's own clickData can
    name the point hovered before the pointer moved). None off the nodes, and for junk."""
    if not isinstance(click, dict):
        return None
    x, y = click.get("x"), click.get("y")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
    if not numbers or not (math.isfinite(x) and math.isfinite(y)):
        return None
    return diagram.node_at(node_sizes(), x, y)


@dataclass(frozen=True)
class Tapped:
    """What a tap did: the new state, the page's message (in full, under the diagram) and a
    headline (a few words over the diagram, in view while tapping on a phone)."""

    state: SwapState
    message: Message
    headline: str


def tap(state: SwapState, node: tuple[int, int] | None) -> Tapped:
    """One tap: pick a hidden neuron, swap it with the picked one of its layer, let it go, or
    say why it cannot be swapped."""
    if node is None:
        return Tapped(state, Message(""), headline(state))
    column, position = node
    name = name_at(state.swaps, column, position)
    if column == 0:
        return Tapped(
            state,
            Message(
                f"{name} is an input: the data decides what each input means, so the network "
                "cannot reorder its inputs. Only hidden neurons can be swapped.",
                WARN,
            ),
            f"{name} is an input: only hidden neurons swap",
        )
    if column == swaps.N_HIDDEN + 1:
        return Tapped(
            state,
            Message(
                f"Output {name} scores class {name}: its place says which class it scores, so "
                "swapping the outputs would swap the predictions. Only hidden neurons can be "
                "swapped.",
                WARN,
            ),
            "Outputs are fixed: only hidden neurons swap",
        )
    if state.picked is None:
        picked = SwapState(state.swaps, node)
        return Tapped(
            picked,
            Message(
                f"Picked {name} in hidden layer {column}. Now tap another neuron of hidden "
                f"layer {column} to swap the two (or {name} again to let go)."
            ),
            headline(picked),
        )
    layer, first = state.picked
    other = name_at(state.swaps, layer, first)
    if node == state.picked:
        let_go = SwapState(state.swaps, None)
        return Tapped(let_go, Message(f"Let go of {other}."), f"Let go of {other}")
    if column != layer:
        sizes = node_sizes()
        return Tapped(
            state,
            Message(
                f"{other} is in hidden layer {layer} and {name} in hidden layer {column}: only "
                f"neurons of one layer can trade places. A neuron of hidden layer 1 reads the "
                f"{sizes[0]} inputs, one of hidden layer 2 reads the {sizes[1]} neurons of "
                "layer 1: their weights do not even have the same shape. Tap a neuron of "
                f"hidden layer {layer}, or {other} again to let go.",
                WARN,
            ),
            f"{other} and {name} are in different layers: no swap",
        )
    if len(state.swaps.moves) >= swaps.MAX_SWAPS:
        return Tapped(
            state,
            Message(f"{swaps.MAX_SWAPS} swaps is the most this page keeps: press Reset.", WARN),
            "No more swaps: press Reset",
        )
    swapped = SwapState(state.swaps.then(layer, first, position), None)
    return Tapped(
        swapped,
        Message(
            f"Swapped {other} and {name} in hidden layer {layer}, each with its incoming "
            "weights, its bias and its outgoing weights. The boundary did not move.",
            OK,
        ),
        f"Swapped {other} \u2194 {name}: the same outputs",
    )


def headline(state: SwapState) -> str:
    """The diagram's headline when nothing new happened: what to tap next."""
    if state.picked is None:
        return "Tap a hidden neuron to pick it"
    layer, position = state.picked
    return f"{name_at(state.swaps, layer, position)} picked: tap another one of hidden {layer}"


def name_at(moves: swaps.Swaps, column: int, position: int) -> str:
    """The name of the node now at (column, position) after `moves`."""
    if column == 0:
        return diagram.INPUT_NAMES[position]
    if column == swaps.N_HIDDEN + 1:
        return diagram.OUTPUT_NAMES[position]
    original = int(moves.orders()[column - 1][position])
    return swaps.label(column, original, moves.width)


def node_sizes() -> tuple[int, ...]:
    """(inputs, hidden widths..., outputs): the diagram's columns."""
    return swaps.hidden_sizes(swaps.trained_model(swaps.WIDTH, swaps.SEED))
