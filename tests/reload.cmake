# Live reload's tests (included at the end of tests/CMakeLists.txt): the
# fixtures a test puts over a serving plugin, and test_reload, which drives
# a real mchost through reloads under client load.

# gen.c built twice, so the two files differ only in their answer: "v1 gN"
# and "v2 gN" (N = the worker's generation).
foreach(version v1 v2)
  mchost_add_plugin(mchost_fixture_gen_${version} plugins/gen.c
                    OUTPUT_DIRECTORY "${MCHOST_TEST_PLUGINS_DIR}")
  set_target_properties(mchost_fixture_gen_${version} PROPERTIES
                        OUTPUT_NAME gen_${version})
  target_compile_definitions(mchost_fixture_gen_${version} PRIVATE
                             ANSWER="${version}")
endforeach()
# gen_slow.so: answers "slow gN" after 400 ms in mc_init, so that a change
# can arrive while its generation starts.
mchost_add_plugin(mchost_fixture_gen_slow plugins/gen.c
                  OUTPUT_DIRECTORY "${MCHOST_TEST_PLUGINS_DIR}")
set_target_properties(mchost_fixture_gen_slow PROPERTIES OUTPUT_NAME gen_slow)
target_compile_definitions(mchost_fixture_gen_slow PRIVATE ANSWER="slow"
                           INIT_MS=400)
mchost_add_plugin(mchost_fixture_gen_refuse plugins/gen_refuse.c
                  OUTPUT_DIRECTORY "${MCHOST_TEST_PLUGINS_DIR}")
set_target_properties(mchost_fixture_gen_refuse PROPERTIES
                      OUTPUT_NAME gen_refuse)

# The --build tests compile a tiny plugin with a real compiler while mchost
# runs: they need the compiler CMake found and the SDK's include directory.
find_package(Threads REQUIRED)
add_executable(test_reload integration/test_reload.c)
target_link_libraries(test_reload PRIVATE mchost_test_harness
                      PkgConfig::CRITERION Threads::Threads)
target_compile_options(test_reload PRIVATE ${MCHOST_WARNINGS})
target_compile_definitions(test_reload PRIVATE
  SDK_DIR="${PROJECT_SOURCE_DIR}/sdk"
  TEST_CC="${CMAKE_C_COMPILER}"
  NOT_ELF_FILE="${CMAKE_CURRENT_SOURCE_DIR}/plugins/not_elf.txt")
set_target_properties(test_reload PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
add_dependencies(test_reload mchost_fixture_gen_v1 mchost_fixture_gen_v2
                 mchost_fixture_gen_slow mchost_fixture_gen_refuse)
add_test(NAME integration.reload COMMAND test_reload)
set_tests_properties(integration.reload PROPERTIES TIMEOUT 120
                     LABELS integration)
