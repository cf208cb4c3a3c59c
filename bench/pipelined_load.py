"""Sends ROUNDS rounds of DEPTH pipelined GETs on each of CONNS connections to
127.0.0.1:PORT and waits for every reply (the hello server's body; with PATH, a GET of
PATH and its 200 responses). A fixed amount of work for bench/callgrind_hello.sh;
bounded, stops by itself.
  python3 bench/pipelined_load.py PORT CONNS DEPTH ROUNDS [PATH]"""
import socket
import sys

port, conns, depth, rounds = (int(a) for a in sys.argv[1:5])
path = sys.argv[5].encode() if len(sys.argv) > 5 else b"/"
request = b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: load\r\nAccept: */*\r\n\r\n"
# What marks one reply: the hello body, or a 200 status line when serving files.
marker = b"Hello, World!" if len(sys.argv) <= 5 else b"HTTP/1.1 200 OK\r\n"
socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(conns)]
for _ in range(rounds):
    for s in socks:
        s.sendall(request * depth)
    for s in socks:
        got = b""
        while got.count(marker) < depth:
            data = s.recv(65536)
            if not data:
                sys.exit("the server closed a connection")
            got += data
print(conns * depth * rounds, "requests answered")
