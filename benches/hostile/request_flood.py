#!/usr/bin/env python3
"""A hostile ACP agent against a real `tether serve`: 2,000 permission
requests with 400-byte titles and 52 options each, while a lobby client
that never reads stays connected. Prints the host's RSS as JSON.

    cargo build --release --features test-agent
    python3 benches/hostile/request_flood.py target/release/tether

The scripted agent is `tether-test-agent acp`, next to `tether` (or the
second argument); the feature builds it.

Stdlib only; loopback only; stops by itself (about 20 s).
"""
import base64, json, os, re, socket, struct, subprocess, sys, tempfile, time

REQUESTS, TITLE, OPTIONS = 2000, 400, 50


def script(path):
    steps = [{"expect": {"method": "initialize"}},
             {"reply": {"protocolVersion": 1, "agentCapabilities": {}}},
             {"expect": {"method": "session/new"}}, {"reply": {"sessionId": "s1"}},
             {"expect": {"method": "session/prompt"}}]
    for i in range(REQUESTS):
        options = [{"optionId": "o%d" % k, "name": "option %d " % k + "y" * 40,
                    "kind": "allow_always"} for k in range(OPTIONS)]
        options += [{"optionId": "once", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"}]
        steps.append({"send": {"jsonrpc": "2.0", "id": 100 + i, "method": "session/request_permission",
                               "params": {"sessionId": "s1", "options": options,
                                          "toolCall": {"toolCallId": "t%d" % i, "title": "x" * TITLE,
                                                       "kind": "execute"}}}})
    steps.append({"sleep_ms": 60000})
    with open(path, "w") as f:
        f.writelines(json.dumps(s) + "\n" for s in steps)


def upgrade(port, token, path):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    assert s.recv(200).startswith(b"HTTP/1.1 101"), "no upgrade"
    return s


def send_text(sock, text):
    data, mask = text.encode(), os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0xFE]) + struct.pack(">H", len(data))
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    tether = os.path.abspath(sys.argv[1])
    agent = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else \
        os.path.join(os.path.dirname(tether), "tether-test-agent")
    with tempfile.TemporaryDirectory() as d:
        script(f"{d}/script.jsonl")
        host = subprocess.Popen(
            [tether, "serve", "--no-journal", "--listen", "127.0.0.1:0", "--auth", f"{d}/auth.json",
             "--cwd", d, "--agent", "acp", "--", agent, "acp", "--timeout-ms", "600000",
             f"{d}/script.jsonl"],
            env=dict(os.environ, HOME=d), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = next(l for l in host.stdout if l.startswith("listening on ")).split()[-1]
            port = int(re.search(r":(\d+)/", url).group(1))
            tokens = json.load(open(f"{d}/auth.json"))["tokens"]
            token = next(t["token"] for t in tokens if "control" in t["grants"])
            stalled = upgrade(port, token, "/v1/lobby")
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            owner = upgrade(port, token, "/v1/sessions/main?since=live")
            time.sleep(1)
            send_text(owner, json.dumps({"type": "user_message", "id": "flood-1", "text": "go"}))
            samples = []
            for _ in range(4):
                time.sleep(5)
                samples.append(rss_kb(host.pid))
            print(json.dumps({"requests": REQUESTS, "title_bytes": TITLE, "options": OPTIONS + 2,
                              "host_rss_kb": samples}))
        finally:
            host.kill()
            host.wait()


if __name__ == "__main__":
    main()
