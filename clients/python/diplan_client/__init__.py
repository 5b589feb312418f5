"""A blocking Python client for diplan (docs/protocol.md).

diplan speaks gRPC's framing and status codes over a Unix socket, without
HTTP/2, so grpcio cannot connect; this package is the framing, over the
messages `make proto` generates from proto/ into `diplan_client/_generated`.

    from diplan_client import Client, NotFound
    from diplan_client.messages import holds_pb2

    with Client("/run/diplan/diplan.sock") as client:
        request = holds_pb2.FindFreePlacesRequest(near_municipality_id="ludza")
        answer = client.call("/diplan.v1.Holds/FindFreePlaces", request, holds_pb2.FindFreePlacesResponse)
"""

from __future__ import annotations

import itertools
import os
import queue
import socket
import struct
import sys
import threading
from typing import Iterator, Optional, Type, TypeVar

# The generated modules import each other as `diplan.v1...`: their directory goes on the path.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_generated"))

from diplan.rpc.v1 import rpc_pb2  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from . import messages  # noqa: E402,F401

__all__ = [
    "Client", "DiplanError", "Cancelled", "InvalidArgument", "DeadlineExceeded", "NotFound", "PermissionDenied",
    "ResourceExhausted", "FailedPrecondition", "OutOfRange", "Unimplemented", "Internal", "Unavailable",
    "DEFAULT_SOCKET",
]

DEFAULT_SOCKET = os.environ.get("DIPLAN_SOCKET", "/run/diplan/diplan.sock")
Response = TypeVar("Response", bound=Message)


class DiplanError(Exception):
    """A call the daemon refused or could not answer: `code` is gRPC's status code."""

    code = 2  # UNKNOWN

    def __init__(self, message: str, code: Optional[int] = None, revision: int = 0):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.revision = revision

    def __str__(self) -> str:
        return f"{_NAMES.get(self.code, self.code)}: {self.message}"


class Cancelled(DiplanError): code = 1
class InvalidArgument(DiplanError): code = 3
class DeadlineExceeded(DiplanError): code = 4
class NotFound(DiplanError): code = 5
class PermissionDenied(DiplanError): code = 7
class ResourceExhausted(DiplanError): code = 8
class FailedPrecondition(DiplanError): code = 9
class OutOfRange(DiplanError): code = 11
class Unimplemented(DiplanError): code = 12
class Internal(DiplanError): code = 13
class Unavailable(DiplanError): code = 14


_BY_CODE = {cls.code: cls for cls in (
    Cancelled, InvalidArgument, DeadlineExceeded, NotFound, PermissionDenied, ResourceExhausted, FailedPrecondition,
    OutOfRange, Unimplemented, Internal, Unavailable)}
_NAMES = {value.number: value.name for value in rpc_pb2.Code.DESCRIPTOR.values}


def _error(status: rpc_pb2.Status, revision: int = 0) -> DiplanError:
    return _BY_CODE.get(status.code, DiplanError)(status.message, status.code, revision)


class _Call:
    """Frames for one call, handed over by the reader thread."""

    def __init__(self) -> None:
        self.frames: "queue.Queue[Optional[rpc_pb2.ResponseFrame]]" = queue.Queue()


