# Operations and the plugin author's first steps (included at the end of
# tests/CMakeLists.txt): systemd notification and socket activation (unit),
# `mchost new` (scaffold), and the installed SDK and executable (install).

# ---- unit.notify: notify.c, no server ----

add_executable(test_unit_notify unit/test_notify.c)
target_link_libraries(test_unit_notify PRIVATE mchost_core
                      PkgConfig::CRITERION)
target_compile_options(test_unit_notify PRIVATE ${MCHOST_WARNINGS})
set_target_properties(test_unit_notify PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
add_test(NAME unit.notify COMMAND test_unit_notify)
set_tests_properties(unit.notify PROPERTIES TIMEOUT 30 LABELS unit)

# ---- integration.scaffold: `mchost new` from the build tree ----

# project.c (scratch directories, shell commands) is compiled into each test
# that uses it, against that test's harness.
add_executable(test_scaffold integration/test_scaffold.c
               integration/project.c)
target_link_libraries(test_scaffold PRIVATE mchost_test_harness
                      PkgConfig::CRITERION)
target_compile_options(test_scaffold PRIVATE ${MCHOST_WARNINGS})
set_target_properties(test_scaffold PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
add_test(NAME integration.scaffold COMMAND test_scaffold)
set_tests_properties(integration.scaffold PROPERTIES TIMEOUT 60
                     LABELS integration)

# ---- integration.install: the installed mchost and SDK ----

# test_install runs `cmake --install` of this build into this prefix, then
# builds plugins out of tree against it. The harness takes the executable's
# path at compile time (MCHOST_BIN is a string literal), so the prefix is a
# fixed directory of the build tree and the harness is built a second time,
# with the same sources and definitions but the installed bin/mchost.
set(MCHOST_TEST_PREFIX "${CMAKE_BINARY_DIR}/tests/install")
get_target_property(_harness_sources mchost_test_harness SOURCES)
get_target_property(_harness_defs mchost_test_harness
                    INTERFACE_COMPILE_DEFINITIONS)
list(FILTER _harness_defs EXCLUDE REGEX "^MCHOST_BIN=")
add_library(mchost_test_harness_installed STATIC ${_harness_sources})
target_include_directories(mchost_test_harness_installed PUBLIC integration)
target_compile_options(mchost_test_harness_installed PRIVATE
                       ${MCHOST_WARNINGS})
target_compile_definitions(mchost_test_harness_installed PUBLIC
  ${_harness_defs} MCHOST_BIN="${MCHOST_TEST_PREFIX}/bin/mchost")
# What gets installed must be built before the test installs it.
add_dependencies(mchost_test_harness_installed mchost)

add_executable(test_install integration/test_install.c integration/project.c)
target_link_libraries(test_install PRIVATE mchost_test_harness_installed
                      PkgConfig::CRITERION)
target_compile_options(test_install PRIVATE ${MCHOST_WARNINGS})
target_compile_definitions(test_install PRIVATE
  MCHOST_TEST_PREFIX="${MCHOST_TEST_PREFIX}"
  MCHOST_BUILD_DIR="${CMAKE_BINARY_DIR}"
  MCHOST_CMAKE="${CMAKE_COMMAND}")
set_target_properties(test_install PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
set_property(DIRECTORY APPEND PROPERTY ADDITIONAL_CLEAN_FILES
             "${MCHOST_TEST_PREFIX}" "${MCHOST_TEST_PREFIX}.lock")
add_test(NAME integration.install COMMAND test_install)
# Three cmake configures and builds of tiny projects, in parallel: about
# 10 s on two CPUs; the rest is headroom for a loaded CI machine.
set_tests_properties(integration.install PROPERTIES TIMEOUT 180
                     LABELS integration)
