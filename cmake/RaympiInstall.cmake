# RaympiInstall.cmake: install rules for the headers, the CMake package
# (raympiConfig.cmake, raympiConfigVersion.cmake, raympiTargets.cmake,
# RaympiTesting.cmake) and the pkg-config file raympi.pc.
#
# The library target itself is installed by libraympi/CMakeLists.txt with
#   install(TARGETS raympi EXPORT raympiTargets ...)
# Included at the end of the top-level CMakeLists.txt, after every target exists.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RAYMPI_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/raympi" CACHE STRING
    "Where raympiConfig.cmake is installed (relative to the prefix)")
set(RAYMPI_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where raympi.pc is installed (relative to the prefix)")
mark_as_advanced(RAYMPI_INSTALL_CMAKEDIR RAYMPI_INSTALL_PKGCONFIGDIR)

# Public headers, detail/ included.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/raympi"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "*.inl")

if(NOT TARGET raympi)
  message(WARNING "RaympiInstall: no target `raympi`; only the headers are installed")
  return()
endif()

# The imported targets (Foo::bar) that raympi's exported interface refers to,
# followed through the project's own targets; raympiConfig.cmake recreates
# them before loading raympiTargets.cmake.
function(_raympi_exported_dependencies out)
  set(queue raympi)
  set(seen "")
  set(found "")
  while(queue)
    list(POP_FRONT queue t)
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(libs ${t} INTERFACE_LINK_LIBRARIES)
    if(NOT libs)
      continue()
    endif()
    foreach(lib IN LISTS libs)
      if(lib MATCHES "^\\$<INSTALL_INTERFACE:")
        continue()
      endif()
      string(REGEX REPLACE "^\\$<(LINK_ONLY|BUILD_INTERFACE):(.*)>$" "\\2" lib "${lib}")
      if(NOT TARGET "${lib}")
        continue()
      endif()
      get_target_property(aliased ${lib} ALIASED_TARGET)
      if(aliased)
        set(lib ${aliased})
      endif()
      get_target_property(imported ${lib} IMPORTED)
      if(imported)
        if(lib MATCHES "::")
          list(APPEND found ${lib})
        endif()
      else()
        list(APPEND queue ${lib})
      endif()
    endforeach()
  endwhile()
  list(REMOVE_DUPLICATES found)
  set(${out} "${found}" PARENT_SCOPE)
endfunction()
_raympi_exported_dependencies(RAYMPI_EXPORTED_DEPENDENCIES)

install(EXPORT raympiTargets
        NAMESPACE raympi::
        FILE raympiTargets.cmake
        DESTINATION "${RAYMPI_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/raympiConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/raympiConfig.cmake"
  INSTALL_DESTINATION "${RAYMPI_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/raympiConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
          "${PROJECT_BINARY_DIR}/raympiConfig.cmake"
          "${PROJECT_BINARY_DIR}/raympiConfigVersion.cmake"
          "${CMAKE_CURRENT_LIST_DIR}/RaympiTesting.cmake"
        DESTINATION "${RAYMPI_INSTALL_CMAKEDIR}")

# pkg-config: relocatable (paths relative to the .pc file) when the install
# directories are relative, as they are by default.
if(IS_ABSOLUTE "${RAYMPI_INSTALL_PKGCONFIGDIR}")
  set(RAYMPI_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _raympi_pc_up "/root/${RAYMPI_INSTALL_PKGCONFIGDIR}" "/root")
  string(REGEX REPLACE "/$" "" _raympi_pc_up "${_raympi_pc_up}")
  set(RAYMPI_PC_PREFIX "\${pcfiledir}/${_raympi_pc_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(RAYMPI_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(RAYMPI_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/raympi.pc.in"
               "${PROJECT_BINARY_DIR}/raympi.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/raympi.pc"
        DESTINATION "${RAYMPI_INSTALL_PKGCONFIGDIR}")

# An environment-modules modulefile (Tcl; Lmod reads it as well), installed as
# share/raympi/modulefiles/raympi/<version>: `module use <prefix>/share/raympi/modulefiles`
# then `module load raympi`. It finds the prefix from its own place at load
# time, so a moved prefix needs no edit (docs/quickstart.md).
set(RAYMPI_INSTALL_MODULEDIR "${CMAKE_INSTALL_DATADIR}/raympi/modulefiles" CACHE STRING
    "Where the raympi modulefile is installed (relative to the prefix)")
mark_as_advanced(RAYMPI_INSTALL_MODULEDIR)
if(IS_ABSOLUTE "${RAYMPI_INSTALL_MODULEDIR}")
  set(RAYMPI_MODULE_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # <prefix>/<moduledir>/raympi/<version>: up from the file's folder to <prefix>.
  file(RELATIVE_PATH _raympi_module_up "/prefix/${RAYMPI_INSTALL_MODULEDIR}/raympi" "/prefix")
  string(REGEX REPLACE "/$" "" _raympi_module_up "${_raympi_module_up}")
  set(RAYMPI_MODULE_PREFIX
      "[file normalize [file join [file dirname [file normalize \$ModulesCurrentModulefile]] ${_raympi_module_up}]]")
endif()
foreach(_dir BINDIR LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(RAYMPI_MODULE_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(RAYMPI_MODULE_${_dir} "\$prefix/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${RAYMPI_INSTALL_PKGCONFIGDIR}")
  set(RAYMPI_MODULE_PKGCONFIGDIR "${RAYMPI_INSTALL_PKGCONFIGDIR}")
else()
  set(RAYMPI_MODULE_PKGCONFIGDIR "\$prefix/${RAYMPI_INSTALL_PKGCONFIGDIR}")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/raympi.modulefile.in"
               "${PROJECT_BINARY_DIR}/modulefiles/raympi/${PROJECT_VERSION}" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/modulefiles/raympi/${PROJECT_VERSION}"
        DESTINATION "${RAYMPI_INSTALL_MODULEDIR}/raympi")
