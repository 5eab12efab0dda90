# The crash guard's tests (included from tests/CMakeLists.txt): fixture
# plugins that fault, hang or crash in mc_init, and the integration tests
# that drive them or load crash.so; then test_hostile, which like
# test_balance runs alone.

# crash.so and init_crash.so fault on purpose. They are built without
# sanitizers: with -fsanitize=undefined -fno-sanitize-recover, UBSan reports
# the division by zero and the NULL write itself and ends the worker (exit
# code 1, the client gets nothing), so the guard never sees the signal the
# hardware raises. ASan itself does not get in the way: its default
# handle_segv/handle_sigbus/handle_sigfpe=1 let the host's sigaction()
# replace its handlers (only =2, or allow_user_segv_handler=0, would not),
# so no ASAN_OPTIONS are needed. Its malloc still replaces glibc's, which is
# why test_guard skips the double-free test under ASan.
mchost_add_fixture(crash init_crash NO_SANITIZE)
# /unguarded arms a uv timer on the worker's loop (mc_worker.loop): the
# plugin uses libuv's header; the symbols resolve against the host's libuv.
target_include_directories(mchost_fixture_crash PRIVATE ${LIBUV_INCLUDE_DIRS})

# test_guard: one crash, hang or failed start per test (Criterion runs them
# in parallel). test_guard_storm: 200 crashes against one worker, alone in
# its executable because it is long and keeps both CPUs busy.
mchost_add_test(integration.guard TIMEOUT 90
                DEPENDS mchost_fixture_crash mchost_fixture_init_crash)
mchost_add_test(integration.guard_storm TIMEOUT 90 LINK Threads::Threads
                DEPENDS mchost_fixture_crash mchost_fixture_init_crash)

# test_balance: how connections spread between workers (uses crash.so's
# X-Pid header to tell which worker answered). Alone and one test at a
# time: a worker starved of CPU by other tests cannot take its share, and
# that is not what is measured here.
mchost_add_test(integration.balance TIMEOUT 60 ARGS --jobs 1 RUN_SERIAL
                DEPENDS mchost_fixture_crash)

# test_sock: connections on the adopted and the plain libuv path, and a
# plugin's forked child sharing the worker's sockets (crash.so's /fork).
mchost_add_test(integration.sock TIMEOUT 60 DEPENDS mchost_fixture_crash)

# test_status: `mchost status PID` against a running server (hello, and
# crash.so for a crash to count).
mchost_add_test(integration.status TIMEOUT 60 DEPENDS mchost_fixture_crash)

# test_hostile: smuggling attempts, slow clients, clients that never read
# (against echo.so). Alone: a thousand slow clients and a normal one are
# about the server, not about how busy other tests keep the CPUs.
mchost_add_test(integration.hostile TIMEOUT 90 ARGS --jobs 1 RUN_SERIAL)

# test_robust: workers that write garbage to the master, or die oddly.
mchost_add_fixture(rogue)
mchost_add_test(integration.robust TIMEOUT 60 DEPENDS mchost_fixture_rogue)
