# The plugin developer's loop (included from tests/CMakeLists.txt): crash
# reports with function (file:line), crash bundles, `mchost replay`, and
# errors shown in the browser in --dev (whose tests compile a plugin with
# a real compiler while mchost runs).

# devloop.c twice: as it crashes, and fixed (-DFIXED). -g whatever the
# build type: the reports name lines from the plugin's debug information.
mchost_add_fixture(devloop NO_SANITIZE)
mchost_add_fixture(devloop_fixed SOURCE plugins/devloop.c DEFINITIONS FIXED
                   NO_SANITIZE)
target_compile_options(mchost_fixture_devloop PRIVATE -g)
target_compile_options(mchost_fixture_devloop_fixed PRIVATE -g)

mchost_add_test(integration.devloop TIMEOUT 120
  DEFINITIONS DEVLOOP_SOURCE="${CMAKE_CURRENT_SOURCE_DIR}/plugins/devloop.c"
              SDK_DIR="${PROJECT_SOURCE_DIR}/sdk"
              TEST_CC="${CMAKE_C_COMPILER}"
  DEPENDS mchost_fixture_devloop mchost_fixture_devloop_fixed)
