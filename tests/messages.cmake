# Messages between workers (included from tests/CMakeLists.txt). The
# messages fixture faults on purpose in a message callback: built without
# sanitizers, as the crash fixtures are (see guard.cmake).
mchost_add_fixture(messages NO_SANITIZE)
mchost_add_test(integration.messages TIMEOUT 120
                DEPENDS mchost_fixture_messages)
