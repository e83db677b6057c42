# RaympiTesting.cmake: register raympi programs as ctest tests run under mpiexec.
#
#   add_raympi_test(NAME <name> SOURCES <src...> NP <n>
#                   [LIBS <libs...>] [ENV <VAR=val...>] [TIMEOUT <s>]
#                   [ARGS <args...>] [LABELS <labels...>] [WORKING_DIRECTORY <dir>])
#     Builds the GoogleTest executable <name> from SOURCES (they provide their
#     own main(): raympi must be initialised before the tests run, so
#     gtest_main is NOT linked), links raympi::raympi, GTest::gtest and LIBS,
#     and adds the ctest test <name>:
#       mpiexec -n <n> [--oversubscribe] [--allow-run-as-root] <exe> <ARGS...>
#
#   raympi_add_mpi_run(NAME <name> NP <n> COMMAND <target-or-path> [args...]
#                      [ENV <VAR=val...>] [TIMEOUT <s>] [LABELS <labels...>]
#                      [WORKING_DIRECTORY <dir>])
#     Adds the ctest test <name> running an existing target or program under
#     mpiexec in the same way. Without LABELS the test is labelled `tutorial`.
#
#   raympi_mpiexec_prefix(<out-var> <n>)
#     Sets <out-var> to the launcher command list up to the executable
#     (mpiexec -n <n> [--oversubscribe] [--allow-run-as-root] MPIEXEC_PREFLAGS),
#     for tests that need their own add_test (e.g. an MPMD `a : b` launch).
#
# Every test gets the labels `np<n>` (plus LABELS), the environment ENV plus
# OMPI_MCA_rmaps_base_oversubscribe=1 and GLIBC_TUNABLES=glibc.malloc.hugetlb=1
# (unless ENV sets GLIBC_TUNABLES: malloc's heap on huge pages, as `raympi run`
# starts ranks), and TIMEOUT (default 300 s).
# --oversubscribe and --allow-run-as-root are Open MPI options: they are added
# only when mpiexec is Open MPI, the latter only when the configuring user is
# root. MPIEXEC_PREFLAGS / MPIEXEC_POSTFLAGS (FindMPI's cache entries) are
# honoured, so extra launcher options can be set there (e.g. --bind-to none).
#
# This file is installed next to raympiConfig.cmake and included by it, so it
# must not refer to raympi's source tree.

include_guard(DIRECTORY)

# Inside raympi's own tree the examples directory may be processed before the
# top level calls enable_testing(); enabling here keeps its tests. Projects
# that find the installed package call enable_testing() themselves.
if(NOT RAYMPI_TESTING_FROM_PACKAGE)
  enable_testing()
endif()

if(NOT MPIEXEC_EXECUTABLE)
  find_package(MPI COMPONENTS C QUIET)
endif()

# Fills <out> with the launcher command up to (not including) the executable.
function(_raympi_mpiexec_prefix out np)
  if(NOT MPIEXEC_EXECUTABLE)
    message(FATAL_ERROR
      "raympi tests need mpiexec: install it with `apt-get install openmpi-bin libopenmpi-dev`")
  endif()
  get_property(have GLOBAL PROPERTY _RAYMPI_MPIEXEC_OPTIONS SET)
  if(NOT have)
    set(options "")
    execute_process(COMMAND "${MPIEXEC_EXECUTABLE}" --version
                    OUTPUT_VARIABLE version ERROR_VARIABLE version
                    RESULT_VARIABLE version_rc TIMEOUT 30)
    if(version MATCHES "Open ?MPI|OpenRTE")
      list(APPEND options --oversubscribe)
      execute_process(COMMAND id -u OUTPUT_VARIABLE uid
                      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE uid_rc)
      if(uid_rc EQUAL 0 AND uid STREQUAL "0")
        list(APPEND options --allow-run-as-root)
      endif()
    endif()
    set_property(GLOBAL PROPERTY _RAYMPI_MPIEXEC_OPTIONS "${options}")
  endif()
  get_property(options GLOBAL PROPERTY _RAYMPI_MPIEXEC_OPTIONS)
  set(${out} "${MPIEXEC_EXECUTABLE}" ${MPIEXEC_NUMPROC_FLAG} ${np}
             ${options} ${MPIEXEC_PREFLAGS} PARENT_SCOPE)
