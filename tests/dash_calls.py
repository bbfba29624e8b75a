"""Call a Dash callback over HTTP the way the browser does, so that tests go through the server's permission check."""

from __future__ import annotations

from typing import Any

from dash import Dash
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from auth.callbacks import UPDATE_PATH


def callback_key(app: Dash, *outputs: str) -> str:
    """The callback map key of the callback writing `outputs` ("id.prop"), as Dash names it."""
    key = outputs[0] if len(outputs) == 1 else "..." + "...".join(outputs) + "..."
    if key not in app.callback_map:
        # Outputs with allow_duplicate carry a hash suffix: match on the listed outputs.
        matches = [k for k in app.callback_map if all(o in k for o in outputs)]
        assert len(matches) == 1, (outputs, matches)
        key = matches[0]
    return key


def call(
    client: FlaskClient,
    app: Dash,
    outputs: tuple[str, ...] | str,
    values: dict[str, Any],
    trigger: str | None = None,
) -> TestResponse:
    """POST the callback writing `outputs` with `values` ("id.prop" → value; the rest None), fired by `trigger`."""
    key = callback_key(app, *((outputs,) if isinstance(outputs, str) else outputs))
    entry = app.callback_map[key]

    def specs(items: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [
            {"id": item["id"], "property": item["property"], "value": values.get(f"{item['id']}.{item['property']}")}
            for item in items
        ]

    inputs = specs(entry["inputs"])
    parts = [part for part in key.strip(".").split("...") if part]
    declared = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]} for part in parts]
    body = {
        "output": key,
        "outputs": declared if len(declared) > 1 else declared[0],
        "inputs": inputs,
        "state": specs(entry["state"]),
        "changedPropIds": [trigger or f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    return client.post(UPDATE_PATH, json=body)


def response_of(response: TestResponse) -> dict[str, Any]:
    """The callback's answer: output id → property → value."""
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:500])
    answer: dict[str, Any] = response.get_json()["response"]
    return answer


def text_of(component: Any) -> str:
    """All the text inside a rendered component tree (as Dash serializes it)."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list):
        return " ".join(text_of(item) for item in component)
    if isinstance(component, dict):
        return text_of(component.get("props", {}).get("children"))
    return ""
