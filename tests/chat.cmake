# plugins/chat, a room over WebSocket on messages between workers
# (included from tests/CMakeLists.txt): Debian's python3-websockets
# (integration/chat_client.py) against two workers, through a reload and
# the admin /metrics.
find_program(MCHOST_DEBIAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
mchost_add_test(integration.chat TIMEOUT 240
  DEFINITIONS PYTHON3="${MCHOST_DEBIAN_PYTHON3}"
              CHAT_CLIENT_PY="${CMAKE_CURRENT_SOURCE_DIR}/integration/chat_client.py"
  DEPENDS chat)
