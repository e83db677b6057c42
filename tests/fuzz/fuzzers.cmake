# libFuzzer targets for every decoder of bytes that come from another rank
# (docs/fuzzing.md). Included from the top-level CMakeLists.txt; off unless
# -DRAYMPI_BUILD_FUZZERS=ON, which needs clang (libFuzzer), e.g.
#   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16 \
#         -DRAYMPI_BUILD_FUZZERS=ON -DRAYMPI_BUILD_TESTS=OFF -DRAYMPI_BUILD_EXAMPLES=OFF
#   cmake --build build-fuzz --target raympi_fuzzers
# Each target compiles only the few library sources its decoders need, with
# -fsanitize=fuzzer,address,undefined (UBSan findings abort).
option(RAYMPI_BUILD_FUZZERS "Build the libFuzzer targets of tests/fuzz (needs clang)" OFF)
if(NOT RAYMPI_BUILD_FUZZERS)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "RAYMPI_BUILD_FUZZERS needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: configure a "
                      "separate build folder with -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16 "
                      "(Debian: `apt-get install clang-16 libclang-rt-16-dev`)")
endif()
find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT TARGET nlohmann_json::nlohmann_json)
  message(FATAL_ERROR "the fuzzers need nlohmann-json: install it with `apt-get install nlohmann-json3-dev`")
endif()

set(fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
set(lib_dir ${PROJECT_SOURCE_DIR}/libraympi)
set(fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

# What every target links: buffers, error texts, the function registry (task
# messages name functions), the reference table (ObjectRefs in values).
add_library(raympi_fuzz_base OBJECT
  ${lib_dir}/base/block_pool.cpp
  ${lib_dir}/serialization/errors.cpp
  ${lib_dir}/core/registry.cpp
  ${lib_dir}/core/object_table.cpp
  ${fuzz_dir}/fuzz_support.cpp)
target_include_directories(raympi_fuzz_base PUBLIC ${PROJECT_SOURCE_DIR}/include ${lib_dir} ${fuzz_dir}
                                                   ${CEREAL_INCLUDE_DIR})
target_compile_features(raympi_fuzz_base PUBLIC cxx_std_20)
# -Werror=switch: a MsgType without its decoder in wire_decoders.hpp fails the build.
target_compile_options(raympi_fuzz_base PUBLIC ${fuzz_flags} -Wall -Wextra -Wno-unused-parameter -Werror=switch)
target_link_options(raympi_fuzz_base PUBLIC ${fuzz_flags})
target_link_libraries(raympi_fuzz_base PUBLIC Threads::Threads ${CMAKE_DL_LIBS})

add_custom_target(raympi_fuzzers)
foreach(target IN ITEMS messages objects startup timeline)
  add_executable(fuzz_${target} ${fuzz_dir}/fuzz_${target}.cpp)
  target_link_libraries(fuzz_${target} PRIVATE raympi_fuzz_base)
  add_dependencies(raympi_fuzzers fuzz_${target})
endforeach()
target_sources(fuzz_timeline PRIVATE ${lib_dir}/timeline/chrome_trace.cpp)
target_link_libraries(fuzz_timeline PRIVATE nlohmann_json::nlohmann_json)
