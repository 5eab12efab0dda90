# Fuzzing (tests/fuzz/README.md).
#
# Every build replays the seed corpus and the committed crashers through
# the fuzz targets (fuzz.replay_*), with whatever compiler and sanitizers
# it has. With clang and -DMCHOST_FUZZ=ON it also builds the
# libFuzzer targets, tests/fuzz_<target>, which `make fuzz` runs.

option(MCHOST_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(MCHOST_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MCHOST_FUZZ needs clang's libFuzzer: configure a new "
                      "build directory with CC=clang (or use `make fuzz`)")
endif()

set(MCHOST_FUZZ_TARGETS conn config configfile params multipart proxy forwarded admin range
    wsframe bundle fetch fetchresp cond)

# The host core once more, for the fuzzer's coverage instrumentation: the
# same sources, include directories, libraries and options as mchost_core
# and mchost_master (host/CMakeLists.txt), read from them so that they
# cannot drift apart.
get_target_property(fuzz_core_dir mchost_core SOURCE_DIR)
get_target_property(fuzz_core_sources mchost_core SOURCES)
get_target_property(fuzz_master_sources mchost_master SOURCES)
list(APPEND fuzz_core_sources ${fuzz_master_sources})
list(TRANSFORM fuzz_core_sources PREPEND "${fuzz_core_dir}/")
add_library(mchost_core_fuzz OBJECT ${fuzz_core_sources})
foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS
        INTERFACE_INCLUDE_DIRECTORIES INTERFACE_COMPILE_DEFINITIONS
        LINK_LIBRARIES INTERFACE_LINK_LIBRARIES C_VISIBILITY_PRESET)
  get_target_property(value mchost_core ${prop})
  if(value)
    set_property(TARGET mchost_core_fuzz PROPERTY ${prop} "${value}")
  endif()
endforeach()

if(MCHOST_FUZZ)
  # Coverage feedback from the host and from llhttp, whose states are most
  # of what the fuzzer explores. Whatever links them needs the runtime for
  # the coverage hooks: the link option comes with them.
  get_target_property(fuzz_llhttp llhttp::llhttp ALIASED_TARGET)
  foreach(target mchost_core_fuzz ${fuzz_llhttp})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
    target_link_options(${target} INTERFACE -fsanitize=fuzzer-no-link)
  endforeach()
endif()

foreach(target IN LISTS MCHOST_FUZZ_TARGETS)
  add_executable(fuzz_replay_${target}
    fuzz/replay.c
    fuzz/${target}_fuzz.c
  )
  target_link_libraries(fuzz_replay_${target} PRIVATE mchost_core_fuzz)
  target_compile_options(fuzz_replay_${target} PRIVATE ${MCHOST_WARNINGS})
  set_target_properties(fuzz_replay_${target} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME fuzz.replay_${target} COMMAND fuzz_replay_${target}
           "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target}"
           "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/regression/${target}")
  set_tests_properties(fuzz.replay_${target} PROPERTIES TIMEOUT 120
                       LABELS fuzz)

  if(MCHOST_FUZZ)
    add_executable(fuzz_${target} fuzz/${target}_fuzz.c)
    target_link_libraries(fuzz_${target} PRIVATE mchost_core_fuzz)
    target_compile_options(fuzz_${target} PRIVATE ${MCHOST_WARNINGS}
                           -fsanitize=fuzzer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    set_target_properties(fuzz_${target} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  endif()
endforeach()
