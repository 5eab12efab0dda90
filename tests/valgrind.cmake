# valgrind memcheck over integration tests (included from
# tests/CMakeLists.txt; `make test-valgrind`, or ctest -L valgrind): the
# same test executables, with MCHOST_TEST_VALGRIND set, so that every server
# they start runs under memcheck, master and workers, and fails its test on
# any error or definite or indirect leak (tests/integration/memcheck.c).
# `make test` leaves them out (-LE valgrind).
#
# A sanitized build cannot run under valgrind, and without valgrind there is
# nothing to register: find_program() looks again at the next configure, so
# installing valgrind later (make test-valgrind does) is enough.
find_program(MCHOST_VALGRIND valgrind)
if(NOT MCHOST_VALGRIND OR MCHOST_SANITIZE)
  return()
endif()

# mchost_add_valgrind_test(<area> [FILTER <criterion glob>])
#
# The ctest test valgrind.<area>, label valgrind: build/tests/test_<area>
# under valgrind, only the tests FILTER matches (Criterion's --filter,
# suite/test with extended globs). Criterion counts no failure after a test
# body, and a server is judged when .fini stops it, so the verdict reaches
# ctest as the message memcheck.c prints.
function(mchost_add_valgrind_test area)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "FILTER" "")
  set(args)
  if(arg_FILTER)
    set(args --filter ${arg_FILTER})
  endif()
  add_test(NAME valgrind.${area} COMMAND test_${area} ${args})
  set_tests_properties(valgrind.${area} PROPERTIES
    LABELS valgrind
    TIMEOUT 600
    ENVIRONMENT MCHOST_TEST_VALGRIND=${MCHOST_VALGRIND}
    FAIL_REGULAR_EXPRESSION "valgrind memcheck failed")
endfunction()

# Each server costs a second or two of valgrind start-up per process, so
# this is a subset that takes each path mchost has once (about 90 s on two
# CPUs). Left out, beside what only repeats a path:
# - crashes by an invalid access (/segv and the tests that crash a worker
#   with it, /bad-arg, /stream-crash, /later-crash, /unguarded,
#   init_crash.so): memcheck reports the fixture's deliberate invalid
#   access itself, as it should, and a suppression for it would hide
#   mchost's own; SIGABRT, SIGFPE and a stack overflow take the guard's
#   same path without one;
# - the double frees: valgrind's free() reports them and returns, so there
#   is no abort for the guard to catch (those tests skip themselves);
# - tests that bound how long something takes in real milliseconds (a
#   reload within --cooldown + 1 s, a 408 within 2.5 s, the hostile and
#   balance tests): valgrind's slowness is not what they measure.

# Framing, keep-alive, pipelining, bodies, errors, a streamed response.
mchost_add_valgrind_test(http FILTER
  "http/@(get_root*|keep_alive*|pipelined*|head_has*|post_body*|chunked_body_is_decoded|expect_100*|malformed*|content_length_over*|streamed*)")
# Workers that write garbage, close their control pipe, die oddly.
mchost_add_valgrind_test(robust)
# The crash guard: a fault, an abort and a stack overflow caught, a hang
# and an unfinished deferred response timed out; retire and replace.
mchost_add_valgrind_test(guard FILTER
  "guard/@(sigabrt*|sigfpe*|stack_overflow*|hanging*|deferred*)")
# A killed worker replaced, TTIN/TTOU, a graceful stop with a request in
# flight.
mchost_add_valgrind_test(master FILTER
  "master/@(killed_worker*|workers_flag*|sigterm_lets*)")
# Two SIGHUP reloads under client load.
mchost_add_valgrind_test(reload FILTER "reload/sighup_reloads_without_dev")
# Streams when their worker stops: ended by the plugin's hook, ended by
# mchost, a pending drain called aborted; the old worker exits.
mchost_add_valgrind_test(stream FILTER
  "stream/@(reload_tells*|reload_ends*|reload_calls*)")
# The access log reopened on SIGUSR1; workers retiring at --max-requests.
mchost_add_valgrind_test(ops FILTER
  "@(access_log/sigusr1*|max_requests/workers_are_replaced*)")
# The request helpers: parameters, cookies and multipart parsed into the
# per-request memory, which each request resets and the conn frees.
mchost_add_valgrind_test(params FILTER
  "params/@(curl_multipart*|curl_cookies|hostile*|bad_escapes*)")
# The client behind a proxy: PROXY headers (good and hostile) and the
# forwarding headers of trusted peers, on keep-alive connections.
mchost_add_valgrind_test(client FILTER
  "@(proxy/v2_from*|proxy/hostile*|forwarded/a_trusted*|forwarded/forwarded_header*)")
# The master's admin listener (connections, /metrics pages) and the drain.
mchost_add_valgrind_test(admin FILTER
  "admin/@(healthz*|request_counters*|readyz_fails_during*)")
# Files sent by sendfile: whole, in ranges, abandoned by their client (the
# file and the socket's duplicate closed), and through a reload.
mchost_add_valgrind_test(files FILTER
  "files/@(a_file_comes_whole*|a_range*|a_client_that_leaves*|a_download_goes*)")
