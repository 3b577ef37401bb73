"""Prime a server process: answer every page's opening callbacks once, as a first visitor's
browser asks for them, and keep those answers.

Every visitor opening a page sends the same first requests (the layout's initial values, no
property changed yet), and a callback is a pure function of its inputs (the server keeps
nothing per visitor), so the answer is the same bytes each time: 60-430 ms of CPU a page
(noise and race the most) that a first visit, or a return to the page, would otherwise wait
for. `remember_openings(app)` (create_app calls it) answers such a request from memory once
`prime` has filled it; `losslab serve` primes in the background of each of its processes, which
also does the one-time work (plotly's validators and template, torch's first calls) early.

    prime(create_app(), PAGES)  # -> number of opening callbacks answered
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import flask

UPDATE = "/_dash-update-component"
MEMORY = "losslab_openings"  # app.server.extensions[MEMORY]: {opening_key: (body, type)}
HEADER = "X-Losslab-Answer"  # "memory" on an answer served from it (the tests look)


def prime(app, pages: Sequence) -> int:
    """Post each page's server-side callbacks with the values its layout starts with (the
    first request a browser sends for them), keeping the answers where `remember_openings`
    serves them; returns how many were answered (200 or 204)."""
    client = app.server.test_client()
    memory = app.server.extensions.get(MEMORY)
    answered = 0
    for page in pages:
        values = initial_values(page.layout())
        for key, spec in app.callback_map.items():
            payload = opening_request(key, spec, values)
            if payload is None:
                continue
            response = client.post(UPDATE, json=payload)
            answered += response.status_code in (200, 204)
            if memory is not None and response.status_code == 200:
                memory[opening_key(payload)] = (response.get_data(), response.content_type)
    return answered


def remember_openings(app) -> None:
    """Answer an opening request that `prime` has answered before from memory."""
    memory: dict = app.server.extensions.setdefault(MEMORY, {})

    @app.server.before_request
    def answer_from_memory():
        if not memory or flask.request.method != "POST" or flask.request.path != UPDATE:
            return None
        kept = memory.get(opening_key(flask.request.get_json(silent=True)))
        if kept is None:
            return None
        return flask.Response(kept[0], content_type=kept[1], headers={HEADER: "memory"})


def opening_key(body) -> str | None:
    """What identifies an opening request: its outputs, inputs and state with their values;
    None for any other request (a property changed: a visitor's action)."""
    if not isinstance(body, dict) or body.get("changedPropIds") != []:
        return None

    def values(items) -> list:
        if not isinstance(items, list):
            return []
        return [
            [i.get("id"), i.get("property"), i.get("value")] for i in items if isinstance(i, dict)
        ]

    try:
        parts = [body.get("output"), values(body.get("inputs")), values(body.get("state"))]
        return json.dumps(parts, sort_keys=True)
    except (TypeError, ValueError):
        return None


def opening_request(key: str, spec: dict, values: dict) -> dict | None:
    """The request for callback `key` when every input and state is a component of `values`
    ({(id, property): value}), else None (another page's, pattern-matching or browser-side)."""
    if not spec.get("callback") or "{" in key:
        return None
    wanted = [*spec["inputs"], *spec["state"]]
    if not wanted or not all((item["id"], item["property"]) in values for item in wanted):
        return None
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in key.strip(".").split("...")
    ]

    def fill(items: Iterable[dict]) -> list[dict]:
        return [{**item, "value": values[(item["id"], item["property"])]} for item in items]

    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [],
    }


def initial_values(tree) -> dict:
    """{(id, property): value} of every component with a string id in a layout, for each of
    its properties (None where the layout leaves one unset, as the browser sends it)."""
    found = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        names = getattr(node, "_prop_names", None)
        if names is None:
            continue
        ident = getattr(node, "id", None)
        for name in names:
            value = getattr(node, name, None)
            if isinstance(ident, str):
                found[(ident, name)] = value
            if name == "children" or hasattr(value, "_prop_names"):
                stack.append(value)
    return found
