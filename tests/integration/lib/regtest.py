"""Python side of the end-to-end test helpers (stdlib only): start a registry, talk raw HTTP to it.

- RegistryProcess: `BIN registry serve` on a free loopback port with a temp data dir (or Debian's
  docker-registry 2.8 when BIN's basename is docker-registry), waits until it is ready, stops it by
  PID with SIGTERM and reports the exit status. Raises if it does not come up: never a skip.
- Client: one HTTP request per connection (a failed check cannot desynchronise the next), relative
  `Location` headers resolved against the base URL, bodies as bytes or iterables (chunked).
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_distribution(binary: str) -> bool:
    return os.path.basename(binary) == "docker-registry"


class RegistryProcess:
    def __init__(self, binary: str, *, delete_enabled=False, htpasswd=None, workdir=None):
        if os.sep in binary:  # the registry runs with its work dir as cwd
            binary = os.path.abspath(binary)
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="atcr-e2e-reg.")
        self.log_path = os.path.join(self.dir, "registry.log")
        data = os.path.join(self.dir, "data")
        if is_distribution(binary):
            config = os.path.join(self.dir, "config.yml")
            with open(config, "w") as f:
                f.write("version: 0.1\n"
                        "log: {level: info, accesslog: {disabled: false}}\n"
                        "storage:\n"
                        f"  filesystem: {{rootdirectory: {data}}}\n"
                        f"  delete: {{enabled: {'true' if delete_enabled else 'false'}}}\n"
                        "  cache: {blobdescriptor: inmemory}\n"
                        f"http: {{addr: 127.0.0.1:{self.port}}}\n")
                if htpasswd:
                    f.write(f"auth: {{htpasswd: {{realm: atcr-test, path: {htpasswd}}}}}\n")
            argv, ready = [binary, "serve", config], "/v2/"
        else:
            argv = [binary, "registry", "serve", "--addr", f"127.0.0.1:{self.port}", "--data", data]
            if delete_enabled:
                argv.append("--delete-enabled")
            if htpasswd:
                argv += ["--htpasswd", htpasswd]
            ready = "/healthz"
        self._log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=self.dir)
        except OSError as e:
            self._log.close()
            self.cleanup()
            raise RuntimeError(f"cannot start {argv}: {e}") from e
        try:
            self._wait_ready(ready, 20)
        except RuntimeError:
            self.cleanup()
            raise

    def _wait_ready(self, path: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"registry exited with {self.proc.returncode} during startup:\n"
                                   + self.log_tail())
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                last = conn.getresponse().status
                conn.close()
                if last in (200, 401):
                    return
            except OSError as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"registry not ready on {self.url}{path} after {seconds}s "
                           f"(last: {last}):\n" + self.log_tail())

    def log_tail(self, lines=30) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status (negative = signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def cleanup(self):
        if self._own_dir and os.environ.get("E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


class Response:
    def __init__(self, status, reason, headers, body, sent_all=True):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.sent_all = sent_all

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body)

    def error_codes(self):
        """OCI error codes in the body; [] if the body is not an OCI error document."""
        try:
            doc = json.loads(self.body)
            return [e.get("code") for e in doc.get("errors", [])]
        except (ValueError, AttributeError):
            return []

    def __repr__(self):
        body = self.body[:300]
        return f"<{self.status} {self.reason} headers={dict(self.headers)} body={body!r}>"


class Client:
    def __init__(self, base_url: str, timeout=60.0):
        self.base = base_url.rstrip("/")
        parsed = urllib.parse.urlsplit(self.base)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.timeout = timeout

    def url(self, path_or_url: str) -> str:
        return urllib.parse.urljoin(self.base + "/", path_or_url)

    def request(self, method, path_or_url, body=None, headers=None, chunked=False) -> Response:
        """One request on a fresh connection. `body` may be bytes or (with chunked=True) an
        iterable of bytes sent with Transfer-Encoding: chunked."""
        target = urllib.parse.urlsplit(self.url(path_or_url))
        path = target.path + ("?" + target.query if target.query else "")
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            resp = conn.getresponse()
            try:
                data = resp.read()
            except http.client.IncompleteRead as e:
                raise AssertionError(f"{method} {path}: {resp.status} response body shorter than "
                                     f"its Content-Length ({e})") from e
            return Response(resp.status, resp.reason, resp.getheaders(), data)
        finally:
            conn.close()

    def request_streamed(self, method, path_or_url, body: bytes, headers=None, chunk=65536):
        """Sends a large body piece by piece and still reads the response if the server answers
        early and stops reading (e.g. 413 on a too-large manifest). sent_all tells whether the
        whole body went out."""
        target = urllib.parse.urlsplit(self.url(path_or_url))
        path = target.path + ("?" + target.query if target.query else "")
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=self.timeout)
        sent_all = True
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                for off in range(0, len(body), chunk):
                    conn.send(body[off:off + chunk])
            except (BrokenPipeError, ConnectionResetError):
                sent_all = False
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason, resp.getheaders(), data, sent_all)
        finally:
            conn.close()

    # -- registry conveniences ---------------------------------------------------------------

    def push_blob(self, repo: str, data: bytes, digest: str = None) -> str:
        """POST + monolithic PUT; returns the digest. Raises on any unexpected status."""
        digest = digest or sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        if r.status != 202 or not r.header("Location"):
            raise AssertionError(f"POST upload for {repo}: {r}")
        r = self.request("PUT", with_query(r.header("Location"), digest=digest), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        if r.status != 201:
            raise AssertionError(f"PUT blob {digest} to {repo}: {r}")
        return digest

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> Response:
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                            headers={"Content-Type": media_type})


def sha256(data: bytes) -> str:
    import hashlib
    return "sha256:" + hashlib.sha256(data).hexdigest()


def with_query(url: str, **params) -> str:
    """Appends query parameters to an upload Location that may already carry some."""
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(params)


def parse_link(value: str):
    """`<url>; rel="next"` -> url (None when absent or not rel=next)."""
    if not value:
        return None
    for part in value.split(","):
        section = part.strip().split(";")
        url = section[0].strip()
        rels = [s.strip() for s in section[1:]]
        if url.startswith("<") and url.endswith(">") and any(
                r.replace(" ", "") in ('rel="next"', "rel=next") for r in rels):
            return url[1:-1]
    return None
