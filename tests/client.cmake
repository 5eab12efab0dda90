# The client behind a proxy (included from tests/CMakeLists.txt): PROXY
# protocol, --trusted-proxies and request IDs, against client.so (and
# crash.so, for the crash and timeout log lines). proxy_client.py is the
# proxy's side, run with python3; curl --haproxy-protocol the other one.
mchost_add_test(integration.client TIMEOUT 90
  DEFINITIONS PROXY_CLIENT="${CMAKE_CURRENT_SOURCE_DIR}/integration/proxy_client.py"
  DEPENDS mchost_fixture_crash)

# --listen (test_listen.c): TCP and Unix-socket listeners, --socket-mode,
# stale and live socket files, systemd passing two sockets, the client of a
# Unix-socket peer (PROXY protocol, X-Forwarded-For), bad values. curl
# --unix-socket and python3 are the clients.
mchost_add_test(integration.listen TIMEOUT 120)
