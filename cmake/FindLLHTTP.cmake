# FindLLHTTP: llhttp as a static library built from its C sources.
#
# Debian ships llhttp only as sources inside the node-llhttp package
# (/usr/share/llhttp/{api,http,llhttp}.c, header in /usr/share/include/llhttp),
# so this module compiles them once into the static target llhttp::llhttp.
# Set LLHTTP_ROOT to point at another copy with the same layout.
#
# Defines: LLHTTP_FOUND, LLHTTP_VERSION, target llhttp::llhttp.

find_path(LLHTTP_INCLUDE_DIR llhttp.h
  HINTS ${LLHTTP_ROOT} ENV LLHTTP_ROOT
  PATHS /usr/share/include/llhttp /usr/include/llhttp /usr/local/include
  PATH_SUFFIXES include include/llhttp)
find_path(LLHTTP_SOURCE_DIR llhttp.c
  HINTS ${LLHTTP_ROOT} ENV LLHTTP_ROOT
  PATHS /usr/share/llhttp
  PATH_SUFFIXES src share/llhttp)

if(LLHTTP_INCLUDE_DIR AND EXISTS "${LLHTTP_INCLUDE_DIR}/llhttp.h")
  file(STRINGS "${LLHTTP_INCLUDE_DIR}/llhttp.h" _llhttp_ver
       REGEX "#define LLHTTP_VERSION_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*"
         "\\1.\\2.\\3" LLHTTP_VERSION "${_llhttp_ver}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LLHTTP
  REQUIRED_VARS LLHTTP_INCLUDE_DIR LLHTTP_SOURCE_DIR
  VERSION_VAR LLHTTP_VERSION
  FAIL_MESSAGE "llhttp sources not found: install them with 'apt-get install node-llhttp' (or set LLHTTP_ROOT)")

if(LLHTTP_FOUND AND NOT TARGET llhttp::llhttp)
  add_library(mchost_llhttp STATIC
    "${LLHTTP_SOURCE_DIR}/api.c"
    "${LLHTTP_SOURCE_DIR}/http.c"
    "${LLHTTP_SOURCE_DIR}/llhttp.c")
  target_include_directories(mchost_llhttp SYSTEM PUBLIC "${LLHTTP_INCLUDE_DIR}")
  # llhttp.c holds two parsers; the strict one rejects control bytes in a
  # target, whitespace in field names and a bare CR after the head, which
  # the default (loose) one lets through.
  target_compile_definitions(mchost_llhttp PUBLIC LLHTTP_STRICT_MODE=1)
  set_target_properties(mchost_llhttp PROPERTIES
    POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  # Generated code: its own warnings are not ours to fix.
  target_compile_options(mchost_llhttp PRIVATE -w -O2)
  add_library(llhttp::llhttp ALIAS mchost_llhttp)
endif()
mark_as_advanced(LLHTTP_INCLUDE_DIR LLHTTP_SOURCE_DIR)
