# Live reload's tests (included from tests/CMakeLists.txt): the fixtures a
# test puts over a serving plugin, and test_reload, which drives a real
# mchost through reloads under client load.

# gen.c built several times, so that the files differ only in their answer:
# "v1 gN" and "v2 gN" (N = the worker's generation); gen_slow.so answers
# "slow gN" after 400 ms in mc_init, so that a change can arrive while its
# generation starts.
mchost_add_fixture(gen_v1 SOURCE plugins/gen.c DEFINITIONS ANSWER="v1")
mchost_add_fixture(gen_v2 SOURCE plugins/gen.c DEFINITIONS ANSWER="v2")
mchost_add_fixture(gen_slow SOURCE plugins/gen.c
                   DEFINITIONS ANSWER="slow" INIT_MS=400)
mchost_add_fixture(gen_refuse)

# The --build tests compile a tiny plugin with a real compiler while mchost
# runs: they need the compiler CMake found and the SDK's include directory.
mchost_add_test(integration.reload TIMEOUT 120
  LINK Threads::Threads
  DEFINITIONS SDK_DIR="${PROJECT_SOURCE_DIR}/sdk"
              TEST_CC="${CMAKE_C_COMPILER}"
              NOT_ELF_FILE="${CMAKE_CURRENT_SOURCE_DIR}/plugins/not_elf.txt"
  DEPENDS mchost_fixture_gen_v1 mchost_fixture_gen_v2
          mchost_fixture_gen_slow mchost_fixture_gen_refuse)
