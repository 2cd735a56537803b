"""What only the web page needs: which names the server answers to, and how many questions it takes on.

`Guard` is an ASGI middleware placed in front of the whole app. It answers 403
to a request whose `Host` is not one of the server's own names (a DNS
rebinding page sends its own name there), to any request carrying an
`Origin` other than the page's own (another site's page posting to this
server), and 413 to a body larger than the route allows. It never adds CORS
headers: only the page itself may call the server from a browser.

`Admission` bounds the questions in the server: a few run at once, the rest
wait, and when the wait would be longer than `max_wait` seconds a question is
refused at once with an estimate of when to ask again, instead of waiting
half a minute in a queue.
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from .errors import InvalidArgument, QAError
from .text import MAX_QUESTION_CHARS
from .settings import MAX_K
from .text import printable  # the page's modules take it from here

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# Binding to these means "every interface": they are not names a browser uses.
ANY_ADDRESS = ("0.0.0.0", "::", "")
# A question and its options fit in a few kilobytes; only uploads are large.
MAX_BODY = 1 << 20
MAX_UPLOAD_BODY = 128 << 20
UPLOAD_PATHS = ("/gradio_api/upload",)


def host_name(value: str | None) -> str | None:
    """The name part of a `Host` header value, lowercased, without port or brackets; None if malformed."""
    if not value or len(value) > 255 or any(c.isspace() or c in "/@\\?#" for c in value):
        return None
    value = value.lower()
    if value.startswith("["):  # an IPv6 address: [::1] or [::1]:7860
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else None
        if rest is None or (rest and not _is_port(rest)):
            return None
        return value[1:end]
    if value.count(":") > 1:  # a bare IPv6 address is not a valid Host; keep it for the allow-list to refuse
        return value
    name, colon, port = value.partition(":")
    if colon and not _is_port(colon + port):
        return None
    return name.rstrip(".") or None


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isascii() and text[1:].isdigit() and len(text) <= 6


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The loopback names, the bound address (unless it means every interface) and `extra` names."""
    names = set(LOOPBACK_NAMES)
    for name in [bind, *extra]:
        name = (name or "").strip().lower().strip("[]").rstrip(".")
        if name not in ANY_ADDRESS:
            names.add(name)
    return frozenset(names)


def same_origin(origin: str, host: str) -> bool:
    """Whether a request's `Origin` is the page served at `Host` (scheme http or https, same host and port)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and not parts.path and parts.netloc.lower() == host.lower()


class Guard:
    """ASGI middleware: refuse foreign `Host` names and foreign `Origin`s, bound request bodies."""

    def __init__(self, app, hosts: Iterable[str], max_body: int = MAX_BODY, max_upload_body: int = MAX_UPLOAD_BODY):
        self.app = app
        self.hosts = frozenset(hosts)
        self.max_body = max_body
        self.max_upload_body = max_upload_body

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        name = host_name(host)
        if name is None or name not in self.hosts:
            await _refuse(scope, send, 403, f"This server does not answer to the name {host!r}. "
                          f"Use http://127.0.0.1 or http://localhost, or start it with --allowed-host NAME.")
            return
        origin = headers.get("origin")
        if origin is not None and not same_origin(origin, host):
            await _refuse(scope, send, 403, "Requests from other web sites are refused; use the page itself.")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_body if scope.get("path", "").startswith(UPLOAD_PATHS) else self.max_body
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(scope, send, 413, f"The request is larger than {limit:,} bytes.")
            return
        await self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope, receive, send, limit: int):
        """Pass the request on, counting body bytes as they arrive (a chunked body has no length)."""
        seen = 0
        over = False
        started = False
        message_413 = f"The request is larger than {limit:,} bytes."

        async def counting_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def watching_send(message):
            nonlocal started
            if over:  # whatever the app makes of the cut-off body, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(scope, send, 413, message_413)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            pass
        if over and not started:
            await _refuse(scope, send, 413, message_413)


class _TooLarge(Exception):
    pass


def _headers(scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        name = key.decode("latin-1").lower()
        if name in out:  # two Host or Origin headers: keep a value that cannot match
            out[name] = "\x00"
        else:
            out[name] = value.decode("latin-1")
    return out


async def _refuse(scope, send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Busy(QAError):
    """The server has more questions than it can answer soon; `retry_after` says when to ask again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Admission:
    """At most `slots` questions run at once; more wait while their expected wait is under `max_wait` seconds.

    The expected wait is (questions ahead / slots) x the mean answering time,
    measured as questions are answered (a moving average), so the bound
    follows the machine rather than a guess. A question refused gets a
    `Busy` error at once, saying how long to wait before asking again.
    """

    def __init__(self, slots: int, max_wait: float, first_guess: float = 0.5):
        if slots < 1 or max_wait <= 0:
            raise ValueError("slots must be at least 1 and max_wait positive")
        self.slots = slots
        self.max_wait = max_wait
        self._free = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self._inside = 0  # running and waiting
        self._mean = first_guess
        self.refused = 0
        self.answered = 0

    @property
    def mean_seconds(self) -> float:
        return self._mean

    def expected_wait(self, ahead: int) -> float:
        return ahead * self._mean / self.slots

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            ahead = self._inside - self.slots + 1  # questions that must finish before this one starts
            wait = self.expected_wait(ahead) if ahead > 0 else 0.0
            if wait > self.max_wait:
                self.refused += 1
                raise self._busy(ahead, wait)
            self._inside += 1
        try:
            # The estimate can be wrong (a slow question); never wait much longer than promised.
            if not self._free.acquire(timeout=max(1.0, 3 * self.max_wait)):
                with self._lock:
                    self.refused += 1
                raise self._busy(self._inside, self.max_wait)
            try:
                started = time.perf_counter()
                yield
                took = time.perf_counter() - started
                with self._lock:
                    self._mean = 0.8 * self._mean + 0.2 * took
                    self.answered += 1
            finally:
                self._free.release()
        finally:
            with self._lock:
                self._inside -= 1

    def _busy(self, ahead: int, wait: float) -> Busy:
        retry = max(1, math.ceil(wait))
        return Busy(
            f"The server is busy ({max(ahead, 1)} questions ahead of yours). Ask again in about {retry} s.", retry
        )


def checked_question(question: object) -> str:
    """The question as sent, if it is text of a sane length (the rest is `qa`'s to clean)."""
    if not isinstance(question, str):
        raise InvalidArgument(f"The question must be text, not {type(question).__name__}.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidArgument(
            f"The question is {len(question):,} characters long; at most {MAX_QUESTION_CHARS:,} are accepted."
        )
    return question


def whole_k(k: object) -> object:
    """A slider sends 5.0 and a client may send "5": whole numbers pass as ints, anything else is left for qa to refuse."""
    if isinstance(k, str):
        text = k.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 100:
            return int(text)
        if len(k) > 40:  # don't echo a long string back in the error message
            raise InvalidArgument(f"k must be a whole number from 1 to {MAX_K}.")
        return k
    if isinstance(k, float) and k.is_integer():
        return int(max(-1e9, min(k, 1e9)))
    return k


def md_name(text: str | None) -> str:
    """A file name inside Markdown code: escaped, backticks and line breaks neutralised."""
    return html.escape(printable(text or "")).replace("`", "'").replace("\n", " ").replace("\r", " ")
