# RaympiSanitize.cmake: sanitizer builds (docs/sanitizers.md).
#
#   cmake -S . -B build-asan -DRAYMPI_SANITIZE=address,undefined
#   cmake -S . -B build-tsan -DRAYMPI_SANITIZE=thread
#
# RAYMPI_SANITIZE is a comma (or semicolon) separated list of sanitizers,
# passed as -fsanitize=<list> together with -fno-omit-frame-pointer to every
# target defined after this file is included: the library, the launcher, the
# tests and the examples. Included from the top-level CMakeLists.txt before
# any add_subdirectory. Runtime options (ASAN_OPTIONS, suppressions, ...) are
# the caller's: .ci/sanitize.sh sets them.

set(RAYMPI_SANITIZE "" CACHE STRING
    "Sanitizers to build with, a comma list for -fsanitize= (e.g. address,undefined or thread); empty: none")

# Sanitizers this build knows how to run; memory (MSan) needs clang and an
# instrumented MPI, so it is not offered.
set(_raympi_known_sanitizers address leak undefined thread)

string(REPLACE "," ";" _raympi_sanitizers "${RAYMPI_SANITIZE}")
string(STRIP "${_raympi_sanitizers}" _raympi_sanitizers)
list(TRANSFORM _raympi_sanitizers STRIP)
list(REMOVE_ITEM _raympi_sanitizers "")
list(REMOVE_DUPLICATES _raympi_sanitizers)

if(_raympi_sanitizers)
  foreach(s IN LISTS _raympi_sanitizers)
    if(NOT s IN_LIST _raympi_known_sanitizers)
      list(JOIN _raympi_known_sanitizers ", " known)
      message(FATAL_ERROR
        "RAYMPI_SANITIZE='${RAYMPI_SANITIZE}': unknown sanitizer '${s}'. "
        "Use a comma list of: ${known} (e.g. -DRAYMPI_SANITIZE=address,undefined or -DRAYMPI_SANITIZE=thread).")
    endif()
  endforeach()
  # ThreadSanitizer has its own shadow memory layout and runtime: it cannot be
  # linked into the same program as AddressSanitizer or LeakSanitizer.
  if("thread" IN_LIST _raympi_sanitizers AND
     ("address" IN_LIST _raympi_sanitizers OR "leak" IN_LIST _raympi_sanitizers))
    message(FATAL_ERROR
      "RAYMPI_SANITIZE='${RAYMPI_SANITIZE}': thread cannot be combined with address or leak "
      "(their runtimes exclude each other). Configure two build folders instead: "
      "-DRAYMPI_SANITIZE=address,undefined and -DRAYMPI_SANITIZE=thread.")
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR
      "RAYMPI_SANITIZE needs GCC or Clang (-fsanitize=); this build uses ${CMAKE_CXX_COMPILER_ID}. "
      "Configure with CXX=g++ or CXX=clang++, or leave RAYMPI_SANITIZE empty.")
  endif()

  list(JOIN _raympi_sanitizers "," _raympi_sanitize_list)
  set(_raympi_sanitize_flags -fsanitize=${_raympi_sanitize_list} -fno-omit-frame-pointer)
  # Fail at configure time, not at the first link, when the runtime library
  # (libasan, libtsan, libubsan) is not installed.
  include(CheckCXXSourceCompiles)
  string(MAKE_C_IDENTIFIER "RAYMPI_SANITIZE_LINKS_${_raympi_sanitize_list}" _raympi_sanitize_check)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=${_raympi_sanitize_list}")
  set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=${_raympi_sanitize_list}")
  check_cxx_source_compiles("int main() { return 0; }" ${_raympi_sanitize_check})
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(NOT ${_raympi_sanitize_check})
    message(FATAL_ERROR
      "RAYMPI_SANITIZE='${RAYMPI_SANITIZE}': the compiler cannot link a program with "
      "-fsanitize=${_raympi_sanitize_list}. Install its runtime "
      "(Debian, GCC 12: apt-get install libasan8 libubsan1 libtsan2).")
  endif()

  add_compile_options(${_raympi_sanitize_flags})
  add_link_options(-fsanitize=${_raympi_sanitize_list})
  message(STATUS "raympi: building with -fsanitize=${_raympi_sanitize_list} (docs/sanitizers.md)")
endif()
