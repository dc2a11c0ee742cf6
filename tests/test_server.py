"""The one WSGI server of `serve` and `preview --serve` (newsletter/web/server.py): it
joins its request threads when it stops, so no log line is lost, and it stops within
0.1 s even with an event stream open and a client that connected and said nothing."""

import socket
import threading
import time
import urllib.request

import pytest

from newsletter.web.server import Server


def slow_app(environ, start):
    time.sleep(0.02)  # still answering when the server is told to stop
    start("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.slow
def test_a_request_answered_as_the_server_stops_still_logs_its_line():
    for _ in range(20):  # the race the daemon threads lost about one run in three
        lines = []
        server = Server(slow_app, log=lines.append).start()
        url = f"http://127.0.0.1:{server.port}/x?e=a@b.c"
        done = threading.Thread(target=urllib.request.urlopen, args=(url,))
        done.start()
        while not server._server.open:
            time.sleep(0.001)
        server.stop()
        done.join()
        assert lines == ["GET /x 200"]  # and never the query: it names the subscriber


def test_it_stops_within_a_tenth_of_a_second_with_a_stream_and_an_idle_client_open():
    stop = threading.Event()

    def streaming(environ, start):
        start("200 OK", [("Content-Type", "text/event-stream")])

        def events():
            yield b"data: 1\n\n"
            while not stop.wait(15):
                yield b": heartbeat\n\n"

        return events()

    before = set(threading.enumerate())
    server = Server(streaming, on_stop=stop.set).start()
    stream = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/events", timeout=10)
    assert stream.readline() == b"data: 1\n"
    idle = socket.create_connection(("127.0.0.1", server.port))  # says nothing
    time.sleep(0.05)
    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started
    idle.close()
    stream.close()
    assert took < 0.1, f"stopped in {took:.3f} s"
    left = [t for t in set(threading.enumerate()) - before if "process_request" in t.name]
    assert not left, "a request thread outlived the server"
