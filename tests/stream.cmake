# Long-lived responses, backpressure and blocking work (included from
# tests/CMakeLists.txt). The stream fixture faults on purpose in its drain
# callback: built without sanitizers, as the crash fixtures are (see
# guard.cmake).
mchost_add_fixture(stream NO_SANITIZE)
mchost_add_test(integration.stream TIMEOUT 120 DEPENDS mchost_fixture_stream)
# mc_work(): blocking calls on the thread pool, faults in work and done.
mchost_add_fixture(work NO_SANITIZE)
mchost_add_test(integration.work TIMEOUT 120 DEPENDS mchost_fixture_work)
# Streamed responses of known length (mc_response_begin_length()).
mchost_add_fixture(download)
mchost_add_test(integration.download TIMEOUT 60
                DEPENDS mchost_fixture_download)
# A file as the body (mc_response_file()): sendfile, validators, ranges.
mchost_add_fixture(files)
mchost_add_test(integration.files TIMEOUT 120 DEPENDS mchost_fixture_files)
# plugins/static: a directory served on mc_response_file().
mchost_add_test(integration.static TIMEOUT 60 DEPENDS static)
