# The crash guard's tests (included at the end of tests/CMakeLists.txt):
# fixture plugins that fault, hang or crash in mc_init, and the integration
# tests that drive them.

# crash.so and init_crash.so fault on purpose. They are built without
# sanitizers: UBSan would report the division by zero or the NULL write
# itself and abort, and ASan would take the SIGSEGV, so the host's guard
# would see SIGABRT (or nothing) instead of the signal the hardware raised.
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
set_tests_properties(integration.guard_storm PROPERTIES TIMEOUT 120
                     LABELS integration)
