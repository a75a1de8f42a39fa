"""The request log tests assert on."""
import threading

ENTRY_KEYS = ("seq", "time", "method", "path", "api_version", "status", "kind", "resource_type",
              "write", "fault", "request_id", "body")


class RequestLog:
    def __init__(self):
        self._entries = []
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, entry):
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
            return entry

    def entries(self, writes_only=False, since=0):
        with self._lock:
            out = [dict(e) for e in self._entries if e["seq"] > since]
        if writes_only:
            out = [e for e in out if e["write"]]
        return out

    def clear(self):
        with self._lock:
            self._entries.clear()
