# mchostInstall: what `cmake --install build` puts under the prefix.
#
#   bin/mchost
#   include/mchost.h, include/mchost/*.h (the parts it includes)
#   lib/cmake/mchost/{mchostConfig,mchostConfigVersion,mchostPlugin}.cmake
#   share/pkgconfig/mchost.pc
#
# Both the CMake package and the .pc file locate the prefix relative to their
# own installed location, so `cmake --install build --prefix DIR` (a prefix
# chosen after configuring) and DESTDIR staging give working files.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MCHOST_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mchost"
    CACHE STRING "Where to install the mchost CMake package")
mark_as_advanced(MCHOST_INSTALL_CMAKEDIR)

install(TARGETS mchost RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/sdk/mchost.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/sdk/mchost"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.h")

# ---- CMake package: find_package(mchost) ----

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/mchostConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mchostConfig.cmake"
  INSTALL_DESTINATION "${MCHOST_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_BINDIR)
# Plugins are tied to the executable's ABI, which may change between 0.x
# minor versions: only a matching major.minor satisfies a version request.
# The default architecture check stays: a plugin must match the host's.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/mchostConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/mchostConfig.cmake"
  "${PROJECT_BINARY_DIR}/mchostConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/mchostPlugin.cmake"
  DESTINATION "${MCHOST_INSTALL_CMAKEDIR}")

# ---- pkg-config: cc $(pkg-config --cflags mchost) ----

# The .pc file carries only compiler flags (a plugin links nothing), so it is
# architecture-independent and belongs in share/. Its prefix is written
# relative to ${pcfiledir} for the same reason as the CMake package's.
set(MCHOST_PC_DIR "${CMAKE_INSTALL_DATADIR}/pkgconfig")
if(IS_ABSOLUTE "${MCHOST_PC_DIR}")
  set(MCHOST_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _mchost_pc_up "/prefix/${MCHOST_PC_DIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _mchost_pc_up "${_mchost_pc_up}")
  set(MCHOST_PC_PREFIX "\${pcfiledir}/${_mchost_pc_up}")
endif()
foreach(_mchost_dir INCLUDEDIR BINDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_mchost_dir}}")
    set(MCHOST_PC_${_mchost_dir} "${CMAKE_INSTALL_${_mchost_dir}}")
  else()
    set(MCHOST_PC_${_mchost_dir} "\${prefix}/${CMAKE_INSTALL_${_mchost_dir}}")
  endif()
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/mchost.pc.in"
               "${PROJECT_BINARY_DIR}/mchost.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mchost.pc" DESTINATION "${MCHOST_PC_DIR}")
