# Finds raympi's dependencies (Debian 12 packages). A missing one stops
# configure with the package to install.
include(FindPkgConfig)

function(raympi_require found package what)
  if(NOT ${found})
    message(FATAL_ERROR "raympi needs ${what}: install it with `apt-get install ${package}`")
  endif()
endfunction()

find_package(Threads REQUIRED)
find_package(MPI COMPONENTS C QUIET)
raympi_require(MPI_C_FOUND libopenmpi-dev "MPI (Open MPI)")

find_package(PkgConfig QUIET)
raympi_require(PKG_CONFIG_FOUND pkg-config "pkg-config")
pkg_check_modules(UCX QUIET IMPORTED_TARGET ucx)
raympi_require(UCX_FOUND libucx-dev "UCX")
pkg_check_modules(HWLOC QUIET IMPORTED_TARGET hwloc)
raympi_require(HWLOC_FOUND libhwloc-dev "hwloc")

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 COMPONENTS C QUIET)
raympi_require(HDF5_FOUND libhdf5-openmpi-dev "HDF5")

find_path(CEREAL_INCLUDE_DIR cereal/cereal.hpp)
raympi_require(CEREAL_INCLUDE_DIR libcereal-dev "cereal")

find_package(spdlog CONFIG QUIET)
raympi_require(spdlog_FOUND libspdlog-dev "spdlog")
