"""Prime a server process: answer every page's opening callbacks once, as a first visitor's
browser would ask for them, so that the one-time work (plotly's validators and template, the
surfaces' grids, torch's first calls: about half a second a process on a busy 2-core machine)
is done before anyone waits for it. `losslab serve` runs it in the background of each of its
processes; the answers are thrown away.

    prime(create_app(), PAGES)  # -> number of callbacks answered
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

UPDATE = "/_dash-update-component"


def prime(app, pages: Sequence) -> int:
    """Post each page's server-side callbacks with the values its layout starts with (the
    first request a browser sends for them); returns how many were answered (200 or 204)."""
    client = app.server.test_client()
    answered = 0
    for page in pages:
        values = initial_values(page.layout())
        for key, spec in app.callback_map.items():
            payload = opening_request(key, spec, values)
            if payload is not None:
                response = client.post(UPDATE, json=payload)
                answered += response.status_code in (200, 204)
    return answered


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