endfunction()

function(raympi_mpiexec_prefix out np)
  _raympi_mpiexec_prefix(launch ${np})
  set(${out} "${launch}" PARENT_SCOPE)
endfunction()

# Shared by both functions: add_test + properties.
function(_raympi_register_mpi_test name np exe timeout workdir)
  # Remaining arguments: "ARGS" <args...> "ENV" <env...> "LABELS" <labels...>
  cmake_parse_arguments(PARSE_ARGV 5 r "" "" "ARGS;ENV;LABELS")
  if(NOT np MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "raympi test ${name}: NP must be a positive integer, got '${np}'")
  endif()
  if(NOT timeout)
    set(timeout 300)
  endif()
  if(NOT workdir)
    set(workdir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  _raympi_mpiexec_prefix(launch ${np})
  add_test(NAME ${name}
           COMMAND ${launch} ${exe} ${MPIEXEC_POSTFLAGS} ${r_ARGS}
           WORKING_DIRECTORY "${workdir}")
  set(env ${r_ENV})
  list(APPEND env OMPI_MCA_rmaps_base_oversubscribe=1)
  # Huge pages for malloc's heap where the kernel gives them only on request
  # (THP madvise mode), as `raympi run` and the Slurm templates set it:
  # docs/performance.md, "Huge pages". A test's own GLIBC_TUNABLES wins.
  if(NOT r_ENV MATCHES "(^|;)GLIBC_TUNABLES=")
    list(APPEND env GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
  endif()
  set(labels np${np} ${r_LABELS})
  list(REMOVE_DUPLICATES labels)
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "${env}"
    LABELS "${labels}"
    TIMEOUT ${timeout}
    PROCESSORS ${np})
endfunction()

function(add_raympi_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;NP;TIMEOUT;WORKING_DIRECTORY"
                        "SOURCES;LIBS;ENV;ARGS;LABELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "add_raympi_test: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_NAME OR NOT arg_SOURCES OR NOT arg_NP)
    message(FATAL_ERROR "add_raympi_test: NAME, SOURCES and NP are required")
  endif()
  if(NOT TARGET GTest::gtest)
    find_package(GTest QUIET)
  endif()
  if(NOT TARGET GTest::gtest)
    message(FATAL_ERROR
      "add_raympi_test(${arg_NAME}) needs GoogleTest: install it with `apt-get install libgtest-dev`")
  endif()
  if(NOT TARGET raympi::raympi)
    message(FATAL_ERROR "add_raympi_test(${arg_NAME}): target raympi::raympi is not defined")
  endif()

  add_executable(${arg_NAME} ${arg_SOURCES})
  target_link_libraries(${arg_NAME} PRIVATE raympi::raympi GTest::gtest ${arg_LIBS})
  target_compile_features(${arg_NAME} PRIVATE cxx_std_20)

  _raympi_register_mpi_test(${arg_NAME} ${arg_NP} "$<TARGET_FILE:${arg_NAME}>"
                            "${arg_TIMEOUT}" "${arg_WORKING_DIRECTORY}"
                            ARGS ${arg_ARGS} ENV ${arg_ENV} LABELS ${arg_LABELS})
endfunction()

function(raympi_add_mpi_run)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;NP;TIMEOUT;WORKING_DIRECTORY"
                        "COMMAND;ENV;LABELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "raympi_add_mpi_run: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_NAME OR NOT arg_NP OR NOT arg_COMMAND)
    message(FATAL_ERROR "raympi_add_mpi_run: NAME, NP and COMMAND are required")
  endif()
  list(POP_FRONT arg_COMMAND program)
  if(TARGET ${program})
    set(program "$<TARGET_FILE:${program}>")
  endif()
  if(NOT arg_LABELS)
    set(arg_LABELS tutorial)
  endif()
  _raympi_register_mpi_test(${arg_NAME} ${arg_NP} "${program}"
                            "${arg_TIMEOUT}" "${arg_WORKING_DIRECTORY}"
                            ARGS ${arg_COMMAND} ENV ${arg_ENV} LABELS ${arg_LABELS})
endfunction()
