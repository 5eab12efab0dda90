# The plugin's timers (included from tests/CMakeLists.txt). The timer
# fixture faults on purpose in a timer callback: built without sanitizers,
# as the crash fixtures are (see guard.cmake).
mchost_add_fixture(timer NO_SANITIZE)
mchost_add_test(integration.timer TIMEOUT 90 DEPENDS mchost_fixture_timer)
# Under memcheck: timers stopped by a handler and by their own callback
# (closed after the callback returns), and those never stopped, freed when
# the worker exits. (A timer never stopped is not reported as lost if that
# part were missing: libuv's closed handles keep stale pointers to it.)
if(COMMAND mchost_add_valgrind_test)
  mchost_add_valgrind_test(timer FILTER
    "timer/@(repeating*|a_stopped*|a_zero*)")
endif()
