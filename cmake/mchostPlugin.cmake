# mchostPlugin: the SDK target and mchost_add_plugin().
#
# This one file serves two callers. mchost's own CMakeLists.txt includes it
# from the source tree, and the installed mchostConfig.cmake includes its
# installed copy after defining mchost::sdk from the installed header, so an
# out-of-tree plugin is built exactly like the examples in plugins/.
#
#   mchost_add_plugin(<name> <source>... [OUTPUT_DIRECTORY <dir>])
#
# builds <name>.so: a MODULE library (something to dlopen, never to link
# against), without the "lib" prefix, so that `--plugin build/plugins/app.so`
# names the file the user expects. <name> is an ordinary target: add your own
# libraries to it with target_link_libraries(<name> PRIVATE ...).
#
# The output directory is OUTPUT_DIRECTORY if given, else
# MCHOST_PLUGIN_OUTPUT_DIRECTORY if set, else CMake's default (the current
# binary directory). In mchost's own tree that variable defaults to
# ${CMAKE_BINARY_DIR}/plugins.

include_guard(GLOBAL)

if(NOT TARGET mchost::sdk)
  # Only in mchost's own tree: the installed package defines mchost::sdk
  # before including this file.
  add_library(mchost_sdk INTERFACE)
  target_include_directories(mchost_sdk INTERFACE "${PROJECT_SOURCE_DIR}/sdk")
  add_library(mchost::sdk ALIAS mchost_sdk)
  if(NOT DEFINED MCHOST_PLUGIN_OUTPUT_DIRECTORY)
    set(MCHOST_PLUGIN_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/plugins")
  endif()
endif()

# mchost::uv: libuv's header <uv.h> and no library, for a plugin that uses
# libuv itself (mc_worker.loop):
#   target_link_libraries(<name> PRIVATE mchost::uv)
# A plugin must never link libuv: the mchost executable carries its own copy
# and exports it, and a second copy in the plugin would not know the
# worker's loop.
if(NOT TARGET mchost::uv)
  find_path(MCHOST_UV_INCLUDE_DIR uv.h HINTS ${LIBUV_INCLUDE_DIRS})
  mark_as_advanced(MCHOST_UV_INCLUDE_DIR)
  add_library(mchost::uv INTERFACE IMPORTED)
  if(MCHOST_UV_INCLUDE_DIR)
    set_target_properties(mchost::uv PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${MCHOST_UV_INCLUDE_DIR}")
  endif()
endif()

function(mchost_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "")
  set(sources ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR
      "mchost_add_plugin(${name}): no source files given")
  endif()
  if(NOT arg_OUTPUT_DIRECTORY AND MCHOST_PLUGIN_OUTPUT_DIRECTORY)
    set(arg_OUTPUT_DIRECTORY "${MCHOST_PLUGIN_OUTPUT_DIRECTORY}")
  endif()

  add_library(${name} MODULE ${sources})
  # No library to link: the mc_* functions are undefined here on purpose and
  # resolve against the mchost executable, which exports them, at dlopen time.
  # So never add -Wl,--no-undefined / -z defs to a plugin.
  target_link_libraries(${name} PRIVATE mchost::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    POSITION_INDEPENDENT_CODE ON)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${arg_OUTPUT_DIRECTORY}")
  endif()
  if(DEFINED MCHOST_WARNINGS)
    target_compile_options(${name} PRIVATE ${MCHOST_WARNINGS})
  endif()
endfunction()
