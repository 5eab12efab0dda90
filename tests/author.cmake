# The plugin author's first steps (included from tests/CMakeLists.txt):
# `mchost new` (scaffold), and the installed SDK and executable (install).
# project.c (scratch directories, shell commands) is compiled into each test
# that uses it, against that test's harness.

# ---- integration.scaffold: `mchost new` from the build tree ----

mchost_add_test(integration.scaffold TIMEOUT 60
                SOURCES integration/project.c)

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
get_target_property(_harness_includes mchost_test_harness
                    INTERFACE_INCLUDE_DIRECTORIES)
target_include_directories(mchost_test_harness_installed PUBLIC
                           ${_harness_includes})
target_link_libraries(mchost_test_harness_installed PUBLIC
                      PkgConfig::CRITERION)
target_compile_options(mchost_test_harness_installed PRIVATE
                       ${MCHOST_WARNINGS})
target_compile_definitions(mchost_test_harness_installed PUBLIC
  ${_harness_defs} MCHOST_BIN="${MCHOST_TEST_PREFIX}/bin/mchost")
# What gets installed must be built before the test installs it.
add_dependencies(mchost_test_harness_installed mchost)

# Three cmake configures and builds of tiny projects, in parallel: about
# 10 s on two CPUs; the rest of the TIMEOUT is headroom for a loaded CI
# machine.
mchost_add_test(integration.install TIMEOUT 180
  SOURCES integration/project.c
  HARNESS mchost_test_harness_installed
  DEFINITIONS MCHOST_TEST_PREFIX="${MCHOST_TEST_PREFIX}"
              MCHOST_BUILD_DIR="${CMAKE_BINARY_DIR}"
              MCHOST_CMAKE="${CMAKE_COMMAND}"
              MCHOST_CTEST="${CMAKE_CTEST_COMMAND}")
set_property(DIRECTORY APPEND PROPERTY ADDITIONAL_CLEAN_FILES
             "${MCHOST_TEST_PREFIX}" "${MCHOST_TEST_PREFIX}.lock")

# test_systemd: READY/RELOADING/STOPPING on a NOTIFY_SOCKET of the test's.
mchost_add_test(integration.systemd TIMEOUT 60)
