# Registers the install check with ctest; include()d by tests/CMakeLists.txt.
# It builds and installs the build tree into a temporary prefix, then builds
# and runs tests/install/consumer against it (CMake package and pkg-config).
add_test(NAME install_consumer
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_install.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(install_consumer PROPERTIES
  LABELS "install"
  TIMEOUT 900
  RUN_SERIAL TRUE)
