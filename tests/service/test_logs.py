"""Logs (issue 10 item 8): one JSON line per event, a request id everywhere, no personal data, repeats held back."""

from __future__ import annotations

import io
import json
import logging
import re

from hypothesis import given
from hypothesis import strategies as st

from service.logs import HEADER, JsonFormatter, Repeats, RequestIds, configure, request_id_from

ID_NUMBER = "110101199003071233"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _logger(name: str, *, clock=None) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Repeats(10, clock=clock or Clock()))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_exception_is_one_line_with_its_type_and_place_never_its_message():
    logger, stream = _logger("t.exc")
    try:
        raise RuntimeError(f"account {ID_NUMBER} 张三 broke\nsecond line")
    except RuntimeError:
        logger.exception("Exception on /token [POST]")
    [line] = _lines(stream)
    assert line["error"] == "RuntimeError" and line["level"] == "error"
    assert re.fullmatch(r".+:test_an_exception_is_one_line_with_its_type_and_place_never_its_message:\d+", line["where"])
    text = stream.getvalue()
    assert "张三" not in text and ID_NUMBER not in text and "Traceback" not in text
    assert text.count("\n") == 1


def test_id_numbers_in_messages_and_fields_are_masked():
    logger, stream = _logger("t.pii")
    logger.warning("lookup of %s failed", ID_NUMBER, extra={"hint": f"login_hint={ID_NUMBER}"})
    assert ID_NUMBER not in stream.getvalue()
    [line] = _lines(stream)
    assert line["msg"].startswith("lookup of 1101") and "*" in line["hint"]


def test_identical_warnings_are_held_back_and_counted():
    clock = Clock()
    logger, stream = _logger("t.rep", clock=clock)
    for _ in range(500):
        logger.warning("storage unavailable", extra={"event": "storage_unavailable", "error": "ConnectionError"})
    logger.warning("something else")
    assert len(_lines(stream)) == 2
    clock.now += 11
    logger.warning("storage unavailable", extra={"event": "storage_unavailable", "error": "ConnectionError"})
    last = _lines(stream)[-1]
    assert last["repeats"] == 499 and last["event"] == "storage_unavailable"


def test_request_lines_are_never_held_back():
    logger, stream = _logger("t.req")
    for _ in range(20):
        logger.info("request", extra={"event": "request"})
    assert len(_lines(stream)) == 20


@given(st.text(max_size=80))
def test_a_request_id_is_the_caller_s_only_when_sane(value):
    rid = request_id_from(value)
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", rid)
    if rid != value:
        assert re.fullmatch(r"[0-9a-f]{32}", rid)


def test_forged_request_ids_are_replaced():
    for forged in ('a"}\n{"level":"info', "x" * 65, "ab cd", "id\r\nSet-Cookie: a=b", "编号", ""):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id_from(forged)), forged
    assert request_id_from("req-42.a:b_c") == "req-42.a:b_c"


def test_every_line_of_a_request_carries_its_id_and_the_response_returns_it():
    from flask import Flask

    stream = io.StringIO()
    handler = configure(stream=stream)
    try:
        app = Flask("t")

        @app.get("/thing/<name>")
        def thing(name):
            logging.getLogger("t.view").warning("working on it")
            return "ok"

        app.wsgi_app = RequestIds(app.wsgi_app, route_of=lambda environ: "/thing/<name>")
        client = app.test_client()
        answer = client.get(f"/thing/{ID_NUMBER}?code=secret-code", headers={HEADER: "trace-1"})
        assert answer.headers[HEADER] == "trace-1"
        generated = client.get("/thing/x").headers[HEADER]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "trace-1"]
    assert {line["event"] for line in mine} == {"log", "request"}
    request = next(line for line in mine if line["event"] == "request")
    assert request["route"] == "/thing/<name>" and request["status"] == 200 and request["method"] == "GET"
    assert "secret-code" not in stream.getvalue() and ID_NUMBER not in stream.getvalue()
