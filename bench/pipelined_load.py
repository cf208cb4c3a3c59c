"""Sends ROUNDS rounds of DEPTH pipelined GETs on each of CONNS connections to
127.0.0.1:PORT and waits for every reply (the hello server's body). A fixed amount of
work for bench/callgrind_hello.sh; bounded, stops by itself.
  python3 bench/pipelined_load.py PORT CONNS DEPTH ROUNDS"""
import socket
import sys

port, conns, depth, rounds = (int(a) for a in sys.argv[1:5])
request = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: load\r\nAccept: */*\r\n\r\n"
socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(conns)]
for _ in range(rounds):
    for s in socks:
        s.sendall(request * depth)
    for s in socks:
        got = b""
        while got.count(b"Hello, World!") < depth:
            data = s.recv(65536)
            if not data:
                sys.exit("the server closed a connection")
            got += data
print(conns * depth * rounds, "requests answered")
