"""`serve`'s server (web/production.py, waitress) holds against slow, partial, many
and oversized requests: each is cut off or refused, threads do not grow with
connections, and an honest request is still answered. Real sockets on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from contextlib import ExitStack

import pytest

from newsletter.web.production import Endpoint, Limits


def hello(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello " + str(len(body)).encode()]


FAST = Limits(request_time=1.0, idle_time=2.0, connections=40, header_bytes=4096,
              body_bytes=1024, threads=2)  # fmt: skip


@pytest.fixture
def served():
    lines: list[str] = []
    with Endpoint(hello, log=lines.append, limits=FAST).start() as endpoint:
        endpoint.lines = lines
        yield endpoint


def get(port: int, path: str = "/", timeout: float = 10) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        return answer.status, answer.read()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def cut_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes `sock` (no answer), failing after `seconds`."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        raise AssertionError(f"still open after {seconds} s") from None
    except ConnectionResetError:
        data = b""
    assert data == b"", data
    return time.monotonic() - started


def test_a_body_shorter_than_its_content_length_is_cut_and_others_are_answered(served):
    partial = connect(served.port)
    partial.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
    assert get(served.port) == (200, b"hello 0")  # answered meanwhile, at once
    assert cut_within(partial, 5) < 3


def test_a_request_trickled_byte_by_byte_is_cut_at_the_request_time(served):
    trickle = connect(served.port)
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    started = time.monotonic()
    with pytest.raises(OSError):  # broken pipe or reset: the server cut it
        for byte in request:
            trickle.send(bytes([byte]))
            time.sleep(0.05)  # always active: never idle long enough for the idle cut
            if time.monotonic() - started > 6:
                break
        cut_within(trickle, 1)
        trickle.send(b"x")
        trickle.send(b"x")
    assert time.monotonic() - started < 4


def test_many_slow_connections_hold_no_threads_and_an_honest_request_gets_through(served):
    before = threading.active_count()
    with ExitStack() as stack:
        slow = [stack.enter_context(connect(served.port)) for _ in range(300)]
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        time.sleep(0.5)
        assert threading.active_count() <= before + 1  # a fixed pool, not one a connection
        started = time.monotonic()
        assert get(served.port, timeout=20) == (200, b"hello 0")  # waits for a place
        assert time.monotonic() - started < 10
    assert threading.active_count() <= before + 1


def test_oversized_headers_and_bodies_are_refused_with_4xx(served):
    with pytest.raises(urllib.error.HTTPError) as big_body:
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{served.port}/", data=b"x" * 5000),
            timeout=10,
        )
    assert big_body.value.code == 413
    with pytest.raises(urllib.error.HTTPError) as big_header:
        urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{served.port}/", headers={"X-Big": "y" * 8000}
            ),
            timeout=10,
        )
    assert big_header.value.code == 431
    assert get(served.port) == (200, b"hello 0")


def test_an_idle_kept_alive_connection_is_closed(served):
    idle = connect(served.port)
    idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello 0"):  # headers and body may come apart
        answer += idle.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200") and b"Server: newsletter" in answer
    assert 1.5 < cut_within(idle, 6) < 5


def test_one_log_line_a_request_without_its_query(served):
    get(served.port, "/unsubscribe?e=zoe@example.org&t=secret-token")
    assert [line.rsplit(" ", 2)[0] for line in served.lines] == ["GET /unsubscribe 200"]
    assert re.fullmatch(r"GET /unsubscribe 200 \d+ ms", served.lines[0])


def test_stop_answers_the_request_in_progress_first():
    release = threading.Event()

    def slow(environ, start_response):
        release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    endpoint = Endpoint(slow, limits=FAST).start()
    answers: list[tuple[int, bytes]] = []
    client = threading.Thread(target=lambda: answers.append(get(endpoint.port)))
    client.start()
    time.sleep(0.3)  # the request is in the app
    stopper = threading.Thread(target=endpoint.stop)
    stopper.start()
    time.sleep(0.2)
    release.set()
    stopper.join(10)
    client.join(10)
    assert answers == [(200, b"done")]
    with pytest.raises(OSError):
        get(endpoint.port, timeout=2)


def test_the_defaults_bound_every_request():
    limits = Limits()
    assert limits.request_time <= 10 and limits.idle_time <= 60
    # SendGrid posts its events in batches of up to 768 KB; every other page reads
    # at most a few KB of its body itself
    assert limits.body_bytes <= 2 * 1024 * 1024 and limits.header_bytes <= 16 * 1024
    assert 100 <= limits.connections <= 1000
