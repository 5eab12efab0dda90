# mc_fetch(), outbound HTTP (included from tests/CMakeLists.txt). The
# fetch fixture faults on purpose in a fetch callback: built without
# sanitizers, as the crash fixtures are (see guard.cmake).
mchost_add_fixture(fetch NO_SANITIZE)
mchost_add_test(integration.fetch TIMEOUT 120 DEPENDS mchost_fixture_fetch)
