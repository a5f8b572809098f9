"""For t/tls_smtp.bats and t/tls_pop3.bats: after STARTTLS/STLS was sent in
one write with a command behind it, the server must drop that command.

after_upgrade(sock, quit_ok) does the TLS handshake on sock, checks that
no answer comes for 2 s (the injected command was discarded), sends QUIT
and checks its answer starts with quit_ok.  Exits 1 on an answer.
"""
import socket
import ssl
import sys


def after_upgrade(sock, quit_ok):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(sock, server_hostname="mail.example.org")
    t.settimeout(2)
    try:
        data = t.recv(1000)
        print("UNEXPECTED answer to the injected command:", data)
        sys.exit(1)
    except socket.timeout:
        pass
    t.settimeout(10)
    t.sendall(b"QUIT\r\n")
    first = t.recv(1000).decode()
    print("after QUIT:", first)
    assert first.startswith(quit_ok), first