class Client:
    """One connection to the daemon. Calls may be made from several threads
    at once: each has its own call id, and one reader thread hands every
    answer to the call it belongs to."""

    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: Optional[float] = 30.0):
        self.timeout = timeout
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._socket.connect(socket_path)
        except OSError as error:
            self._socket.close()
            raise Unavailable(f"cannot connect to {socket_path}: {error.strerror}") from None
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed: Optional[DiplanError] = None
        self._reader = threading.Thread(target=self._read, name="diplan-client-reader", daemon=True)
        self._reader.start()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; calls still waiting get Unavailable."""
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()
        self._reader.join(timeout=5)

    def call(self, method: str, request: Message, response_type: Type[Response],
             timeout: Optional[float] = None) -> Response:
        """Calls a unary method and returns its answer; a refusal raises the DiplanError of its code.
        `timeout` (seconds; default the client's) is sent as the call's deadline."""
        response, _ = self.call_with_revision(method, request, response_type, timeout)
        return response

    def call_with_revision(self, method: str, request: Message, response_type: Type[Response],
                           timeout: Optional[float] = None) -> tuple[Response, int]:
        """As `call`, with the state revision the answer reflects."""
        timeout = self.timeout if timeout is None else timeout
        call_id, call = self._start(method, request, timeout)
        try:
            try:
                frame = call.frames.get(timeout=None if timeout is None else timeout + 5)
            except queue.Empty:
                raise DeadlineExceeded(f"no answer to {method} within {timeout} s") from None
            if frame is None:
                raise self._closed or Unavailable("the connection closed")
            if frame.status.code != 0:
                raise _error(frame.status, frame.revision)
            return response_type.FromString(frame.payload), frame.revision
        finally:
            with self._lock:
                self._calls.pop(call_id, None)

    def stream(self, method: str, request: Message, response_type: Type[Response]) -> Iterator[Response]:
        """Calls a server-streaming method (Watch): an iterator of its answers,
        which ends when the stream does; a failure raises its DiplanError.
        Closing the iterator (or leaving a `for` loop) cancels the call."""
        call_id, call = self._start(method, request, None)
        ended = False
        try:
            while True:
                frame = call.frames.get()
                if frame is None:
                    ended = True
                    raise self._closed or Unavailable("the connection closed")
                if frame.payload:
                    yield response_type.FromString(frame.payload)
                if frame.end_of_stream:
                    ended = True
                    if frame.status.code != 0:
                        raise _error(frame.status, frame.revision)
                    return
        finally:
            with self._lock:
                self._calls.pop(call_id, None)
            if not ended and self._closed is None:
                self._send(rpc_pb2.RequestFrame(call_id=call_id, kind=rpc_pb2.FRAME_KIND_CANCEL))

    def ping(self, timeout: float = 5.0) -> None:
        """Sends a ping and waits for its answer."""
        call_id = next(self._ids)
        call = _Call()
        with self._lock:
            self._calls[call_id] = call
        try:
            self._send(rpc_pb2.RequestFrame(call_id=call_id, kind=rpc_pb2.FRAME_KIND_PING))
            try:
                frame = call.frames.get(timeout=timeout)
            except queue.Empty:
                raise DeadlineExceeded(f"no answer to a ping within {timeout} s") from None
            if frame is None:
                raise self._closed or Unavailable("the connection closed")
        finally:
            with self._lock:
                self._calls.pop(call_id, None)

    # -- internals --

    def _start(self, method: str, request: Message, timeout: Optional[float]) -> tuple[int, _Call]:
        call_id = next(self._ids)
        call = _Call()
        with self._lock:
            if self._closed is not None:
                raise self._closed
            self._calls[call_id] = call
        frame = rpc_pb2.RequestFrame(call_id=call_id, method=method, payload=request.SerializeToString(),
                                     timeout_ms=0 if timeout is None else max(1, int(timeout * 1000)))
        self._send(frame)
        return call_id, call

    def _send(self, frame: rpc_pb2.RequestFrame) -> None:
        body = frame.SerializeToString()
        try:
            with self._send_lock:
                self._socket.sendall(struct.pack(">BI", 0, len(body)) + body)
        except OSError as error:
            raise Unavailable(f"the connection failed: {error.strerror}") from None

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self._socket.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= 5:
                    flag, length = struct.unpack(">BI", buffer[:5])
                    if len(buffer) < 5 + length:
                        break
                    frame = rpc_pb2.ResponseFrame.FromString(buffer[5:5 + length])
                    buffer = buffer[5 + length:]
                    if frame.call_id == 0 and frame.end_of_stream:
                        # The daemon speaks for the whole connection, then closes it.
                        self._closed = _error(frame.status, frame.revision)
                        continue
                    with self._lock:
                        call = self._calls.get(frame.call_id)
                    if call is not None:
                        call.frames.put(frame)
        except OSError:
            pass
        finally:
            if self._closed is None:
                self._closed = Unavailable("the connection closed")
            with self._lock:
                calls = list(self._calls.values())
            for call in calls:
                call.frames.put(None)
