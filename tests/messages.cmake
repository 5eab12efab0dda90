# Messages between workers (included from tests/CMakeLists.txt). The
# messages fixture faults on purpose in a message callback: built without
# sanitizers, as the crash fixtures are (see guard.cmake).
mchost_add_fixture(messages NO_SANITIZE)
mchost_add_test(integration.messages TIMEOUT 120
                DEPENDS mchost_fixture_messages)
# Under memcheck, master and workers: the relay in both directions (the
# sender's copy included), the refused calls, a callback that unsubscribes
# itself, and copies queued at the master then dropped for a blocked worker
# (each freed, once).
if(COMMAND mchost_add_valgrind_test)
  mchost_add_valgrind_test(messages FILTER
    "messages/@(every*|refused*|a_callback*|a_worker_behind*)")
endif()
