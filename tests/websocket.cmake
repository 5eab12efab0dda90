# WebSocket tests (included from tests/CMakeLists.txt): test_websocket
# drives the example plugin (plugins/websocket) and the fixture wsfix.so
# with real clients, Debian's python3-websockets (ws_client.py) and Node's
# `ws` package (ws_client.js), which the build installs into build/node/
# with npm. Without npm, or offline, the Node tests skip and say so.

# wsfix.so crashes on purpose: no sanitizers (tests/guard.cmake says why).
mchost_add_fixture(wsfix NO_SANITIZE)

find_program(MCHOST_NPM npm)
find_program(MCHOST_NODE node)
# Debian's python3, which has python3-websockets, whatever python3 comes
# first in PATH (a pyenv shim may not have it).
find_program(MCHOST_DEBIAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
set(node_ws "${CMAKE_BINARY_DIR}/node/node_modules/ws/package.json")
if(MCHOST_NPM)
  add_custom_command(OUTPUT "${node_ws}"
    COMMAND sh -c "'${MCHOST_NPM}' install --prefix '${CMAKE_BINARY_DIR}/node' ws@8 --no-audit --no-fund --loglevel=error || echo 'npm install ws failed: the Node WebSocket tests will skip'"
    COMMENT "npm install ws (for the WebSocket tests)")
endif()
add_custom_target(mchost_node_ws DEPENDS $<$<BOOL:${MCHOST_NPM}>:${node_ws}>)

mchost_add_test(integration.websocket TIMEOUT 240 LINK Threads::Threads
  DEFINITIONS PYTHON3="${MCHOST_DEBIAN_PYTHON3}"
              NODE="${MCHOST_NODE}"
              NODE_WS="${CMAKE_BINARY_DIR}/node/node_modules/ws"
              WS_CLIENT_PY="${CMAKE_CURRENT_SOURCE_DIR}/integration/ws_client.py"
              WS_CLIENT_JS="${CMAKE_CURRENT_SOURCE_DIR}/integration/ws_client.js"
  DEPENDS websocket mchost_fixture_wsfix mchost_node_ws)
