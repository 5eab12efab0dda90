# mc_fetch(), outbound HTTP (included from tests/CMakeLists.txt). The
# fetch fixture faults on purpose in a fetch callback: built without
# sanitizers, as the crash fixtures are (see guard.cmake).
mchost_add_fixture(fetch NO_SANITIZE)
mchost_add_test(integration.fetch TIMEOUT 120 DEPENDS mchost_fixture_fetch)
# Under memcheck: the round trips, the header lookups, a refused upstream,
# a client that leaves while its fetch runs (the fetch's memory freed, the
# callback told once), and a fetch beside a mc_work(), held until done()
# or cancelled.
if(COMMAND mchost_add_valgrind_test)
  mchost_add_valgrind_test(fetch FILTER
    "fetch*/@(get_round_trip*|header_lookups*|trailers*|post_round_trip*|upstream_down*|client_leaves*|fetch_that_ends*|done_that*)")
endif()
