# The crash guard's tests (included at the end of tests/CMakeLists.txt):
# fixture plugins that fault, hang or crash in mc_init, and the integration
# tests that drive them.

# crash.so and init_crash.so fault on purpose. They are built without
# sanitizers: with -fsanitize=undefined -fno-sanitize-recover, UBSan reports
# the division by zero and the NULL write itself and ends the worker (exit
# code 1, the client gets nothing), so the guard never sees the signal the
# hardware raises. ASan itself does not get in the way: its default
# handle_segv/handle_sigbus/handle_sigfpe=1 let the host's sigaction()
# replace its handlers (only =2, or allow_user_segv_handler=0, would not),
# so no ASAN_OPTIONS are needed. Its malloc still replaces glibc's, which is
# why test_guard skips the double-free test under ASan.
foreach(fixture crash init_crash)
  mchost_add_plugin(mchost_fixture_${fixture} plugins/${fixture}.c
                    OUTPUT_DIRECTORY "${MCHOST_TEST_PLUGINS_DIR}")
  set_target_properties(mchost_fixture_${fixture} PROPERTIES
                        OUTPUT_NAME ${fixture})
  target_compile_options(mchost_fixture_${fixture} PRIVATE -fno-sanitize=all)
  target_link_options(mchost_fixture_${fixture} PRIVATE -fno-sanitize=all)
endforeach()
# /unguarded arms a uv timer on the worker's loop (mc_worker.loop): the
# plugin uses libuv's header; the symbols resolve against the host's libuv.
target_include_directories(mchost_fixture_crash PRIVATE ${LIBUV_INCLUDE_DIRS})

# test_guard: one crash, hang or failed start per test (Criterion runs them
# in parallel). test_guard_storm: 200 crashes against one worker, alone in
# its executable because it is long and keeps both CPUs busy.
find_package(Threads REQUIRED)
foreach(area guard guard_storm)
  add_executable(test_${area} integration/test_${area}.c)
  target_link_libraries(test_${area} PRIVATE mchost_test_harness
                        PkgConfig::CRITERION)
  target_compile_options(test_${area} PRIVATE ${MCHOST_WARNINGS})
  set_target_properties(test_${area} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_dependencies(test_${area} mchost_fixture_crash mchost_fixture_init_crash)
  add_test(NAME integration.${area} COMMAND test_${area})
endforeach()
target_link_libraries(test_guard_storm PRIVATE Threads::Threads)
set_tests_properties(integration.guard PROPERTIES TIMEOUT 90
                     LABELS integration)
set_tests_properties(integration.guard_storm PROPERTIES TIMEOUT 90
                     LABELS integration)

# test_balance: how connections spread between workers (uses crash.so's
# X-Pid header to tell which worker answered).
add_executable(test_balance integration/test_balance.c)
target_link_libraries(test_balance PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_balance PRIVATE ${MCHOST_WARNINGS})
add_dependencies(test_balance mchost_fixture_crash)
set_target_properties(test_balance PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
# Alone and one test at a time: a worker starved of CPU by other tests
# cannot take its share, and that is not what is measured here.
add_test(NAME integration.balance COMMAND test_balance --jobs 1)
set_tests_properties(integration.balance PROPERTIES TIMEOUT 60 RUN_SERIAL TRUE
                     LABELS integration)

# test_status: `mchost status PID` against a running server (hello, and
# crash.so for a crash to count).
add_executable(test_status integration/test_status.c)
target_link_libraries(test_status PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_status PRIVATE ${MCHOST_WARNINGS})
add_dependencies(test_status mchost_fixture_crash)
set_target_properties(test_status PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
add_test(NAME integration.status COMMAND test_status)
set_tests_properties(integration.status PROPERTIES TIMEOUT 60
                     LABELS integration)

# test_hostile: smuggling attempts, slow clients, clients that never read
# (against echo.so).
add_executable(test_hostile integration/test_hostile.c)
target_link_libraries(test_hostile PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_hostile PRIVATE ${MCHOST_WARNINGS})
set_target_properties(test_hostile PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
# Alone: "a normal client is answered within 100 ms" is about the server,
# not about how busy other tests keep the CPUs.
add_test(NAME integration.hostile COMMAND test_hostile --jobs 1)
set_tests_properties(integration.hostile PROPERTIES TIMEOUT 90 RUN_SERIAL TRUE
                     LABELS integration)
