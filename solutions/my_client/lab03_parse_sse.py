"""Your 03.parse_sse, kept by llmlab.check when it passed: edit the notebook, not this file."""

import json


def parse_sse(lines):
    """(event name, parsed JSON data) for every event in an SSE stream's lines."""
    events, name, data = [], None, []

    def dispatch():
        if data and data != ["[DONE]"]:
            events.append((name or "message", json.loads("\n".join(data))))

    for line in lines:
        if not line:  # a blank line ends the event
            dispatch()
            name, data = None, []
        elif not line.startswith(":"):  # ':' lines are comments
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    dispatch()  # the stream may end without a final blank line
    return events


__llmlab_exercise__ = '03.parse_sse'
__llmlab_name__ = 'parse_sse'
