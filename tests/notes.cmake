# plugins/notes, the example app (included from tests/CMakeLists.txt):
# curl, python3 (integration/notes_client.py) and Node's fetch
# (integration/notes_client.js) against two workers and a database in the
# test's scratch directory. Built where plugins/ built the app (SQLite and
# cJSON found).
if(TARGET notes)
  find_program(MCHOST_NODE node)
  mchost_add_test(integration.notes TIMEOUT 180
    DEFINITIONS
      NOTES_CLIENT_PY="${CMAKE_CURRENT_SOURCE_DIR}/integration/notes_client.py"
      NOTES_CLIENT_JS="${CMAKE_CURRENT_SOURCE_DIR}/integration/notes_client.js"
      NODE="${MCHOST_NODE}"
    DEPENDS notes)
endif()
