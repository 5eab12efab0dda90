# Request bodies a plugin reads itself, and --min-rate (included from
# tests/CMakeLists.txt): plugins/upload and the body fixture, driven by
# curl and tests/integration/body_client.py (python3).

# body.so faults on purpose in two of its callbacks: built without
# sanitizers, as guard.cmake explains for crash.so.
mchost_add_fixture(body NO_SANITIZE)

# One test at a time: the 200 MB upload keeps both CPUs busy, and the
# rate tests measure when a slow client is cut.
mchost_add_test(integration.upload TIMEOUT 180 ARGS --jobs 1
  DEFINITIONS BODY_CLIENT="${CMAKE_CURRENT_SOURCE_DIR}/integration/body_client.py"
  DEPENDS upload mchost_fixture_body)
