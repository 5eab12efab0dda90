# Long-lived responses, backpressure and blocking work (included from
# tests/CMakeLists.txt). The stream fixture faults on purpose in its drain
# callback: built without sanitizers, as the crash fixtures are (see
# guard.cmake).
mchost_add_fixture(stream NO_SANITIZE)
mchost_add_test(integration.stream TIMEOUT 120 DEPENDS mchost_fixture_stream)
