"""A UDP server on loopback for the probe modules' unit tests: it records each request and
answers it with what `answer` returns (a subclass says what), unless muted."""

from __future__ import annotations

import socket
import threading


class UdpResponder:
    def __init__(self, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.muted = self.stop = False
        self.requests = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, wire: bytes) -> bytes:
        raise NotImplementedError

    def serve(self):
        while not self.stop:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.requests.append(wire)
            if not self.muted:
                self.sock.sendto(self.answer(wire), peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
